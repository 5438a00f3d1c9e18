// Gradient clipping: by total norm (torch.nn.utils.clip_grad_norm_) and by value (clip_grad_value_).
import { Tensor } from "../tensor.js";
import { scope } from "../scope.js";
import { noGrad } from "../autograd.js";
import { stack } from "../ops/shape.js";
import { describe } from "./optimizer.js";

/** Options of clipGradNorm. */
export interface ClipGradNormOptions {
  /** Throw if the total norm is NaN or infinite (instead of scaling the gradients by it). Default false. */
  errorIfNonfinite?: boolean;
}

/**
 * Scales the gradients of `params` in place so that their total norm is at most `maxNorm`, as
 * torch.nn.utils.clip_grad_norm_: the total norm is the `normType`-norm of the vector of the
 * per-gradient norms; every gradient is multiplied by min(maxNorm / (total + 1e-6), 1).
 * Parameters without a gradient are ignored. Returns the total norm (before clipping).
 *
 * @example
 * loss.backward();
 * const norm = torch.optim.clipGradNorm(params, 1.0); // as Hugging Face's max_grad_norm
 * opt.step();
 *
 * @param params   a tensor or tensors whose `.grad` to clip
 * @param maxNorm  the largest total norm allowed (>= 0)
 * @param normType the p of the p-norm: 2 (default), 1, Infinity (or "inf") for the largest magnitude, ...
 * @param options  errorIfNonfinite = false
 */
export function clipGradNorm(
  params: Tensor | Tensor[],
  maxNorm: number,
  normType: number | "inf" = 2,
  options: ClipGradNormOptions = {},
): number {
  const p = normType === "inf" ? Infinity : normType;
  if (typeof p !== "number" || Number.isNaN(p)) {
    throw new TypeError(`clipGradNorm: normType must be a number or 'inf', got ${describe(normType)}`);
  }
  if (typeof maxNorm !== "number" || !(maxNorm >= 0)) {
    throw new RangeError(`clipGradNorm: maxNorm must be a number >= 0, got ${describe(maxNorm)}`);
  }
  const list = asList(params, "clipGradNorm");
  return noGrad(() =>
    scope(() => {
      const grads = list.map((t) => t.grad).filter((g): g is Tensor => g !== null);
      if (grads.length === 0) return 0;
      const device = grads[0]!.device; // as PyTorch: per-gradient norms are gathered on the first one's device
      const norms = grads.map((g) => (g.device === device ? g.norm(p) : g.norm(p).to(device)));
      const total = stack(norms).norm(p);
      if (options.errorIfNonfinite === true && total.isnan().logicalOr(total.isinf()).item() !== 0) {
        throw new Error(
          `clipGradNorm: the total norm of order ${p} for gradients from params is non-finite, so it cannot be ` +
            "clipped. To disable this error and scale the gradients by the non-finite norm anyway, set " +
            "errorIfNonfinite to false",
        );
      }
      // max_norm / (total_norm + 1e-6) in Python is (total + 1e-6).reciprocal() * max_norm.
      const clipCoef = total.add(1e-6).reciprocal().mul(maxNorm).clampMax(1.0);
      for (const g of grads) g.mul_(g.device === device ? clipCoef : clipCoef.to(g.device));
      return total.item();
    }),
  );
}

/**
 * Clamps the gradients of `params` in place to [-clipValue, clipValue], as
 * torch.nn.utils.clip_grad_value_. Parameters without a gradient are ignored.
 *
 * @example
 * loss.backward(); torch.optim.clipGradValue(params, 0.5); opt.step();
 *
 * @param params    a tensor or tensors whose `.grad` to clamp
 * @param clipValue the largest magnitude allowed (>= 0)
 */
export function clipGradValue(params: Tensor | Tensor[], clipValue: number): void {
  if (typeof clipValue !== "number" || !(clipValue >= 0)) {
    throw new RangeError(`clipGradValue: clipValue must be a number >= 0, got ${describe(clipValue)}`);
  }
  const list = asList(params, "clipGradValue");
  noGrad(() =>
    scope(() => {
      for (const t of list) t.grad?.clamp_(-clipValue, clipValue);
    }),
  );
}

function asList(params: Tensor | Tensor[], where: string): Tensor[] {
  const list = params instanceof Tensor ? [params] : params;
  if (!Array.isArray(list)) throw new TypeError(`${where}: params must be a tensor or an array of tensors`);
  list.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new TypeError(`${where}: params[${i}] is ${describe(t)}, expected a Tensor`);
  });
  return list;
}
