// Parquet files as datasets, read with hyparquet (pure JavaScript, no native code).
import { basename } from "node:path";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { Dataset, DatasetError, type DatasetRecord, type DatasetValue } from "./dataset.js";

/**
 * Reads a Parquet file (e.g. a Hugging Face Hub dataset's `data/train-00000-of-00001.parquet`) into a
 * Dataset, columns in the file's order. Strings, numbers, booleans and lists of numbers (teacher
 * embeddings) are supported; 64-bit integers become numbers (an error when beyond 2^53); other
 * types are rejected naming the row and column.
 *
 * @example
 * const train = await loadParquet("data/train-00000-of-00001.parquet", { columns: ["anchor", "positive"] });
 *
 * @param path the .parquet file
 * @param options columns (default all, in file order), name (default the file's base name)
 */
export async function loadParquet(path: string, options: { columns?: string[]; name?: string } = {}): Promise<Dataset> {
  const name = options.name ?? basename(path);
  let rows: Record<string, unknown>[];
  try {
    const file = await asyncBufferFromFile(path);
    rows = (await parquetReadObjects({ file, columns: options.columns })) as Record<string, unknown>[];
  } catch (error) {
    throw new DatasetError(`dataset '${name}' (${path}): cannot read Parquet: ${(error as Error).message}`);
  }
  const records = rows.map((row, i) => {
    const record: DatasetRecord = {};
    for (const [column, value] of Object.entries(row)) {
      record[column] = toDatasetValue(value, `dataset '${name}' (${path}), row ${i + 1}, column '${column}'`);
    }
    return record;
  });
  return Dataset.fromRecords(records, name);
}

function toDatasetValue(value: unknown, where: string): DatasetValue {
  if (value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
    return value;
  }
  if (typeof value === "bigint") {
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new DatasetError(`${where}: integer ${value} does not fit a JavaScript number exactly`);
    }
    return Number(value);
  }
  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    const items = Array.from(value as ArrayLike<unknown>, (item) => (typeof item === "bigint" ? Number(item) : item));
    if (items.every((item) => typeof item === "number")) return items as number[];
  }
  throw new DatasetError(
    `${where}: unsupported value ${describe(value)} (expected a string, a number, a boolean or a list of numbers)`,
  );
}

function describe(value: unknown): string {
  const text = JSON.stringify(value, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
