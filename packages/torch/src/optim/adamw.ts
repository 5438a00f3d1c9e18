// AdamW (decoupled weight decay), numerically identical to PyTorch's single-tensor implementation,
// or libtorch's fused kernel (fused: true).
import type { Tensor } from "../tensor.js";
import { keep, scope } from "../scope.js";
import { noGrad } from "../autograd.js";
import { scalarTensor, zerosLike } from "../ops/creation.js";
import { callInPlace, callScalar, hasOp } from "../ops/dispatch.js";
import { buildInfo, cuda, libtorchVersionAtLeast } from "../runtime.js";
import {
  Optimizer,
  checkBoolean,
  checkRange,
  describe,
  libmPow,
  type OptimizerParams,
  type ParamGroup,
  type StateSpec,
} from "./optimizer.js";

/** AdamW's options (each may also be set per parameter group). */
export interface AdamWOptions {
  /** Learning rate. Default 1e-3. */
  lr: number;
  /** Decay rates of the running averages of the gradient and of its square. Default [0.9, 0.999]. */
  betas: [number, number];
  /** Added to the denominator for numerical stability. Default 1e-8. */
  eps: number;
  /** Decoupled weight decay: each step multiplies the parameter by 1 - lr * weightDecay. Default 1e-2. */
  weightDecay: number;
  /** Use the AMSGrad variant (the maximum of the second moments so far). Default false. */
  amsgrad: boolean;
  /**
   * Update each group's parameters with libtorch's fused kernel (aten::_fused_adamw_, PyTorch 2.4+
   * on CPU): one pass over memory per parameter instead of about ten. Same update, but rounded like
   * PyTorch's `fused=True`, not bit-identical to the single-tensor path. Default false.
   */
  fused: boolean;
}

/** The state AdamW keeps per parameter. */
export type AdamWParamState = {
  step: number;
  expAvg: Tensor;
  expAvgSq: Tensor;
  maxExpAvgSq?: Tensor;
};

const DEFAULTS: AdamWOptions = {
  lr: 1e-3,
  betas: [0.9, 0.999],
  eps: 1e-8,
  weightDecay: 1e-2,
  amsgrad: false,
  fused: false,
};

/** The fused kernel (its schema: self, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps, *, lr, ...). */
const FUSED_OP = "_fused_adamw_";

/**
 * The AdamW optimizer (Loshchilov & Hutter), as torch.optim.AdamW: the same update, in the same
 * order of floating-point operations as PyTorch's single-tensor (foreach=False) path, so results
 * match PyTorch's bit for bit on CPU.
 *
 * Per step and parameter with a gradient g: step += 1; p *= 1 - lr * weightDecay;
 * m = lerp(m, g, 1 - beta1); v = v * beta2 + (1 - beta2) * g * g;
 * p -= lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps)
 * (with amsgrad, the running maximum of v replaces v in the denominator).
 * Parameters whose `grad` is null are skipped.
 *
 * With `fused: true` (libtorch 2.4+), libtorch's fused kernel does the same update per group in
 * one pass over each parameter; it rounds differently (float32: within ~1e-6 relative of the
 * single-tensor path), as PyTorch's `fused=True`. The state (step, expAvg, expAvgSq) is the same,
 * so state dicts move between fused and unfused optimizers.
 *
 * @example
 * // Exclude biases and LayerNorm weights from weight decay, as Hugging Face does:
 * const opt = new torch.optim.AdamW([
 *   { params: decayed, weightDecay: 0.01 },
 *   { params: notDecayed, weightDecay: 0 },
 * ], { lr: 2e-5 });
 * loss.backward(); opt.step(); opt.zeroGrad();
 *
 * @param params  tensors, or parameter groups `{params, lr?, betas?, eps?, weightDecay?, amsgrad?, fused?}`
 * @param options lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 1e-2, amsgrad = false, fused = false
 */
export class AdamW extends Optimizer<AdamWOptions, AdamWParamState> {
  /** Whether `fused: true` works on this libtorch (aten::_fused_adamw_ with a CPU kernel: 2.4+, or CUDA). */
  static fusedAvailable(): boolean {
    return hasFusedAdamW();
  }

  constructor(params: OptimizerParams<AdamWOptions>, options: Partial<AdamWOptions> = {}) {
    super("AdamW", params, resolveDefaults(options));
  }

  protected override validateOptions(options: AdamWOptions, where: string): void {
    checkRange(options.lr, `${where}: lr`, 0);
    checkRange(options.eps, `${where}: eps`, 0);
    checkRange(options.weightDecay, `${where}: weightDecay`, 0);
    checkBoolean(options.amsgrad, `${where}: amsgrad`);
    checkBoolean(options.fused, `${where}: fused`);
    if (options.fused && !hasFusedAdamW()) {
      throw new Error(
        `${where}: fused: true needs aten::${FUSED_OP} with its CPU kernel (libtorch 2.4 or newer), which this ` +
          `libtorch ${buildInfo().version} lacks. Use fused: false, or build against a newer libtorch ` +
          `(LIBTORCH=... or LIBTORCH_USE_PYTORCH=1).`,
      );
    }
    const betas: unknown = options.betas;
    if (!Array.isArray(betas) || betas.length !== 2) {
      throw new TypeError(`${where}: betas must be a pair [beta1, beta2], got ${describe(betas)}`);
    }
    checkRange(betas[0], `${where}: betas[0]`, 0, 1, false);
    checkRange(betas[1], `${where}: betas[1]`, 0, 1, false);
  }

