// Stochastic gradient descent with momentum, numerically identical to PyTorch's single-tensor implementation.
import type { Tensor } from "../tensor.js";
import { keep, scope } from "../scope.js";
import { noGrad } from "../autograd.js";
import {
  Optimizer,
  checkBoolean,
  checkRange,
  describe,
  type OptimizerParams,
  type ParamGroup,
  type StateSpec,
} from "./optimizer.js";

/** SGD's options (each may also be set per parameter group). */
export interface SGDOptions {
  /** Learning rate (required). */
  lr: number;
  /** Momentum factor. Default 0 (plain SGD). */
  momentum: number;
  /** Dampening of the momentum: the gradient enters the buffer scaled by 1 - dampening. Default 0. */
  dampening: number;
  /** L2 penalty added to the gradient (coupled, unlike AdamW's). Default 0. */
  weightDecay: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). Default false. */
  nesterov: boolean;
}

/** The state SGD keeps per parameter (only when momentum is non-zero). */
export type SGDParamState = {
  momentumBuffer?: Tensor;
};

const DEFAULTS: Omit<SGDOptions, "lr"> = { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false };

/**
 * Stochastic gradient descent, optionally with (Nesterov) momentum, as torch.optim.SGD: the same
 * operations in the same order as PyTorch's single-tensor (foreach=False) path.
 *
 * Per step and parameter with a gradient g: g += weightDecay * p; if momentum: buf = g at the
 * first step, else buf = momentum * buf + (1 - dampening) * g, and g = nesterov ? g + momentum * buf
 * : buf; then p -= lr * g. Parameters whose `grad` is null are skipped.
 *
 * @example
 * const opt = new torch.optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true });
 * loss.backward(); opt.step(); opt.zeroGrad();
 *
 * @param params  tensors, or parameter groups `{params, lr?, momentum?, dampening?, weightDecay?, nesterov?}`
 * @param options lr (required), momentum = 0, dampening = 0, weightDecay = 0, nesterov = false
 */
export class SGD extends Optimizer<SGDOptions, SGDParamState> {
  constructor(params: OptimizerParams<SGDOptions>, options: Partial<SGDOptions> & { lr: number }) {
    super("SGD", params, resolveDefaults(options));
  }

  protected override validateOptions(options: SGDOptions, where: string): void {
    checkRange(options.lr, `${where}: lr`, 0);
    checkRange(options.momentum, `${where}: momentum`, 0);
    checkRange(options.dampening, `${where}: dampening`, -Infinity);
    checkRange(options.weightDecay, `${where}: weightDecay`, 0);
    checkBoolean(options.nesterov, `${where}: nesterov`);
    if (options.nesterov && (options.momentum <= 0 || options.dampening !== 0)) {
      throw new RangeError(
        `${where}: nesterov requires momentum > 0 and dampening 0, got momentum ${options.momentum} and dampening ${options.dampening}`,
      );
    }
  }

  protected override stateSpec(_group: ParamGroup<SGDOptions>): StateSpec {
    return { required: {}, optional: { momentumBuffer: "tensor" } };
  }

  /** Updates every parameter that has a gradient, in place. */
  override step(): void {
    noGrad(() => {
      for (const group of this.paramGroups) {
        const { lr, momentum, dampening, weightDecay, nesterov } = group;
        for (const param of group.params) {
          scope(() => {
            let grad = param.grad;
            if (grad === null) return;
            if (weightDecay !== 0) grad = grad.add(param, weightDecay);
            if (momentum !== 0) {
              let state = this.state.get(param);
              if (state === undefined) this.state.set(param, (state = {}));
              let buf = state.momentumBuffer;
              if (buf === undefined) {
                buf = keep(grad.detach().clone());
                state.momentumBuffer = buf;
              } else {
                buf.mul_(momentum).add_(grad, 1 - dampening);
              }
              grad = nesterov ? grad.add(buf, momentum) : buf;
            }
            param.add_(grad, -lr);
          });
        }
      }
    });
  }
}

function resolveDefaults(options: Partial<SGDOptions> & { lr: number }): SGDOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`SGD: options must be an object with at least lr, got ${describe(options)}`);
  }
  const known = ["lr", ...Object.keys(DEFAULTS)];
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new TypeError(`SGD: unknown option '${key}' (options: ${known.join(", ")})`);
  }
  if (options.lr === undefined) throw new TypeError("SGD: lr is required (e.g. new SGD(params, { lr: 0.01 }))");
  const resolved: SGDOptions = { ...DEFAULTS, lr: options.lr };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) (resolved as unknown as Record<string, unknown>)[key] = value;
  }
  return resolved;
}
