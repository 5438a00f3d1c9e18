// Parameter initialisers (torch.nn.init): fill a tensor in place, without recording a graph.
// Every random one draws from the default generator, so manualSeed makes it reproducible; the
// bounds are computed with the same floating-point steps as PyTorch, so the draws match it exactly.
import type { Tensor } from "../tensor.js";
import { noGrad } from "../autograd.js";
import { scope } from "../scope.js";
import { emptyLike, scalarTensor } from "../ops/creation.js";
import { callInPlace, callTensor } from "../ops/dispatch.js";

/** Nonlinearities `calculateGain` knows. */
export type Nonlinearity =
  "linear" | "conv1d" | "conv2d" | "conv3d" | "sigmoid" | "tanh" | "relu" | "leaky_relu" | "selu";

/** Which fan a Kaiming initialiser preserves: "fan_in" (forward pass) or "fan_out" (backward). */
export type FanMode = "fan_in" | "fan_out";

/**
 * The recommended gain for a nonlinearity (torch.nn.init.calculate_gain): 1 for linear and
 * sigmoid, 5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu (`param` is the
 * negative slope, default 0.01), 3/4 for selu.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case "linear":
    case "conv1d":
    case "conv2d":
    case "conv3d":
    case "sigmoid":
      return 1;
    case "tanh":
      return 5.0 / 3;
    case "relu":
      return Math.sqrt(2.0);
    case "leaky_relu": {
      const slope = param ?? 0.01;
      return Math.sqrt(2.0 / (1 + slope * slope));
    }
    case "selu":
      return 3.0 / 4;
    default:
      throw new TypeError(`calculateGain: unsupported nonlinearity '${String(nonlinearity)}'`);
  }
}

/**
 * fan_in = size(1) * receptive field, fan_out = size(0) * receptive field, where the receptive
 * field is the product of the dimensions after the first two (1 for a matrix).
 */
export function calculateFanInAndFanOut(tensor: Tensor): { fanIn: number; fanOut: number } {
  const shape = tensor.shape;
  if (shape.length < 2) {
    throw new RangeError(
      `calculateFanInAndFanOut: fan in and fan out need a tensor with at least 2 dimensions, got shape [${shape.join(", ")}]`,
    );
  }
  const receptiveField = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1]! * receptiveField, fanOut: shape[0]! * receptiveField };
}

/** Fills `tensor` with samples of U(a, b). */
export function uniform_(tensor: Tensor, a = 0, b = 1): Tensor {
  return noGrad(() => tensor.uniform_(a, b));
}

/** Fills `tensor` with samples of N(mean, std^2). */
export function normal_(tensor: Tensor, mean = 0, std = 1): Tensor {
  return noGrad(() => tensor.normal_(mean, std));
}

/** Fills `tensor` with `value`. */
export function constant_(tensor: Tensor, value: number): Tensor {
  return noGrad(() => tensor.fill_(value));
}

export function zeros_(tensor: Tensor): Tensor {
  return constant_(tensor, 0);
}

export function ones_(tensor: Tensor): Tensor {
  return constant_(tensor, 1);
}

/** Options of the Kaiming (He) initialisers. */
export interface KaimingOptions {
  /** Negative slope of the leaky ReLU after this layer (default 0; only used by leaky_relu). */
  a?: number;
  /** Default "fan_in". */
  mode?: FanMode;
  /** Default "leaky_relu". */
  nonlinearity?: Nonlinearity;
}

/**
 * Kaiming (He) uniform initialisation: U(-bound, bound) with bound = gain * sqrt(3 / fan), as
 * torch.nn.init.kaiming_uniform_. Linear's default init is this with a = sqrt(5), which gives
 * bound = 1 / sqrt(fanIn). A tensor with a zero-sized dimension is left as is.
 */
export function kaimingUniform_(tensor: Tensor, options: KaimingOptions = {}): Tensor {
  if (tensor.shape.includes(0)) return tensor;
  const fan = correctFan(tensor, options.mode ?? "fan_in");
  const gain = calculateGain(options.nonlinearity ?? "leaky_relu", options.a ?? 0);
  const std = gain / Math.sqrt(fan);
  const bound = Math.sqrt(3.0) * std;
  return uniform_(tensor, -bound, bound);
}

