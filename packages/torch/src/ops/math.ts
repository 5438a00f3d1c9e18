// Functional forms of linear algebra and elementwise ops that take several tensors.
import type { Tensor } from "../tensor.js";
import { callTensor } from "./dispatch.js";

export function matmul(a: Tensor, b: Tensor): Tensor {
  return callTensor("matmul", a, b);
}

/** Einstein summation, e.g. einsum("bij,bjk->bik", [a, b]). */
export function einsum(equation: string, tensors: Tensor[]): Tensor {
  return callTensor("einsum", equation, tensors);
}

export function maximum(a: Tensor, b: Tensor): Tensor {
  return callTensor("maximum", a, b);
}

export function minimum(a: Tensor, b: Tensor): Tensor {
  return callTensor("minimum", a, b);
}

/** Pairwise p-norm distances between the rows of x1 [.., P, M] and x2 [.., R, M]. */
export function cdist(x1: Tensor, x2: Tensor, p = 2): Tensor {
  return callTensor("cdist", x1, x2, p);
}
