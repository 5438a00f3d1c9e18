// Embedding quantization (sentence_transformers.quantization.quantize_embeddings): scalar int8/uint8
// buckets and binary (1 bit per dimension) packing.
import * as torch from "@stts/torch";
import type { Tensor } from "@stts/torch";

/** The precisions `encode` and `quantizeEmbeddings` produce. */
export type EmbeddingPrecision = "float32" | "int8" | "uint8" | "binary" | "ubinary";

/** The supported precisions, for validation and messages. */
export const EMBEDDING_PRECISIONS: readonly EmbeddingPrecision[] = ["float32", "int8", "uint8", "binary", "ubinary"];

/** Embeddings as rows of numbers: Float32Array[], number[][], ... */
export type EmbeddingRows = readonly ArrayLike<number>[];

/** Options of `quantizeEmbeddings` (scalar int8/uint8 only). */
export interface QuantizeOptions {
  /**
   * [min row, max row] per dimension: the range split into 256 buckets. Default: computed from
   * `calibrationEmbeddings`, else from the embeddings themselves (less stable with few rows).
   */
  ranges?: readonly [ArrayLike<number>, ArrayLike<number>] | Tensor;
  /** Embeddings whose per-dimension min/max give the ranges. */
  calibrationEmbeddings?: EmbeddingRows | Tensor;
}

/** The row type each precision gives. */
export type QuantizedRows<P extends EmbeddingPrecision> = P extends "float32"
  ? Float32Array[]
  : P extends "int8" | "binary"
    ? Int8Array[]
    : Uint8Array[];

/**
 * Quantizes float embeddings as the reference's `quantize_embeddings`:
 * - "float32": unchanged (copied);
 * - "int8" / "uint8": per dimension, `starts = ranges[0]`, `steps = (ranges[1] - ranges[0]) / 255`, and
 *   `(x - starts) / steps` (minus 128 for int8) truncated toward zero, in float32 arithmetic as numpy does;
 * - "binary" / "ubinary": 1 bit per dimension (x > 0), packed 8 to a byte most significant bit first
 *   (np.packbits), minus 128 as int8 for "binary".
 *
 * Differences from the reference, where it has undefined behaviour: values outside the ranges are clamped
 * to the type's range instead of wrapping; a dimension whose range is empty maps to the lowest bucket;
 * binary rows are packed per row, which equals np.packbits on the flattened array when dim % 8 == 0 (the
 * reference fails otherwise).
 *
 * @example
 * const rows = quantizeEmbeddings([[0.1, -0.2], [0.3, 0.4]], "int8"); // [Int8Array [-128, -128], Int8Array [127, 127]]
 *
 * @param embeddings [n, dim] as rows or a tensor (a tensor gives an int8/uint8/float32 tensor back)
 * @param precision one of EMBEDDING_PRECISIONS
 * @param options ranges or calibrationEmbeddings for int8/uint8
 */
export function quantizeEmbeddings(
  embeddings: Tensor,
  precision: EmbeddingPrecision,
  options?: QuantizeOptions,
): Tensor;
export function quantizeEmbeddings<P extends EmbeddingPrecision>(
  embeddings: EmbeddingRows,
  precision: P,
  options?: QuantizeOptions,
): QuantizedRows<P>;
export function quantizeEmbeddings(
  embeddings: EmbeddingRows | Tensor,
  precision: EmbeddingPrecision,
  options: QuantizeOptions = {},
): Tensor | Float32Array[] | Int8Array[] | Uint8Array[] {
  if (!EMBEDDING_PRECISIONS.includes(precision)) {
    throw new Error(
      `quantizeEmbeddings: precision '${precision}' is not supported (expected one of ${EMBEDDING_PRECISIONS.join(", ")})`,
    );
  }
  if (embeddings instanceof torch.Tensor) {
    if (embeddings.ndim !== 2) {
      throw new RangeError(`quantizeEmbeddings: embeddings must be [n, dim], got [${embeddings.shape.join(", ")}]`);
    }
    if (!embeddings.isFloatingPoint) {
      throw new TypeError(`quantizeEmbeddings: embeddings must be floating point, got ${embeddings.dtype}`);
    }
    const rows = quantizeRows(tensorRows(embeddings), precision, options);
    return rowsToTensor(
      rows,
      precision === "float32" ? "float32" : precision === "int8" || precision === "binary" ? "int8" : "uint8",
    );
  }
  return quantizeRows(embeddings, precision, options);
}