/**
 * Xavier (Glorot) uniform initialisation: U(-a, a) with a = gain * sqrt(6 / (fanIn + fanOut)),
 * as torch.nn.init.xavier_uniform_.
 */
export function xavierUniform_(tensor: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(tensor);
  const std = gain * Math.sqrt(2.0 / (fanIn + fanOut));
  const a = Math.sqrt(3.0) * std;
  return uniform_(tensor, -a, a);
}

/** Options of `truncNormal_`. */
export interface TruncNormalOptions {
  /** Default 0. */
  mean?: number;
  /** Default 1. */
  std?: number;
  /** Lower cut-off, in absolute units (default -2). */
  a?: number;
  /** Upper cut-off, in absolute units (default 2). */
  b?: number;
}

/**
 * Samples of N(mean, std^2) truncated to [a, b], as torch.nn.init.trunc_normal_ of PyTorch 2.13
 * (the same draws for the same manualSeed): by rejection, redrawing normal samples outside [a, b]
 * when [a, b] holds more than 30% of the mass, else uniform proposals on [a, b] accepted with
 * probability pdf(x) / pdf(mode). (Older PyTorch versions used an inverse-CDF method: other draws.)
 * Note: Hugging Face's BERT initialises its weights with the plain `normal_(tensor, 0, initializerRange)`.
 */
export function truncNormal_(tensor: Tensor, options: TruncNormalOptions = {}): Tensor {
  const { mean = 0, std = 1, a = -2, b = 2 } = options;
  if (!(std > 0)) throw new RangeError(`truncNormal_: std must be positive, got ${std}`);
  if (!(a < b)) throw new RangeError(`truncNormal_: expected a < b, got a=${a}, b=${b}`);
  const mass = normCdf((b - mean) / std) - normCdf((a - mean) / std);
  noGrad(() =>
    scope(() => {
      const any = (mask: Tensor) => mask.any().item() !== 0;
      if (mass > 0.3) {
        // the bounds as the tensor's dtype holds them, so the rejection test matches its values
        const lo = scalarTensor(a, { dtype: tensor.dtype }).item();
        const hi = scalarTensor(b, { dtype: tensor.dtype }).item();
        let result = tensor.normal_(mean, std);
        for (;;) {
          const outside = result.lt(lo).logicalOr(result.gt(hi));
          if (!any(outside)) break;
          result = emptyLike(result).normal_(mean, std).where(outside, result);
        }
        if (result !== tensor) tensor.copy_(result);
        return;
      }
      const mode = Math.max(a, Math.min(mean, b));
      const peak = (mode - mean) / std;
      const logPeak = -0.5 * (peak * peak);
      const candidates = emptyLike(tensor);
      const acceptance = emptyLike(tensor);
      // candidates <- log(pdf(x) / pdf(mode)) = -0.5 ((x - mean) / std)^2 - logPeak
      const logRatio = (x: Tensor) => {
        x.sub_(mean).div_(std);
        callInPlace("pow_.Scalar", x, 2);
        return x.mul_(-0.5).sub_(logPeak);
      };
      const rejected = () => {
        acceptance.uniform_();
        callInPlace("log_", acceptance);
        return acceptance.gt(candidates);
      };
      tensor.uniform_(a, b);
      candidates.copy_(tensor);
      logRatio(candidates);
      let pending = rejected();
      if (!any(pending)) return;
      let result = tensor;
      for (;;) {
        candidates.uniform_(a, b);
        result = candidates.where(pending, result);
        logRatio(candidates);
        pending = rejected().where(pending, pending);
        if (!any(pending)) break;
      }
      tensor.copy_(result);
    }),
  );
  return tensor;
}

function correctFan(tensor: Tensor, mode: FanMode): number {
  if (mode !== "fan_in" && mode !== "fan_out") {
    throw new TypeError(`kaiming init: mode must be 'fan_in' or 'fan_out', got '${String(mode)}'`);
  }
  const { fanIn, fanOut } = calculateFanInAndFanOut(tensor);
  return mode === "fan_in" ? fanIn : fanOut;
}

/** The standard normal CDF, (1 + erf(x / sqrt 2)) / 2, with libtorch's float64 erf. */
function normCdf(x: number): number {
  const erf = scope(() => callTensor("erf", scalarTensor(x / Math.sqrt(2.0), { dtype: "float64" })).item());
  return (1.0 + erf) / 2.0;
}
