// The Tensor class: one handle to an at::Tensor plus the operator methods.
import { native, type NativeHandle } from "./native.js";
import {
  DTYPES,
  dtypeCode,
  dtypeFromCode,
  isFloatingPoint,
  typedArrayOf,
  type DType,
  type TypedArray,
} from "./dtype.js";
import { track, untrack, type Scope } from "./scope.js";
import { callInPlace, callScalar, callTensor, callTensors } from "./ops/dispatch.js";

/** A nested array of numbers or booleans, as `toArray()` returns and `tensor()` accepts. */
export type NestedArray<T = number> = T | NestedArray<T>[];

/** A value whose maximum or minimum along a dimension was taken, with where it was found. */
export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}

export interface BackwardOptions {
  /** Keep the graph for a second backward (default: same as createGraph). */
  retainGraph?: boolean;
  /** Build a graph of the backward pass, for higher-order gradients (default false). */
  createGraph?: boolean;
}

type TensorOrNumber = Tensor | number;

const REDUCTIONS = { none: 0, mean: 1, sum: 2 } as const;
/** How a loss combines its per-element values. */
export type Reduction = keyof typeof REDUCTIONS;

/** @internal libtorch's integer code for a reduction. */
export function reductionCode(reduction: Reduction): number {
  const code = Object.hasOwn(REDUCTIONS, reduction) ? REDUCTIONS[reduction] : undefined;
  if (code === undefined)
    throw new TypeError(`reduction: expected 'none', 'mean' or 'sum', got '${String(reduction)}'`);
  return code;
}

/**
 * A multi-dimensional array on a device, with autograd. Each Tensor owns one reference to
 * libtorch memory: free it with `dispose()`, or create it inside `torch.scope(...)`.
 *
 * @example
 * const x = torch.tensor([[1, 2], [3, 4]]);          // float32
 * const y = x.matmul(x.t()).sum();                     // 0-dim tensor
 * y.item();                                            // 54
 */
export class Tensor {
  /** @internal */
  owner: Scope | null = null;
  #handle: NativeHandle;

  /** @internal Wraps a native handle; use the creation functions instead. */
  constructor(handle: NativeHandle) {
    this.#handle = handle;
    track(this);
  }

  /** @internal The native handle, for the dispatcher. */
  get handle(): NativeHandle {
    return this.#handle;
  }

  // ---- metadata -------------------------------------------------------------------------------

