// The functional layer (torch.nn.functional): layers, activations and losses as functions.
import { Tensor, reductionCode, type Reduction } from "../tensor.js";
import { scope } from "../scope.js";
import { buildInfo, libtorchVersionAtLeast } from "../runtime.js";
import { emptyLike } from "./creation.js";
import { callInPlace, callTensor, hasOp } from "./dispatch.js";

/** x @ weight^T + bias; weight is [out, in]. */
export function linear(input: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return callTensor("linear", input, weight, bias);
}

export function layerNorm(
  input: Tensor,
  normalizedShape: number[],
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  eps = 1e-5,
): Tensor {
  return callTensor("layer_norm", input, normalizedShape, weight, bias, eps, true);
}

/** Rows of `weight` at `indices`; gradients skip `paddingIdx` (default none; negative counts from the end). */
export function embedding(indices: Tensor, weight: Tensor, paddingIdx: number | null = null): Tensor {
  let padding = -1;
  if (paddingIdx !== null) {
    const rows = weight.size(0);
    if (!Number.isInteger(paddingIdx) || paddingIdx < -rows || paddingIdx >= rows) {
      throw new RangeError(`embedding: paddingIdx must be an integer in [${-rows}, ${rows}), got ${paddingIdx}`);
    }
    // libtorch reads -1 as "no padding": a negative index counts from the end, as in torch.nn.functional.
    padding = paddingIdx < 0 ? paddingIdx + rows : paddingIdx;
  }
  return callTensor("embedding", weight, indices, padding, false, false);
}

/**
 * Zeroes elements with probability p and scales the rest by 1/(1-p), only when `training`
 * (E[out] = input; the gradient is the mask / (1-p)). The mask comes from libtorch's default
 * generator, so `manualSeed` and `getRngState`/`setRngState` reproduce it.
 *
 * On CPU, where libtorch draws `bernoulli_(1-p)` with its serial kernel (see
 * `cpuBernoulliIsSerial`), the mask is `uniform_() < 1-p` instead: one 32-bit draw per element
 * instead of a 64-bit draw and a double Bernoulli, about 2x faster for the op on libtorch 1.13
 * (Debian, no MKL) and 2.13. The kept values are the same (x * (1 / (1-p))), but the masks are
 * not bit-identical to PyTorch's `F.dropout` for the same seed there; elsewhere (CUDA, MKL
 * builds before 2.7) this calls aten::dropout, PyTorch's own.
 */
