// AdamW (decoupled weight decay), numerically identical to PyTorch's single-tensor implementation.
import type { Tensor } from "../tensor.js";
import { keep, scope } from "../scope.js";
import { noGrad } from "../autograd.js";
import { zerosLike } from "../ops/creation.js";
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
}

/** The state AdamW keeps per parameter. */
export type AdamWParamState = {
  step: number;
  expAvg: Tensor;
  expAvgSq: Tensor;
  maxExpAvgSq?: Tensor;
};

const DEFAULTS: AdamWOptions = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false };

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
 * @example
 * // Exclude biases and LayerNorm weights from weight decay, as Hugging Face does:
 * const opt = new torch.optim.AdamW([
 *   { params: decayed, weightDecay: 0.01 },
 *   { params: notDecayed, weightDecay: 0 },
 * ], { lr: 2e-5 });
 * loss.backward(); opt.step(); opt.zeroGrad();
 *
 * @param params  tensors, or parameter groups `{params, lr?, betas?, eps?, weightDecay?, amsgrad?}`
 * @param options lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 1e-2, amsgrad = false
 */
export class AdamW extends Optimizer<AdamWOptions, AdamWParamState> {
  constructor(params: OptimizerParams<AdamWOptions>, options: Partial<AdamWOptions> = {}) {
    super("AdamW", params, resolveDefaults(options));
  }

  protected override validateOptions(options: AdamWOptions, where: string): void {
    checkRange(options.lr, `${where}: lr`, 0);
    checkRange(options.eps, `${where}: eps`, 0);
    checkRange(options.weightDecay, `${where}: weightDecay`, 0);
    checkBoolean(options.amsgrad, `${where}: amsgrad`);
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
        const { lr, eps, weightDecay, amsgrad } = group;
        const [beta1, beta2] = group.betas;
        for (const param of group.params) {
          scope(() => {
            const grad = param.grad;
            if (grad === null) return;
            let state = this.state.get(param);
            if (state === undefined) {
              state = { step: 0, expAvg: keep(zerosLike(param)), expAvgSq: keep(zerosLike(param)) };
              this.state.set(param, state);
            }
            if (amsgrad && state.maxExpAvgSq === undefined) state.maxExpAvgSq = keep(zerosLike(param));
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
          });
        }
      }
    });
  }
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
