// Creating tensors: from JS data, filled, ranges, random.
import { native } from "../native.js";
import { dtypeCode, dtypeOfTypedArray, type DType } from "../dtype.js";
import { Tensor, type NestedArray } from "../tensor.js";
import { callTensor } from "./dispatch.js";

export interface TensorOptions {
  /** Default float32 (int64 for randint and integer arange). */
  dtype?: DType;
  /** Default "cpu". */
  device?: string;
  requiresGrad?: boolean;
}

export interface FromTypedArrayOptions extends TensorOptions {
  /** Default [array.length]. */
  shape?: number[];
}

function finish(t: Tensor, options: TensorOptions): Tensor {
  let out = t;
  if (options.device !== undefined && options.device !== "cpu") {
    try {
      out = t.to(options.device);
    } finally {
      t.dispose();
    }
  }
  return withGrad(out, options);
}

function factoryArgs(options: TensorOptions): [number | undefined, undefined, string | undefined] {
  return [options.dtype === undefined ? undefined : dtypeCode(options.dtype), undefined, options.device];
}

/** Sets requiresGrad if asked; frees `t` when that fails (an integer dtype cannot require gradients). */
function withGrad(t: Tensor, options: TensorOptions): Tensor {
  if (options.requiresGrad === true) {
    try {
      t.requiresGrad = true;
    } catch (error) {
      t.dispose();
      throw error;
    }
  }
  return t;
}

/**
 * A tensor from a number, a boolean, nested arrays of them, or a TypedArray.
 * Numbers default to float32 (unlike Python's torch.tensor, which makes int64 from integer
 * literals: in JavaScript 1 and 1.0 are the same value); booleans give bool; a TypedArray keeps
 * its own dtype unless `dtype` is given.
 *
 * @example
 * torch.tensor([[1, 2], [3, 4]], { dtype: "float64", requiresGrad: true })
 */
export function tensor(
  data: NestedArray<number> | NestedArray<boolean> | ArrayBufferView,
  options: TensorOptions = {},
): Tensor {
  if (ArrayBuffer.isView(data)) return fromTypedArray(data, options);
  if (options.dtype !== undefined) dtypeCode(options.dtype);
  const shape: number[] = [];
  let probe: unknown = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const isBool = typeof probe === "boolean";
  const numel = shape.reduce((a, b) => a * b, 1);
  const flat = isBool ? new Uint8Array(numel) : new Float64Array(numel);
  let offset = 0;
  const fill = (value: unknown, dim: number, path: string): void => {
    if (dim === shape.length) {
      if (isBool ? typeof value !== "boolean" : typeof value !== "number") {
        throw new TypeError(
          `tensor(): element data${path} is ${JSON.stringify(value)}, expected a ${isBool ? "boolean" : "number"}`,
        );
      }
      flat[offset++] = Number(value);
      return;
    }
    if (!Array.isArray(value) || value.length !== shape[dim]) {
      throw new TypeError(
        `tensor(): data${path} has ${Array.isArray(value) ? `length ${value.length}` : "no array"}, expected an array of length ${shape[dim]} (nested arrays must be rectangular)`,
      );
    }
    for (let i = 0; i < value.length; i++) fill(value[i], dim + 1, `${path}[${i}]`);
  };
  fill(data, 0, "");
  const dtype = options.dtype ?? (isBool ? "bool" : "float32");
  const raw = new Tensor(native.fromBuffer(flat, isBool ? dtypeCode("bool") : dtypeCode("float64"), shape));
  let out = raw;
  if (raw.dtype !== dtype) {
    out = raw.to(dtype);
    raw.dispose();
  }
  return finish(out, options);
}