  get shape(): number[] {
    return native.shape(this.#handle);
  }

  get dtype(): DType {
    return dtypeFromCode(native.dtype(this.#handle));
  }

  /** "cpu", "cuda:0", ... */
  get device(): string {
    return native.device(this.#handle);
  }

  get ndim(): number {
    return this.shape.length;
  }

  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  size(dim?: number): number;
  size(): number[];
  size(dim?: number): number | number[] {
    const shape = this.shape;
    if (dim === undefined) return shape;
    if (!Number.isInteger(dim)) throw new TypeError(`size: argument 'dim' expects an integer, got ${dim}`);
    const d = dim < 0 ? dim + shape.length : dim;
    if (d < 0 || d >= shape.length) throw new RangeError(`size(${dim}): tensor has ${shape.length} dimensions`);
    return shape[d]!;
  }

  get isFloatingPoint(): boolean {
    return isFloatingPoint(this.dtype);
  }

  get isDisposed(): boolean {
    return native.isDisposed(this.#handle);
  }

  toString(): string {
    return this.isDisposed
      ? "Tensor(disposed)"
      : `Tensor(shape=[${this.shape.join(", ")}], dtype=${this.dtype}, device=${this.device})`;
  }

  // ---- memory ---------------------------------------------------------------------------------

  /** Frees this handle's reference now. Idempotent. Other handles to the same memory stay valid. */
  dispose(): void {
    native.dispose(this.#handle);
    untrack(this);
  }

  // ---- autograd -------------------------------------------------------------------------------

  get requiresGrad(): boolean {
    return native.requiresGrad(this.#handle);
  }

  set requiresGrad(flag: boolean) {
    native.setRequiresGrad(this.#handle, flag);
  }

  /** Sets requiresGrad in place and returns this tensor. */
  requiresGrad_(flag = true): this {
    native.setRequiresGrad(this.#handle, flag);
    return this;
  }

  /** The accumulated gradient (a new handle each read), or null. */
  get grad(): Tensor | null {
    const handle = native.grad(this.#handle);
    return handle === null ? null : new Tensor(handle);
  }

  /** Replaces the gradient; it must match this tensor's shape, dtype and device (as in PyTorch). */
  set grad(value: Tensor | null) {
    if (value !== null) {
      const [own, given] = [this.shape, value.shape];
      if (own.length !== given.length || own.some((n, i) => n !== given[i])) {
        throw new RangeError(`grad: expected a gradient of shape [${own.join(", ")}], got [${given.join(", ")}]`);
      }
      if (value.dtype !== this.dtype) {
        throw new TypeError(`grad: expected a gradient of dtype ${this.dtype}, got ${value.dtype}`);
      }
      if (value.device !== this.device) {
        throw new TypeError(`grad: expected a gradient on ${this.device}, got ${value.device}`);
      }
    }
    native.setGrad(this.#handle, value === null ? null : value.handle);
  }

  get isLeaf(): boolean {
    return native.isLeaf(this.#handle);
  }

  /** The name of the autograd node that produced this tensor ("MulBackward0"), or null. */
  get gradFn(): string | null {
    return native.gradFnName(this.#handle);
  }

  /** Keeps `.grad` for a non-leaf tensor after backward. */
  retainGrad(): this {
    native.retainGrad(this.#handle);
    return this;
  }

  /** Computes gradients of this tensor w.r.t. graph leaves, accumulating into their `.grad`. */
  backward(gradient?: Tensor, options: BackwardOptions = {}): void {
    const createGraph = options.createGraph ?? false;
    native.backward(
      [this.#handle],
      gradient === undefined ? null : [gradient.handle],
      options.retainGraph ?? null,
      createGraph,
    );
  }

  detach(): Tensor {
    return callTensor("detach", this);
  }

  // ---- data out -------------------------------------------------------------------------------

  /** A copy of the elements in row-major order (float16/bfloat16 as raw Uint16 bits). */
  toTypedArray(): TypedArray {
    return typedArrayOf(this.dtype, native.toBuffer(this.#handle));
  }

  /** The elements as nested arrays of numbers (booleans for bool tensors); a 0-dim tensor gives a number. */
  toArray(): NestedArray<number> | NestedArray<boolean> {
    const dtype = this.dtype;
    if (dtype === "float16" || dtype === "bfloat16") {
      const asFloat = this.to("float32");
      try {
        return asFloat.toArray();
      } finally {
        asFloat.dispose();
      }
    }
    const data = this.toTypedArray();
    const flat: (number | boolean)[] = new Array<number | boolean>(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      flat[i] = dtype === "bool" ? v !== 0 : Number(v);
    }
    return nest(flat, this.shape, 0, 0) as NestedArray<number> | NestedArray<boolean>;
  }

  /** The value of a one-element tensor. */
  item(): number {
    const value = callScalar("item", this);
    return typeof value === "boolean" ? Number(value) : value;
  }

  // ---- conversion -----------------------------------------------------------------------------

  /** Converts to a dtype, or moves to a device ("cpu", "cuda", "cuda:1"). Returns a new handle. */
  to(target: DType | string, options: { copy?: boolean } = {}): Tensor {
    const copy = options.copy ?? false;
    if (isDType(target)) return callTensor("to.dtype", this, dtypeCode(target), false, copy);
    try {
      return callTensor("to.device", this, target, dtypeCode(this.dtype), false, copy);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`to('${target}'): not a dtype (${DTYPES.join(", ")}) nor a usable device: ${reason}`);
    }
  }

  float(): Tensor {
    return this.to("float32");
  }

  double(): Tensor {
    return this.to("float64");
  }

  long(): Tensor {
    return this.to("int64");
  }

  int(): Tensor {
    return this.to("int32");
  }

  bool(): Tensor {
    return this.to("bool");
  }

  half(): Tensor {
    return this.to("float16");
  }

  bfloat16(): Tensor {
    return this.to("bfloat16");
  }

  cpu(): Tensor {
    return this.to("cpu");
  }

  cuda(index = 0): Tensor {
    return this.to(`cuda:${index}`);
  }

  clone(): Tensor {
    return callTensor("clone", this);
  }

  contiguous(): Tensor {
    return callTensor("contiguous", this);
  }

  // ---- elementwise arithmetic -----------------------------------------------------------------

  add(other: TensorOrNumber, alpha = 1): Tensor {
    return typeof other === "number"
      ? callTensor("add.Scalar", this, other, alpha)
      : callTensor("add.Tensor", this, other, alpha);
  }

  sub(other: TensorOrNumber, alpha = 1): Tensor {
    return typeof other === "number"
      ? callTensor("sub.Scalar", this, other, alpha)
      : callTensor("sub.Tensor", this, other, alpha);
  }

  /** other - this */
  rsub(other: number): Tensor {
    return callTensor("rsub.Scalar", this, other, 1);
  }

  mul(other: TensorOrNumber): Tensor {
    return typeof other === "number" ? callTensor("mul.Scalar", this, other) : callTensor("mul.Tensor", this, other);
  }

  div(other: TensorOrNumber): Tensor {
    return typeof other === "number" ? callTensor("div.Scalar", this, other) : callTensor("div.Tensor", this, other);
  }

  pow(exponent: TensorOrNumber): Tensor {
    return typeof exponent === "number"
      ? callTensor("pow.Tensor_Scalar", this, exponent)
      : callTensor("pow.Tensor_Tensor", this, exponent);
  }

  remainder(other: TensorOrNumber): Tensor {
    return typeof other === "number"
      ? callTensor("remainder.Scalar", this, other)
      : callTensor("remainder.Tensor", this, other);
  }

  neg(): Tensor {
    return callTensor("neg", this);
  }

  abs(): Tensor {
    return callTensor("abs", this);
  }

  sign(): Tensor {
    return callTensor("sign", this);
  }

  exp(): Tensor {
    return callTensor("exp", this);
  }

  expm1(): Tensor {
    return callTensor("expm1", this);
  }

  log(): Tensor {
    return callTensor("log", this);
  }

  log1p(): Tensor {
    return callTensor("log1p", this);
  }

  log2(): Tensor {
    return callTensor("log2", this);
  }

  sqrt(): Tensor {
    return callTensor("sqrt", this);
  }

  rsqrt(): Tensor {
    return callTensor("rsqrt", this);
  }

  square(): Tensor {
    return callTensor("square", this);
  }

  reciprocal(): Tensor {
    return callTensor("reciprocal", this);
  }

  erf(): Tensor {
    return callTensor("erf", this);
  }

  sin(): Tensor {
    return callTensor("sin", this);
  }

  cos(): Tensor {
    return callTensor("cos", this);
  }

  tanh(): Tensor {
    return callTensor("tanh", this);
  }

  sigmoid(): Tensor {
    return callTensor("sigmoid", this);
  }

  relu(): Tensor {
    return callTensor("relu", this);
  }

  floor(): Tensor {
    return callTensor("floor", this);
  }

  ceil(): Tensor {
    return callTensor("ceil", this);
  }

  round(): Tensor {
    return callTensor("round", this);
  }

  /** Limits values to [min, max]; either bound may be omitted (null). */
  clamp(min: number | null, max: number | null = null): Tensor {
    if (min === null && max === null) throw new TypeError("clamp: at least one of min and max must be given");
    return callTensor("clamp", this, min, max);
  }

  clampMin(min: number): Tensor {
    return callTensor("clamp_min", this, min);
  }

  clampMax(max: number): Tensor {
    return callTensor("clamp_max", this, max);
  }

  maximum(other: Tensor): Tensor {
    return callTensor("maximum", this, other);
  }

  minimum(other: Tensor): Tensor {
    return callTensor("minimum", this, other);
  }

  /** Where `mask` (bool) is true, `value`; elsewhere this tensor. */
  maskedFill(mask: Tensor, value: TensorOrNumber): Tensor {
    checkBoolMask("maskedFill", mask);
    return typeof value === "number"
      ? callTensor("masked_fill.Scalar", this, mask, value)
      : callTensor("masked_fill.Tensor", this, mask, value);
  }

  /** Where `condition` is true, this tensor; elsewhere `other` (like torch.where(condition, this, other)). */
  where(condition: Tensor, other: TensorOrNumber): Tensor {
    return typeof other === "number"
      ? callTensor("where.ScalarOther", condition, this, other)
      : callTensor("where.self", condition, this, other);
  }

  lerp(end: Tensor, weight: TensorOrNumber): Tensor {
    return typeof weight === "number"
      ? callTensor("lerp.Scalar", this, end, weight)
      : callTensor("lerp.Tensor", this, end, weight);
  }

  addcmul(tensor1: Tensor, tensor2: Tensor, value = 1): Tensor {
    return callTensor("addcmul", this, tensor1, tensor2, value);
  }

  addcdiv(tensor1: Tensor, tensor2: Tensor, value = 1): Tensor {
    return callTensor("addcdiv", this, tensor1, tensor2, value);
  }

  // ---- comparisons and logic ------------------------------------------------------------------

  eq(other: TensorOrNumber): Tensor {
    return compare("eq", this, other);
  }

  ne(other: TensorOrNumber): Tensor {
    return compare("ne", this, other);
  }

  lt(other: TensorOrNumber): Tensor {
    return compare("lt", this, other);
  }

  le(other: TensorOrNumber): Tensor {
    return compare("le", this, other);
  }

  gt(other: TensorOrNumber): Tensor {
    return compare("gt", this, other);
  }

  ge(other: TensorOrNumber): Tensor {
    return compare("ge", this, other);
  }

  logicalNot(): Tensor {
    return callTensor("logical_not", this);
  }

  logicalAnd(other: Tensor): Tensor {
    return callTensor("logical_and", this, other);
  }

  logicalOr(other: Tensor): Tensor {
    return callTensor("logical_or", this, other);
  }

  isnan(): Tensor {
    return callTensor("isnan", this);
  }

  isinf(): Tensor {
    return callTensor("isinf", this);
  }

  isfinite(): Tensor {
    return callTensor("isfinite", this);
  }

  /** Whether every element is true (non-zero), or along `dim`. */
  all(dim?: number, keepdim = false): Tensor {
    return dim === undefined ? callTensor("all", this) : callTensor("all.dim", this, dim, keepdim);
  }

  /** Whether any element is true (non-zero), or along `dim`. */
  any(dim?: number, keepdim = false): Tensor {
    return dim === undefined ? callTensor("any", this) : callTensor("any.dim", this, dim, keepdim);
  }

  /** Exact equality of shape and values. */
  equal(other: Tensor): boolean {
    return callScalar("equal", this, other) as boolean;
  }

  allclose(other: Tensor, rtol = 1e-5, atol = 1e-8): boolean {
    return callScalar("allclose", this, other, rtol, atol, false) as boolean;
  }

  // ---- reductions -----------------------------------------------------------------------------

  /** Sum of all elements, or along `dim` (a number or an array of dims). */
  sum(dim?: number | number[], keepdim = false, options: { dtype?: DType } = {}): Tensor {
    const dtype = options.dtype === undefined ? undefined : dtypeCode(options.dtype);
    return dim === undefined
      ? callTensor("sum", this, dtype)
      : callTensor("sum.dim_IntList", this, dim, keepdim, dtype);
  }

  mean(dim?: number | number[], keepdim = false): Tensor {
    return dim === undefined ? callTensor("mean", this) : callTensor("mean.dim", this, dim, keepdim);
  }

  /** Product of all elements, or along `dim`. */
  prod(dim?: number, keepdim = false, options: { dtype?: DType } = {}): Tensor {
    const dtype = options.dtype === undefined ? undefined : dtypeCode(options.dtype);
    return dim === undefined ? callTensor("prod", this, dtype) : callTensor("prod.dim_int", this, dim, keepdim, dtype);
  }

  /** Maximum of all elements, or along `dim` with the indices where each was found. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): ValuesIndices;
  max(dim?: number, keepdim = false): Tensor | ValuesIndices {
    if (dim === undefined) return callTensor("max", this);
    const [values, indices] = callTensors("max.dim", this, dim, keepdim);
    return { values: values!, indices: indices! };
  }

  min(): Tensor;
  min(dim: number, keepdim?: boolean): ValuesIndices;
  min(dim?: number, keepdim = false): Tensor | ValuesIndices {
    if (dim === undefined) return callTensor("min", this);
    const [values, indices] = callTensors("min.dim", this, dim, keepdim);
    return { values: values!, indices: indices! };
  }

  amax(dim: number | number[] = [], keepdim = false): Tensor {
    return callTensor("amax", this, dim, keepdim);
  }

  amin(dim: number | number[] = [], keepdim = false): Tensor {
    return callTensor("amin", this, dim, keepdim);
  }

  argmax(dim?: number, keepdim = false): Tensor {
    return callTensor("argmax", this, dim, keepdim);
  }

  argmin(dim?: number, keepdim = false): Tensor {
    return callTensor("argmin", this, dim, keepdim);
  }

  logsumexp(dim: number | number[], keepdim = false): Tensor {
    return callTensor("logsumexp", this, dim, keepdim);
  }

  /** The p-norm (default 2) of all elements, or along `dim`. */
  norm(p = 2, dim?: number | number[], keepdim = false): Tensor {
    return callTensor("linalg_vector_norm", this, p, dim, keepdim);
  }

  /** Standard deviation; `unbiased` (default true) divides by N - 1. */
  std(dim?: number | number[], options: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return callTensor("std.dim", this, dim, options.unbiased ?? true, options.keepdim ?? false);
  }

  var(dim?: number | number[], options: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return callTensor("var.dim", this, dim, options.unbiased ?? true, options.keepdim ?? false);
  }

  cumsum(dim: number): Tensor {
    return callTensor("cumsum", this, dim);
  }

  // ---- linear algebra -------------------------------------------------------------------------

  matmul(other: Tensor): Tensor {
    return callTensor("matmul", this, other);
  }

  mm(other: Tensor): Tensor {
    return callTensor("mm", this, other);
  }

  bmm(other: Tensor): Tensor {
    return callTensor("bmm", this, other);
  }

  /** The transpose of a matrix (dims 0 and 1). */
  t(): Tensor {
    return callTensor("t", this);
  }

  // ---- shape ----------------------------------------------------------------------------------

  reshape(shape: number[]): Tensor {
    return callTensor("reshape", this, shape);
  }

  view(shape: number[]): Tensor {
    return callTensor("view", this, shape);
  }

  transpose(dim0: number, dim1: number): Tensor {
    return callTensor("transpose.int", this, dim0, dim1);
  }

  permute(dims: number[]): Tensor {
    return callTensor("permute", this, dims);
  }

  /** `length` elements of `dim` starting at `start` (a view). */
  narrow(dim: number, start: number, length: number): Tensor {
    return callTensor("narrow", this, dim, start, length);
  }

  /** Elements start..end (exclusive) of `dim`, every `step`; start/end may be negative or null. */
  slice(dim: number, start: number | null = null, end: number | null = null, step = 1): Tensor {
    return callTensor("slice.Tensor", this, dim, start, end, step);
  }

  /** Index `index` of `dim`, removing that dimension. */
  select(dim: number, index: number): Tensor {
    return callTensor("select.int", this, dim, index);
  }

  indexSelect(dim: number, index: Tensor): Tensor {
    return callTensor("index_select", this, dim, index);
  }

  /** A copy of this tensor with the slices of `dim` at `index` replaced by those of `source`. */
  indexCopy(dim: number, index: Tensor, source: Tensor): Tensor {
    return callTensor("index_copy", this, dim, index, source);
  }

  /** [n, ndim] int64: the coordinates of the n non-zero elements, in row-major order. */
  nonzero(): Tensor {
    return callTensor("nonzero", this);
  }

  gather(dim: number, index: Tensor): Tensor {
    return callTensor("gather", this, dim, index, false);
  }

  scatter(dim: number, index: Tensor, src: TensorOrNumber): Tensor {
    return typeof src === "number"
      ? callTensor("scatter.value", this, dim, index, src)
      : callTensor("scatter.src", this, dim, index, src);
  }

  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return callTensor("scatter_add", this, dim, index, src);
  }

  /** Advanced indexing: one index tensor (or null for ":") per leading dimension. */
  index(indices: (Tensor | null)[]): Tensor {
    return callTensor("index.Tensor", this, indices);
  }

  maskedSelect(mask: Tensor): Tensor {
    return callTensor("masked_select", this, mask);
  }

  squeeze(dim?: number): Tensor {
    return dim === undefined ? callTensor("squeeze", this) : callTensor("squeeze.dim", this, dim);
  }

  unsqueeze(dim: number): Tensor {
    return callTensor("unsqueeze", this, dim);
  }

  /** Broadcasts to `shape` (-1 keeps a dimension) without copying. */
  expand(shape: number[]): Tensor {
    return callTensor("expand", this, shape, false);
  }

  expandAs(other: Tensor): Tensor {
    return callTensor("expand_as", this, other);
  }

  repeat(repeats: number[]): Tensor {
    return callTensor("repeat", this, repeats);
  }

  /** Repeats each element `repeats` times (or repeats[i] times for element i) along `dim` (default: flattened). */
  repeatInterleave(repeats: number | Tensor, dim?: number): Tensor {
    return typeof repeats === "number"
      ? callTensor("repeat_interleave.self_int", this, repeats, dim)
      : callTensor("repeat_interleave.self_Tensor", this, repeats, dim);
  }

  flatten(startDim = 0, endDim = -1): Tensor {
    return callTensor("flatten.using_ints", this, startDim, endDim);
  }

  /** Splits into pieces of `size` along `dim` (the last may be smaller), or into the given sizes. */
  split(size: number | number[], dim = 0): Tensor[] {
    return typeof size === "number"
      ? callTensors("split.Tensor", this, size, dim)
      : callTensors("split_with_sizes", this, size, dim);
  }

  chunk(chunks: number, dim = 0): Tensor[] {
    return callTensors("chunk", this, chunks, dim);
  }

  unbind(dim = 0): Tensor[] {
    return callTensors("unbind.int", this, dim);
  }

  tril(diagonal = 0): Tensor {
    return callTensor("tril", this, diagonal);
  }

  triu(diagonal = 0): Tensor {
    return callTensor("triu", this, diagonal);
  }

  /** A 1-D tensor's diagonal matrix, or a matrix's diagonal as 1-D. */
  diag(diagonal = 0): Tensor {
    return callTensor("diag", this, diagonal);
  }

  diagonal(offset = 0, dim1 = 0, dim2 = 1): Tensor {
    return callTensor("diagonal", this, offset, dim1, dim2);
  }

  flip(dims: number[]): Tensor {
    return callTensor("flip", this, dims);
  }

  roll(shifts: number | number[], dims: number | number[]): Tensor {
    return callTensor("roll", this, shifts, dims);
  }

  // ---- sorting --------------------------------------------------------------------------------

  topk(k: number, dim = -1, largest = true, sorted = true): ValuesIndices {
    const [values, indices] = callTensors("topk", this, k, dim, largest, sorted);
    return { values: values!, indices: indices! };
  }

  sort(dim = -1, descending = false): ValuesIndices {
    const [values, indices] = callTensors("sort", this, dim, descending);
    return { values: values!, indices: indices! };
  }

  argsort(dim = -1, descending = false): Tensor {
    return callTensor("argsort", this, dim, descending);
  }

  // ---- activations (method forms) -------------------------------------------------------------

  softmax(dim: number): Tensor {
    return callTensor("softmax.int", this, dim);
  }

  logSoftmax(dim: number): Tensor {
    return callTensor("log_softmax.int", this, dim);
  }

  // ---- in place (trailing underscore, like PyTorch) -------------------------------------------

  add_(other: TensorOrNumber, alpha = 1): this {
    if (typeof other === "number") callInPlace("add_.Scalar", this, other, alpha);
    else callInPlace("add_.Tensor", this, other, alpha);
    return this;
  }

  sub_(other: TensorOrNumber, alpha = 1): this {
    if (typeof other === "number") callInPlace("sub_.Scalar", this, other, alpha);
    else callInPlace("sub_.Tensor", this, other, alpha);
    return this;
  }

  mul_(other: TensorOrNumber): this {
    if (typeof other === "number") callInPlace("mul_.Scalar", this, other);
    else callInPlace("mul_.Tensor", this, other);
    return this;
  }

  div_(other: TensorOrNumber): this {
    if (typeof other === "number") callInPlace("div_.Scalar", this, other);
    else callInPlace("div_.Tensor", this, other);
    return this;
  }

  addcmul_(tensor1: Tensor, tensor2: Tensor, value = 1): this {
    callInPlace("addcmul_", this, tensor1, tensor2, value);
    return this;
  }

  addcdiv_(tensor1: Tensor, tensor2: Tensor, value = 1): this {
    callInPlace("addcdiv_", this, tensor1, tensor2, value);
    return this;
  }

  lerp_(end: Tensor, weight: number): this {
    callInPlace("lerp_.Scalar", this, end, weight);
    return this;
  }

  sqrt_(): this {
    callInPlace("sqrt_", this);
    return this;
  }

  clamp_(min: number | null, max: number | null = null): this {
    callInPlace("clamp_", this, min, max);
    return this;
  }

  maskedFill_(mask: Tensor, value: number): this {
    checkBoolMask("maskedFill_", mask);
    callInPlace("masked_fill_.Scalar", this, mask, value);
    return this;
  }

  fill_(value: number): this {
    callInPlace("fill_.Scalar", this, value);
    return this;
  }

  zero_(): this {
    callInPlace("zero_", this);
    return this;
  }

  /** Copies `src` (broadcast, converted) into this tensor. */
  copy_(src: Tensor): this {
    callInPlace("copy_", this, src, false);
    return this;
  }

  uniform_(from = 0, to = 1): this {
    callInPlace("uniform_", this, from, to);
    return this;
  }

  normal_(mean = 0, std = 1): this {
    callInPlace("normal_", this, mean, std);
    return this;
  }

  /** Whether this tensor and `other` view the same memory. */
  sharesMemoryWith(other: Tensor): boolean {
    return native.sameStorage(this.#handle, other.handle);
  }
}

function compare(op: string, self: Tensor, other: TensorOrNumber): Tensor {
  return typeof other === "number" ? callTensor(`${op}.Scalar`, self, other) : callTensor(`${op}.Tensor`, self, other);
}

/** libtorch 1.13's masked_fill silently does nothing with a float mask: insist on bool, as torch 2.x does. */
function checkBoolMask(op: string, mask: Tensor): void {
  const dtype = mask.dtype;
  if (dtype !== "bool") throw new TypeError(`${op}: mask must be a bool tensor, got ${dtype}`);
}

function isDType(value: string): value is DType {
  return (DTYPES as string[]).includes(value);
}

function nest(flat: (number | boolean)[], shape: number[], dim: number, offset: number): unknown {
  if (shape.length === 0) return flat[0];
  const size = shape[dim]!;
  if (dim === shape.length - 1) return flat.slice(offset, offset + size);
  const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
  const out: unknown[] = new Array<unknown>(size);
  for (let i = 0; i < size; i++) out[i] = nest(flat, shape, dim + 1, offset + i * stride);
  return out;
}