  protected override stateSpec(group: ParamGroup<AdamWOptions>): StateSpec {
    return group.amsgrad
      ? { required: { step: "number", expAvg: "tensor", expAvgSq: "tensor", maxExpAvgSq: "tensor" }, optional: {} }
      : { required: { step: "number", expAvg: "tensor", expAvgSq: "tensor" }, optional: { maxExpAvgSq: "tensor" } };
  }

  /** Updates every parameter that has a gradient, in place. */
  override step(): void {
    noGrad(() => {
      const pow = memoized(libmPow);
      for (const group of this.paramGroups) {
        if (group.fused) scope(() => this.fusedStep(group, pow));
        else for (const param of group.params) scope(() => this.singleTensorStep(group, param, pow));
      }
    });
  }

  /** The state of `param`, created (zeros, step 0) at its first step. */
  private stateOf(param: Tensor, amsgrad: boolean): AdamWParamState {
    let state = this.state.get(param);
    if (state === undefined) {
      state = { step: 0, expAvg: keep(zerosLike(param)), expAvgSq: keep(zerosLike(param)) };
      this.state.set(param, state);
    }
    if (amsgrad && state.maxExpAvgSq === undefined) state.maxExpAvgSq = keep(zerosLike(param));
    return state;
  }

  /** PyTorch's single-tensor update of one parameter, operation for operation. */
  private singleTensorStep(
    group: ParamGroup<AdamWOptions>,
    param: Tensor,
    pow: (a: number, b: number) => number,
  ): void {
    const grad = param.grad;
    if (grad === null) return;
    const { lr, eps, weightDecay, amsgrad } = group;
    const [beta1, beta2] = group.betas;
    const state = this.stateOf(param, amsgrad);
    const { expAvg, expAvgSq } = state;

    state.step += 1;
    const step = state.step;
    if (weightDecay !== 0) param.mul_(1 - lr * weightDecay);
    expAvg.lerp_(grad, 1 - beta1);
    expAvgSq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);

    const biasCorrection1 = 1 - pow(beta1, step);
    const biasCorrection2 = 1 - pow(beta2, step);
    const stepSize = lr / biasCorrection1;
    const biasCorrection2Sqrt = pow(biasCorrection2, 0.5);
    let second = expAvgSq;
    if (amsgrad) {
      const max = state.maxExpAvgSq!;
      max.copy_(max.maximum(expAvgSq));
      second = max;
    }
    // (sqrt(v) / sqrt(bc2)).add_(eps) as PyTorch, dividing the fresh sqrt in place (one temporary, not two)
    const denom = second.sqrt().div_(biasCorrection2Sqrt).add_(eps);
    param.addcdiv_(expAvg, denom, -stepSize);
  }

  /**
   * One call of the fused kernel for the group's parameters that have a gradient. The kernel reads
   * raw memory, so gradients are made contiguous and a non-contiguous parameter (rare: modules
   * create contiguous ones) takes the single-tensor path; state tensors are always contiguous.
   */
  private fusedStep(group: ParamGroup<AdamWOptions>, pow: (a: number, b: number) => number): void {
    const { lr, eps, weightDecay, amsgrad } = group;
    const [beta1, beta2] = group.betas;
    const params: Tensor[] = [];
    const grads: Tensor[] = [];
    const expAvgs: Tensor[] = [];
    const expAvgSqs: Tensor[] = [];
    const maxExpAvgSqs: Tensor[] = [];
    const steps: Tensor[] = [];
    for (const param of group.params) {
      const grad = param.grad;
      if (grad === null) continue;
      if (callScalar("is_contiguous", param) !== true) {
        this.singleTensorStep(group, param, pow);
        continue;
      }
      const state = this.stateOf(param, amsgrad);
      state.step += 1; // the kernel reads the incremented step, as PyTorch's _fused_adamw
      params.push(param);
      grads.push(grad.contiguous());
      expAvgs.push(state.expAvg);
      expAvgSqs.push(state.expAvgSq);
      if (amsgrad) maxExpAvgSqs.push(state.maxExpAvgSq!);
      steps.push(scalarTensor(state.step, { dtype: "float32" }));
    }
    if (params.length === 0) return;
    const lists = [params, grads, expAvgs, expAvgSqs, maxExpAvgSqs, steps];
    // then lr, beta1, beta2, weight_decay, eps, amsgrad, maximize = false, grad_scale = found_inf = None
    callInPlace(FUSED_OP, ...lists, lr, beta1, beta2, weightDecay, eps, amsgrad, false, null, null);
  }
}

/**
 * Whether this libtorch can run the fused update: the op exists from 2.0 (CUDA only), its CPU kernel
 * from 2.4; a CUDA build before 2.4 is accepted (its CPU parameters would get libtorch's error).
 */
function hasFusedAdamW(): boolean {
  return hasOp(FUSED_OP) && (libtorchVersionAtLeast(2, 4) || cuda.isAvailable());
}

function resolveDefaults(options: Partial<AdamWOptions>): AdamWOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`AdamW: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!(key in DEFAULTS))
      throw new TypeError(`AdamW: unknown option '${key}' (options: ${Object.keys(DEFAULTS).join(", ")})`);
  }
  const resolved = { ...DEFAULTS, betas: [...DEFAULTS.betas] as [number, number] };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) (resolved as Record<string, unknown>)[key] = value;
  }
  return resolved;
}

/** Caches a pure function of two numbers for the duration of one step (steps repeat across parameters). */
function memoized(fn: (a: number, b: number) => number): (a: number, b: number) => number {
  const cache = new Map<string, number>();
  return (a, b) => {
    const key = `${a}|${b}`;
    let value = cache.get(key);
    if (value === undefined) cache.set(key, (value = fn(a, b)));
    return value;
  };
}
