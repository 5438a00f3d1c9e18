// Gradient mode and explicit gradient computation.
import { native } from "./native.js";
import { Tensor } from "./tensor.js";

/** Whether operations currently record a graph for autograd. */
export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const previous = native.isGradEnabled();
  native.setGradEnabled(enabled);
  try {
    return fn();
  } finally {
    native.setGradEnabled(previous);
  }
}

/** Runs `fn` without recording a graph (like `with torch.no_grad()`); synchronous. */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs `fn` with graph recording on, even inside noGrad; synchronous. */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

export interface GradOptions {
  /** Gradients of the outputs (required for non-scalar outputs). */
  gradOutputs?: (Tensor | null)[];
  /** Default: same as createGraph. */
  retainGraph?: boolean;
  /** Default false. */
  createGraph?: boolean;
  /** Return null for inputs the outputs do not depend on, instead of throwing. Default false. */
  allowUnused?: boolean;
}

/**
 * Gradients of `outputs` w.r.t. `inputs`, returned rather than accumulated into `.grad`
 * (torch.autograd.grad).
 */
export function grad(
  outputs: Tensor | Tensor[],
  inputs: Tensor | Tensor[],
  options: GradOptions = {},
): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const result = native.autogradGrad(
    outs.map((t) => t.handle),
    ins.map((t) => t.handle),
    options.gradOutputs === undefined ? null : options.gradOutputs.map((t) => (t === null ? null : t.handle)),
    options.retainGraph ?? null,
    options.createGraph ?? false,
    options.allowUnused ?? false,
  );
  return result.map((h) => (h === null ? null : new Tensor(h)));
}

/** Backward from several tensors at once (torch.autograd.backward). */
export function backward(
  tensors: Tensor[],
  gradTensors: (Tensor | null)[] | null = null,
  options: { retainGraph?: boolean; createGraph?: boolean } = {},
): void {
  native.backward(
    tensors.map((t) => t.handle),
    gradTensors === null ? null : gradTensors.map((t) => (t === null ? null : t.handle)),
    options.retainGraph ?? null,
    options.createGraph ?? false,
  );
}