export function dropout(input: Tensor, p = 0.5, training = true): Tensor {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout: p must be in [0, 1], got ${p}`);
  // p = 0, p = 1 and eval mode keep aten's answers (input itself; zeros), as do non-float inputs
  const uniformMask =
    training && p > 0 && p < 1 && input.isFloatingPoint && input.device === "cpu" && cpuBernoulliIsSerial();
  if (!uniformMask) return callTensor("dropout", input, p, training);
  return scope(() => {
    const keepProbability = 1 - p;
    // float32 noise for half/bfloat16: their uniform_ has 2^11 or 2^8 levels, which would bias the keep rate
    const noiseDtype = input.dtype === "float64" ? "float64" : "float32";
    let noise = emptyLike(input, { dtype: noiseDtype }).uniform_(); // [0, 1)
    callInPlace("lt_.Scalar", noise, keepProbability); // 1 with probability 1-p, else 0
    if (noiseDtype !== input.dtype) noise = noise.to(input.dtype);
    // as aten's CPU dropout: noise.div_(1-p), then input * noise
    return input.mul(noise.div_(keepProbability));
  });
}

let serialBernoulli: boolean | undefined;

/**
 * Whether this libtorch's CPU `bernoulli_(p)` is the serial per-element kernel (an mt19937
 * 64-bit draw and a double comparison per element): builds without MKL (Debian's 1.13), and
 * MKL builds from 2.7 on, where PyTorch disabled its MKL Bernoulli (pytorch/pytorch#146174,
 * January 2025; measured on 2.13). MKL builds before that draw it with MKL in parallel on Intel
 * CPUs, and keep aten::dropout.
 */
function cpuBernoulliIsSerial(): boolean {
  if (serialBernoulli === undefined) {
    const mkl = /USE_MKL=ON|Math Kernel Library/.test(buildInfo().config);
    serialBernoulli = !mkl || libtorchVersionAtLeast(2, 7);
  }
  return serialBernoulli;
}

/** GELU, exact ("none", the erf form) or the "tanh" approximation. */
export function gelu(input: Tensor, approximate: "none" | "tanh" = "none"): Tensor {
  return callTensor("gelu", input, approximate);
}

export function relu(input: Tensor): Tensor {
  return callTensor("relu", input);
}

export function tanh(input: Tensor): Tensor {
  return callTensor("tanh", input);
}

export function sigmoid(input: Tensor): Tensor {
  return callTensor("sigmoid", input);
}

export function logSigmoid(input: Tensor): Tensor {
  return callTensor("log_sigmoid", input);
}

/** log(1 + exp(beta * x)) / beta, linear above `threshold`. */
export function softplus(input: Tensor, beta = 1, threshold = 20): Tensor {
  return callTensor("softplus", input, beta, threshold);
}

export function softmax(input: Tensor, dim: number): Tensor {
  return callTensor("softmax.int", input, dim);
}

export function logSoftmax(input: Tensor, dim: number): Tensor {
  return callTensor("log_softmax.int", input, dim);
}

export interface CrossEntropyOptions {
  weight?: Tensor | null;
  /** Default -100. */
  ignoreIndex?: number;
  /** Default "mean". */
  reduction?: Reduction;
  /** Default 0. */
  labelSmoothing?: number;
}

/** Cross-entropy of logits [N, C] against class indices [N] (or class probabilities [N, C]). */
export function crossEntropy(input: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  return callTensor(
    "cross_entropy_loss",
    input,
    target,
    options.weight ?? null,
    reductionCode(options.reduction ?? "mean"),
    options.ignoreIndex ?? -100,
    options.labelSmoothing ?? 0,
  );
}

export function binaryCrossEntropyWithLogits(
  input: Tensor,
  target: Tensor,
  options: { weight?: Tensor | null; posWeight?: Tensor | null; reduction?: Reduction } = {},
): Tensor {
  return callTensor(
    "binary_cross_entropy_with_logits",
    input,
    target,
    options.weight ?? null,
    options.posWeight ?? null,
    reductionCode(options.reduction ?? "mean"),
  );
}

/**
 * KL divergence with `input` as log-probabilities. `reduction` "batchmean" divides the sum by
 * the batch size, as torch.nn.functional.kl_div does.
 */
export function klDiv(
  input: Tensor,
  target: Tensor,
  options: { reduction?: Reduction | "batchmean"; logTarget?: boolean } = {},
): Tensor {
  const reduction = options.reduction ?? "mean";
  const logTarget = options.logTarget ?? false;
  if (reduction === "batchmean") {
    const summed = () => callTensor("kl_div", input, target, reductionCode("sum"), logTarget);
    return input.ndim === 0 ? summed() : scope(() => summed().div(input.size(0)));
  }
  return callTensor("kl_div", input, target, reductionCode(reduction), logTarget);
}

export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = "mean"): Tensor {
  return callTensor("mse_loss", input, target, reductionCode(reduction));
}

export function l1Loss(input: Tensor, target: Tensor, reduction: Reduction = "mean"): Tensor {
  return callTensor("l1_loss", input, target, reductionCode(reduction));
}

export function cosineSimilarity(x1: Tensor, x2: Tensor, dim = 1, eps = 1e-8): Tensor {
  return callTensor("cosine_similarity", x1, x2, dim, eps);
}

export function pairwiseDistance(x1: Tensor, x2: Tensor, p = 2, eps = 1e-6, keepdim = false): Tensor {
  return callTensor("pairwise_distance", x1, x2, p, eps, keepdim);
}

/** x / max(||x||_p, eps) along `dim`, as torch.nn.functional.normalize. */
export function normalize(input: Tensor, p = 2, dim = 1, eps = 1e-12): Tensor {
  return scope(() => input.div(input.norm(p, dim, true).clampMin(eps).expandAs(input)));
}

/** Whether this libtorch has fused scaled-dot-product attention (libtorch 2.0+). */
export function hasScaledDotProductAttention(): boolean {
  return hasOp("scaled_dot_product_attention");
}

/**
 * softmax(q k^T / sqrt(d) + mask) v. Uses libtorch's fused kernel where it exists (2.0+),
 * else the same formula op by op. `attnMask` is additive (float) or boolean (true = keep).
 */
export function scaledDotProductAttention(
  query: Tensor,
  key: Tensor,
  value: Tensor,
  attnMask: Tensor | null = null,
  dropoutP = 0,
): Tensor {
  if (hasScaledDotProductAttention()) {
    return callTensor("scaled_dot_product_attention", query, key, value, attnMask, dropoutP, false);
  }
  return scope(() => {
    let scores = query.matmul(key.transpose(-2, -1)).mul(1 / Math.sqrt(query.size(-1)));
    if (attnMask !== null) {
      scores = attnMask.dtype === "bool" ? scores.maskedFill(attnMask.logicalNot(), -Infinity) : scores.add(attnMask);
    }
    const probs = scores.softmax(-1);
    return (dropoutP > 0 ? dropout(probs, dropoutP, true) : probs).matmul(value);
  });
}
