// Functions that combine or select across several tensors.
import type { Tensor } from "../tensor.js";
import { callTensor, callTensors } from "./dispatch.js";

/** Joins tensors along an existing dimension. */
export function cat(tensors: Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError("cat: expected at least one tensor");
  return callTensor("cat", tensors, dim);
}

/** Joins same-shaped tensors along a new dimension. */
export function stack(tensors: Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError("stack: expected at least one tensor");
  return callTensor("stack", tensors, dim);
}

/** Elementwise choice: `input` where `condition` is true, `other` elsewhere. */
export function where(condition: Tensor, input: Tensor | number, other: Tensor | number): Tensor {
  if (typeof input === "number" && typeof other === "number")
    return callTensor("where.Scalar", condition, input, other);
  if (typeof input === "number") return callTensor("where.ScalarSelf", condition, input, other);
  if (typeof other === "number") return callTensor("where.ScalarOther", condition, input, other);
  return callTensor("where.self", condition, input, other);
}

/** Broadcasts tensors to one shape. */
export function broadcastTensors(tensors: Tensor[]): Tensor[] {
  return callTensors("broadcast_tensors", tensors);
}

/** Coordinate grids like numpy's meshgrid with indexing "ij". */
export function meshgrid(tensors: Tensor[]): Tensor[] {
  return callTensors("meshgrid", tensors);
}