/** Throws unless `shape` is an array of non-negative integers. */
function checkShape(shape: number[], fn: string): void {
  if (!Array.isArray(shape) || !shape.every((n) => Number.isInteger(n) && n >= 0)) {
    throw new TypeError(`${fn}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
}

/**
 * A tensor holding a copy of a TypedArray's elements. A Uint8Array with dtype "bool" gives bool, and a
 * Uint16Array with dtype "float16" or "bfloat16" is read as raw bits (what toTypedArray returns for them).
 */
export function fromTypedArray(data: ArrayBufferView, options: FromTypedArrayOptions = {}): Tensor {
  if (options.dtype !== undefined) dtypeCode(options.dtype);
  const natural =
    options.dtype === "bool" && data instanceof Uint8Array
      ? "bool"
      : (options.dtype === "float16" || options.dtype === "bfloat16") && data instanceof Uint16Array
        ? options.dtype
        : dtypeOfTypedArray(data);
  const length = data.byteLength / (data as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  const shape = options.shape ?? [length];
  checkShape(shape, "fromTypedArray");
  const raw = new Tensor(native.fromBuffer(data, dtypeCode(natural), shape));
  let out = raw;
  if (options.dtype !== undefined && options.dtype !== natural) {
    out = raw.to(options.dtype);
    raw.dispose();
  }
  return finish(out, options);
}

/** A tensor over raw little-endian bytes of a dtype (float16/bfloat16 included), e.g. from a file. */
export function fromBytes(bytes: Uint8Array, dtype: DType, shape: number[]): Tensor {
  checkShape(shape, "fromBytes");
  return new Tensor(native.fromBuffer(bytes, dtypeCode(dtype), shape));
}

export function scalarTensor(value: number, options: TensorOptions = {}): Tensor {
  return withGrad(callTensor("scalar_tensor", value, ...factoryArgs(options)), options);
}

export function zeros(shape: number[], options: TensorOptions = {}): Tensor {
  return withGrad(callTensor("zeros", shape, ...factoryArgs(options)), options);
}

export function ones(shape: number[], options: TensorOptions = {}): Tensor {
  return withGrad(callTensor("ones", shape, ...factoryArgs(options)), options);
}

export function full(shape: number[], value: number, options: TensorOptions = {}): Tensor {
  return withGrad(
    callTensor("full", shape, value, ...factoryArgs({ ...options, dtype: options.dtype ?? "float32" })),
    options,
  );
}

export function empty(shape: number[], options: TensorOptions = {}): Tensor {
  return withGrad(callTensor("empty.memory_format", shape, ...factoryArgs(options)), options);
}

/** The identity matrix (n x m, m defaults to n). */
export function eye(n: number, m = n, options: TensorOptions = {}): Tensor {
  return withGrad(callTensor("eye.m", n, m, ...factoryArgs(options)), options);
}

/** Values from start (inclusive) to end (exclusive) by step; arange(5) is 0..4. Integer arguments give int64. */
export function arange(start: number, end?: number, step = 1, options: TensorOptions = {}): Tensor {
  const [from, to] = end === undefined ? [0, start] : [start, end];
  return withGrad(callTensor("arange.start_step", from, to, step, ...factoryArgs(options)), options);
}

export function linspace(start: number, end: number, steps: number, options: TensorOptions = {}): Tensor {
  return withGrad(callTensor("linspace", start, end, steps, ...factoryArgs(options)), options);
}

/** Standard normal samples from the default generator (seed it with manualSeed). */
export function randn(shape: number[], options: TensorOptions = {}): Tensor {
  return withGrad(callTensor("randn", shape, ...factoryArgs(options)), options);
}

/** Uniform samples in [0, 1). */
export function rand(shape: number[], options: TensorOptions = {}): Tensor {
  return withGrad(callTensor("rand", shape, ...factoryArgs(options)), options);
}

/** Integers uniform in [low, high), int64 unless `dtype` says otherwise. */
export function randint(low: number, high: number, shape: number[], options: TensorOptions = {}): Tensor {
  return callTensor("randint.low", low, high, shape, ...factoryArgs({ ...options, dtype: options.dtype ?? "int64" }));
}

/** A random permutation of 0..n-1 (int64). */
export function randperm(n: number, options: TensorOptions = {}): Tensor {
  return callTensor("randperm", n, ...factoryArgs({ ...options, dtype: options.dtype ?? "int64" }));
}

function likeArgs(like: Tensor, options: TensorOptions): [number, undefined, string] {
  return [dtypeCode(options.dtype ?? like.dtype), undefined, options.device ?? like.device];
}

export function zerosLike(like: Tensor, options: TensorOptions = {}): Tensor {
  return withGrad(callTensor("zeros", like.shape, ...likeArgs(like, options)), options);
}

export function onesLike(like: Tensor, options: TensorOptions = {}): Tensor {
  return withGrad(callTensor("ones", like.shape, ...likeArgs(like, options)), options);
}

export function fullLike(like: Tensor, value: number, options: TensorOptions = {}): Tensor {
  return withGrad(callTensor("full", like.shape, value, ...likeArgs(like, options)), options);
}

export function emptyLike(like: Tensor, options: TensorOptions = {}): Tensor {
  return withGrad(callTensor("empty.memory_format", like.shape, ...likeArgs(like, options)), options);
}

export function randnLike(like: Tensor, options: TensorOptions = {}): Tensor {
  return withGrad(callTensor("randn", like.shape, ...likeArgs(like, options)), options);
}

export function randLike(like: Tensor, options: TensorOptions = {}): Tensor {
  return withGrad(callTensor("rand", like.shape, ...likeArgs(like, options)), options);
}
