// Datasets for training and evaluation: named columns of texts and labels, loaded from files or records.
//
// sentence-transformers' convention: a column named `label`, `labels`, `score` or `scores` is the
// label; every other column is an input, in column order, whatever its name.
import { readFileSync } from "node:fs";
import { basename } from "node:path";

/** One cell: a text, a number (label/score), or an array of numbers (teacher embeddings, margins). */
export type DatasetValue = string | number | boolean | number[] | null;

/** One row, by column name. */
export type DatasetRecord = Record<string, DatasetValue>;

/** The column names treated as labels, in order of preference. */
export const LABEL_COLUMN_NAMES = ["label", "labels", "score", "scores"] as const;

/** Thrown for malformed data: names the dataset, the row (1-based, as in the file) and the column. */
export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DatasetError";
  }
}

/**
 * A table of columns, in order. Immutable: helpers return new datasets sharing the values.
 *
 * @example
 * const train = Dataset.fromRecords([{ anchor: "a cat", positive: "a kitten" }], "pairs");
 * train.inputColumns; // ["anchor", "positive"]
 */
export class Dataset {
  /** For error messages and the model card. */
  readonly name: string;
  readonly columnNames: readonly string[];
  readonly #columns: ReadonlyMap<string, readonly DatasetValue[]>;
  readonly length: number;

  /**
   * @param columns column name -> values (all the same length), in column order
   * @param name used in error messages and the model card (default "dataset")
   */
  constructor(columns: Map<string, DatasetValue[]> | Record<string, DatasetValue[]>, name = "dataset") {
    const entries = columns instanceof Map ? [...columns.entries()] : Object.entries(columns);
    this.name = name;
    this.columnNames = entries.map(([column]) => column);
    this.#columns = new Map(entries);
    const lengths = new Set(entries.map(([, values]) => values.length));
    if (lengths.size > 1) {
      const detail = entries.map(([column, values]) => `${column}: ${values.length}`).join(", ");
      throw new DatasetError(`dataset '${name}': columns have different lengths (${detail})`);
    }
    this.length = entries[0]?.[1].length ?? 0;
  }

  /** Builds a dataset from rows; every row must have the first row's columns. */
  static fromRecords(records: readonly DatasetRecord[], name = "dataset", rowNumber = (i: number) => i + 1): Dataset {
    const first = records[0];
    if (first === undefined) return new Dataset(new Map(), name);
    const columnNames = Object.keys(first);
    const columns = new Map<string, DatasetValue[]>(columnNames.map((column) => [column, []]));
    records.forEach((record, i) => {
      for (const column of columnNames) {
        if (!(column in record)) {
          throw new DatasetError(
            `dataset '${name}', row ${rowNumber(i)}: missing column '${column}' (columns of the first row: ${columnNames.join(", ")})`,
          );
        }
        columns.get(column)!.push(record[column] as DatasetValue);
      }
      const extra = Object.keys(record).filter((column) => !columns.has(column));
      if (extra.length > 0) {
        throw new DatasetError(
          `dataset '${name}', row ${rowNumber(i)}: unexpected column(s) ${extra.join(", ")} (columns of the first row: ${columnNames.join(", ")})`,
        );
      }
    });
    return new Dataset(columns, name);
  }

  /** The values of one column. */
  column(name: string): readonly DatasetValue[] {
    const values = this.#columns.get(name);
    if (values === undefined) {
      throw new DatasetError(`dataset '${this.name}': no column '${name}' (columns: ${this.columnNames.join(", ")})`);
    }
    return values;
  }

  /** Row `index` (0-based) as a record. */
  row(index: number): DatasetRecord {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`dataset '${this.name}': row index ${index} out of range [0, ${this.length})`);
    }
    const out: DatasetRecord = {};
    for (const [column, values] of this.#columns) out[column] = values[index]!;
    return out;
  }

  *[Symbol.iterator](): IterableIterator<DatasetRecord> {
    for (let i = 0; i < this.length; i++) yield this.row(i);
  }

  /** The label column (`label`, `labels`, `score` or `scores`), or null when there is none. */
  get labelColumn(): string | null {
    return LABEL_COLUMN_NAMES.find((name) => this.#columns.has(name)) ?? null;
  }

  /** Every column but the label, in order: the loss's input columns. */
  get inputColumns(): string[] {
    const label = this.labelColumn;
    return this.columnNames.filter((column) => column !== label);
  }

  /** A dataset of the given rows, in that order. */
  select(indices: readonly number[]): Dataset {
    for (const i of indices) {
      if (!Number.isInteger(i) || i < 0 || i >= this.length) {
        throw new RangeError(`dataset '${this.name}': select() index ${i} out of range [0, ${this.length})`);
      }
    }
    return this.#map((values) => indices.map((i) => values[i]!));
  }

  /** A dataset with only these columns, in this order. */
  selectColumns(names: readonly string[]): Dataset {
    return new Dataset(new Map(names.map((name) => [name, [...this.column(name)]])), this.name);
  }

  removeColumns(names: readonly string[]): Dataset {
    for (const name of names) this.column(name); // validates
    return this.selectColumns(this.columnNames.filter((column) => !names.includes(column)));
  }

  /** Renames columns (old -> new); the order stays. */
  renameColumns(mapping: Record<string, string>): Dataset {
    for (const name of Object.keys(mapping)) this.column(name);
    const renamed = this.columnNames.map((column) => mapping[column] ?? column);
    const duplicate = renamed.find((column, i) => renamed.indexOf(column) !== i);
    if (duplicate !== undefined) {
      throw new DatasetError(`dataset '${this.name}': renaming gives two columns named '${duplicate}'`);
    }
    return new Dataset(
      new Map(this.columnNames.map((column, i) => [renamed[i]!, [...this.column(column)]])),
      this.name,
    );
  }

  renameColumn(from: string, to: string): Dataset {
    return this.renameColumns({ [from]: to });
  }

  /** A copy under another name. */
  withName(name: string): Dataset {
    return new Dataset(new Map(this.columnNames.map((column) => [column, [...this.column(column)]])), name);
  }

  /** The first `n` rows. */
  take(n: number): Dataset {
    return this.select(Array.from({ length: Math.min(n, this.length) }, (_, i) => i));
  }

  #map(fn: (values: readonly DatasetValue[]) => DatasetValue[]): Dataset {
    return new Dataset(new Map(this.columnNames.map((column) => [column, fn(this.column(column))])), this.name);
  }
}