function quantizeRows(
  rows: EmbeddingRows,
  precision: EmbeddingPrecision,
  options: QuantizeOptions,
): Float32Array[] | Int8Array[] | Uint8Array[] {
  for (const row of rows) {
    if (row instanceof Int8Array || row instanceof Uint8Array) {
      throw new TypeError("quantizeEmbeddings: embeddings must be float rather than int8 or uint8");
    }
  }
  switch (precision) {
    case "float32":
      return rows.map((row) => Float32Array.from(row));
    case "int8":
    case "uint8":
      return scalarQuantize(rows, precision, options);
    case "binary":
      return rows.map((row) => Int8Array.from(packBits(row), (byte) => byte - 128));
    case "ubinary":
      return rows.map((row) => packBits(row));
  }
}

function scalarQuantize(
  rows: EmbeddingRows,
  precision: "int8" | "uint8",
  options: QuantizeOptions,
): Int8Array[] | Uint8Array[] {
  const dim = rows[0]?.length ?? 0;
  const [mins, maxs] = resolveRanges(rows, options, dim);
  const starts = Float32Array.from(mins);
  const steps = Float32Array.from(maxs, (max, i) => Math.fround(Math.fround(max - starts[i]!) / 255));
  const offset = precision === "int8" ? 128 : 0;
  const [low, high] = precision === "int8" ? [-128, 127] : [0, 255];
  const quantize = (row: ArrayLike<number>) =>
    Array.from({ length: dim }, (_, i) => {
      const scaled = Math.fround(Math.fround(Math.fround(row[i]!) - starts[i]!) / steps[i]!);
      const value = Math.trunc(Math.fround(scaled - offset));
      return Number.isNaN(value) ? low : Math.min(high, Math.max(low, value));
    });
  return precision === "int8"
    ? rows.map((row) => Int8Array.from(quantize(row)))
    : rows.map((row) => Uint8Array.from(quantize(row)));
}

/** [mins, maxs] per dimension from the options or the embeddings. */
function resolveRanges(
  rows: EmbeddingRows,
  options: QuantizeOptions,
  dim: number,
): [ArrayLike<number>, ArrayLike<number>] {
  let ranges: [ArrayLike<number>, ArrayLike<number>];
  if (options.ranges !== undefined) {
    const given = options.ranges;
    ranges = given instanceof torch.Tensor ? (tensorRows(given) as [Float32Array, Float32Array]) : [given[0], given[1]];
    if (ranges.length !== 2)
      throw new RangeError(`quantizeEmbeddings: ranges must be [2, dim], got ${ranges.length} rows`);
  } else {
    const calibration = options.calibrationEmbeddings;
    const source =
      calibration === undefined ? rows : calibration instanceof torch.Tensor ? tensorRows(calibration) : calibration;
    if (source.length === 0) throw new RangeError("quantizeEmbeddings: no embeddings to compute the ranges from");
    const mins = Float32Array.from(source[0]!);
    const maxs = Float32Array.from(source[0]!);
    for (const row of source) {
      for (let i = 0; i < dim; i++) {
        mins[i] = Math.min(mins[i]!, row[i]!);
        maxs[i] = Math.max(maxs[i]!, row[i]!);
      }
    }
    ranges = [mins, maxs];
  }
  for (const [r, name] of [
    [ranges[0], "ranges[0]"],
    [ranges[1], "ranges[1]"],
  ] as const) {
    if (r.length !== dim)
      throw new RangeError(`quantizeEmbeddings: ${name} has ${r.length} values, expected ${dim} (the dimension)`);
  }
  return ranges;
}

/** np.packbits(row > 0): 8 dimensions per byte, the first one in the most significant bit, zero-padded. */
function packBits(row: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(Math.ceil(row.length / 8));
  for (let i = 0; i < row.length; i++) if (row[i]! > 0) out[i >> 3]! |= 0x80 >> (i & 7);
  return out;
}

/** A float tensor [n, dim] as float32 rows. */
function tensorRows(tensor: Tensor): Float32Array[] {
  const [n, dim] = tensor.shape as [number, number];
  const flat = torch.scope(() => tensor.detach().to("cpu").float().contiguous().toTypedArray()) as Float32Array;
  return Array.from({ length: n }, (_, i) => flat.slice(i * dim, (i + 1) * dim));
}

/** Rows of equal length -> a [n, dim] tensor of `dtype`. */
export function rowsToTensor(rows: readonly ArrayLike<number>[], dtype: "float32" | "int8" | "uint8"): Tensor {
  const dim = rows[0]?.length ?? 0;
  const flat =
    dtype === "float32"
      ? new Float32Array(rows.length * dim)
      : dtype === "int8"
        ? new Int8Array(rows.length * dim)
        : new Uint8Array(rows.length * dim);
  rows.forEach((row, i) => flat.set(row, i * dim));
  return torch.fromTypedArray(flat, { shape: [rows.length, dim] });
}
