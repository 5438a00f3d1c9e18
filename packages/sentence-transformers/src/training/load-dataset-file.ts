// A dataset file of any format the library reads, chosen by its extension.
import { loadDelimited, loadJsonl, type Dataset, type DelimitedOptions } from "./dataset.js";
import { loadParquet } from "./parquet.js";

/**
 * Loads a dataset file by its extension: `.parquet` (loadParquet), `.jsonl` (loadJsonl), anything else as
 * delimited text (loadDelimited: "," for .csv, a tab otherwise, unless `options.delimiter` says). The
 * delimited options apply to delimited files only.
 *
 * @example
 * const train = await loadDatasetFile("data/train-00000-of-00001.parquet", { name: "all-nli" });
 *
 * @param path the file
 * @param options name (default the file's base name), and for delimited files delimiter, columns, header,
 *   numericColumns, ignoreExtraFields
 */
export async function loadDatasetFile(path: string, options: DelimitedOptions = {}): Promise<Dataset> {
  const lower = path.toLowerCase();
  if (lower.endsWith(".parquet")) return loadParquet(path, { name: options.name });
  if (lower.endsWith(".jsonl")) return loadJsonl(path, { name: options.name });
  return loadDelimited(path, options);
}