/** Options of the delimited-text loader. */
export interface DelimitedOptions {
  /** Field separator (default "," for .csv, "\t" for .tsv and others). */
  delimiter?: string;
  /**
   * Column names, when the file has no header line; with a header, renames the columns in order.
   * Use `null` entries to drop a field (e.g. STS-B's genre/filename/year/id columns).
   */
  columns?: (string | null)[];
  /** Whether the first line is a header (default true unless `columns` is given). */
  header?: boolean;
  /** Fields whose values are numbers: converted, with an error naming the row on failure. */
  numericColumns?: string[];
  /** Ignore fields past the named ones (STS-B has rows with trailing attribution fields). Default false. */
  ignoreExtraFields?: boolean;
  /** Dataset name (default the file's base name). */
  name?: string;
}

/**
 * Reads delimited text by splitting lines on the delimiter: no quote handling, so a `"` inside a
 * sentence stays as it is (quote-aware CSV parsers corrupt STS-B and SICK). Every row must have
 * the same number of fields as the header (or `columns`).
 */
export function loadDelimited(path: string, options: DelimitedOptions = {}): Dataset {
  const name = options.name ?? basename(path);
  const delimiter = options.delimiter ?? (path.endsWith(".csv") ? "," : "\t");
  const text = readFileSync(path, "utf8");
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  const hasHeader = options.header ?? options.columns === undefined;
  const headerFields = hasHeader ? (lines[0] ?? "").split(delimiter) : null;
  const names = options.columns ?? headerFields;
  if (names === null || names.length === 0) throw new DatasetError(`dataset '${name}' (${path}): empty file`);
  const numeric = new Set(options.numericColumns ?? []);
  for (const column of numeric) {
    if (!names.includes(column)) {
      throw new DatasetError(
        `dataset '${name}' (${path}): numericColumns names '${column}', which is not a column (${names.join(", ")})`,
      );
    }
  }
  const records: DatasetRecord[] = [];
  const lineNumbers: number[] = [];
  const first = hasHeader ? 1 : 0;
  for (let i = first; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    const fields = line.split(delimiter);
    if (fields.length < names.length || (fields.length > names.length && options.ignoreExtraFields !== true)) {
      throw new DatasetError(
        `dataset '${name}' (${path}), line ${i + 1}: ${fields.length} fields, expected ${names.length} (${names.map(String).join(", ")})` +
          (fields.length > names.length ? "; pass ignoreExtraFields: true to drop trailing fields" : ""),
      );
    }
    const record: DatasetRecord = {};
    names.forEach((column, k) => {
      if (column === null) return;
      const raw = fields[k]!;
      record[column] = numeric.has(column)
        ? parseNumber(raw, `dataset '${name}' (${path}), line ${i + 1}, column '${column}'`)
        : raw;
    });
    records.push(record);
    lineNumbers.push(i + 1);
  }
  return Dataset.fromRecords(records, name, (i) => lineNumbers[i]!);
}

/** Reads JSON Lines: one object per line, every line with the first line's keys. */
export function loadJsonl(path: string, options: { name?: string } = {}): Dataset {
  const name = options.name ?? basename(path);
  const records: DatasetRecord[] = [];
  const lineNumbers: number[] = [];
  readFileSync(path, "utf8")
    .split(/\r?\n/)
    .forEach((line, i) => {
      if (line.trim() === "") return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw new DatasetError(
          `dataset '${name}' (${path}), line ${i + 1}: invalid JSON (${(error as Error).message})`,
        );
      }
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new DatasetError(
          `dataset '${name}' (${path}), line ${i + 1}: expected a JSON object, got ${JSON.stringify(value).slice(0, 60)}`,
        );
      }
      records.push(value as DatasetRecord);
      lineNumbers.push(i + 1);
    });
  return Dataset.fromRecords(records, name, (i) => lineNumbers[i]!);
}

function parseNumber(raw: string, where: string): number {
  const value = raw.trim() === "" ? Number.NaN : Number(raw);
  if (!Number.isFinite(value)) throw new DatasetError(`${where}: '${raw}' is not a number`);
  return value;
}
