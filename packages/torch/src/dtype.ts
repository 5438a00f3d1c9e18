// Data types and their libtorch ScalarType codes (stable across libtorch 1.13 - 2.x).

export type DType =
  "float32" | "float64" | "float16" | "bfloat16" | "int64" | "int32" | "int16" | "int8" | "uint8" | "bool";

const CODES: Record<DType, number> = {
  uint8: 0,
  int8: 1,
  int16: 2,
  int32: 3,
  int64: 4,
  float16: 5,
  float32: 6,
  float64: 7,
  bool: 11,
  bfloat16: 15,
};

const NAMES = new Map<number, DType>(Object.entries(CODES).map(([name, code]) => [code, name as DType]));

export const DTYPES = Object.keys(CODES) as DType[];

/** Bytes per element. */
export const ITEM_SIZE: Record<DType, number> = {
  uint8: 1,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  float16: 2,
  float32: 4,
  float64: 8,
  bool: 1,
  bfloat16: 2,
};

export function dtypeCode(dtype: DType, argument = "dtype"): number {
  // hasOwn: names inherited from Object.prototype ("constructor", "toString") are not dtypes.
  const code = Object.hasOwn(CODES, dtype) ? CODES[dtype] : undefined;
  if (code === undefined) {
    throw new TypeError(`${argument}: unknown dtype '${String(dtype)}', expected one of ${DTYPES.join(", ")}`);
  }
  return code;
}

export function dtypeFromCode(code: number): DType {
  const name = NAMES.get(code);
  if (name === undefined) throw new TypeError(`unsupported libtorch ScalarType code ${code}`);
  return name;
}

export function isFloatingPoint(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64" || dtype === "float16" || dtype === "bfloat16";
}

/** The TypedArray a dtype reads back into (float16/bfloat16 come back as raw Uint16 bits). */
export type TypedArray =
  Float32Array | Float64Array | Int32Array | BigInt64Array | Int16Array | Int8Array | Uint8Array | Uint16Array;

export function typedArrayOf(dtype: DType, buffer: ArrayBuffer): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(buffer);
    case "float64":
      return new Float64Array(buffer);
    case "int32":
      return new Int32Array(buffer);
    case "int64":
      return new BigInt64Array(buffer);
    case "int16":
      return new Int16Array(buffer);
    case "int8":
      return new Int8Array(buffer);
    case "uint8":
    case "bool":
      return new Uint8Array(buffer);
    case "float16":
    case "bfloat16":
      return new Uint16Array(buffer);
  }
}

/** The dtype a TypedArray holds, used when creating a tensor from one. */
export function dtypeOfTypedArray(array: ArrayBufferView): DType {
  if (array instanceof Float32Array) return "float32";
  if (array instanceof Float64Array) return "float64";
  if (array instanceof Int32Array) return "int32";
  if (array instanceof BigInt64Array) return "int64";
  if (array instanceof Int16Array) return "int16";
  if (array instanceof Int8Array) return "int8";
  if (array instanceof Uint8Array) return "uint8";
  throw new TypeError(
    `cannot infer a dtype from ${array.constructor.name}; use Float32Array, Float64Array, Int32Array, BigInt64Array, Int16Array, Int8Array or Uint8Array`,
  );
}
