// `stts losses [--data FILE | --dataset ID]`: the loss guide on the command line. Without data it prints
// the table of data formats and losses; with data it reads the columns and the label column and prints
// the losses that fit (the most common choice first) and the conversions that would open up more.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Command } from "commander";
import { hubDatasetFile } from "../hub/datasets.js";
import {
  conversionsForData,
  dataFormat,
  describeLabelProfile,
  detectFormats,
  lossGuideEntries,
  lossGuideRows,
  lossesForData,
  profileDataset,
  type ConversionPath,
  type DataProfile,
  type LossFit,
} from "../losses/guide.js";
import type { DataFormatId } from "../losses/loss-inputs.js";
import type { Dataset } from "../training/dataset.js";
import { positiveInteger, type CliIo } from "./common.js";
import type { DatasetSpec } from "./config.js";
import { loadDataset } from "./train.js";

/** The options of `stts losses`. */
export interface LossesCommandOptions {
  data?: string;
  dataset?: string;
  split?: string;
  revision?: string;
  delimiter?: string;
  columns?: string;
  header?: boolean;
  numericColumns?: string;
  ignoreExtraFields?: boolean;
  select?: string;
  rename?: string;
  limit?: number;
  json?: boolean;
}

/** What `stts losses --data` finds, as `--json` prints it. */
export interface DataReport {
  dataset: DataProfile;
  /** The formats the data matches, the most specific first. */
  formats: DataFormatId[];
  /** The losses that fit, the most common choice first. */
  losses: LossFit[];
  /** The conversions that open more losses, shortest first. */
  conversions: { calls: string[]; to: DataFormatId; opens: string[]; alternative: boolean }[];
}

/** The report on a dataset: its profile, formats, fitting losses and conversions. */
export function dataReport(dataset: Dataset): DataReport {
  const profile = profileDataset(dataset);
  return {
    dataset: profile,
    formats: detectFormats(profile),
    losses: lossesForData(profile),
    conversions: conversionsForData(profile).map((p: ConversionPath) => ({
      calls: p.steps.map((step) => step.call),
      to: p.to,
      opens: p.opens,
      alternative: p.alternative,
    })),
  };
}

// ---- reading the data -------------------------------------------------------------------------------

/** "a,,b" -> ["a", null, "b"]: an empty entry, "-" or "null" drops that field. */
function columnList(value: string): (string | null)[] {
  return value.split(",").map((name) => {
    const trimmed = name.trim();
    return trimmed === "" || trimmed === "-" || trimmed === "null" ? null : trimmed;
  });
}

function nameList(value: string, option: string): string[] {
  const names = value
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  if (names.length === 0) throw new Error(`stts losses: ${option} needs at least one column name`);
  return names;
}

/** "\t", "\\t" and "tab" all mean a tab. */
function delimiterOption(value: string): string {
  return value === "\\t" || value.toLowerCase() === "tab" ? "\t" : value;
}

/** "old=new,old2=new2" */
function renameOption(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of value.split(",")) {
    const [from, to, ...rest] = item.split("=").map((part) => part.trim());
    if (from === undefined || from === "" || to === undefined || to === "" || rest.length > 0) {
      throw new Error(`stts losses: --rename expects old=new pairs separated by commas, got '${item}'`);
    }
    out[from] = to;
  }
  return out;
}

/** The dataset spec of `--data FILE` and the format options (as a config's dataset entry). */
export function dataSpec(file: string, options: LossesCommandOptions): DatasetSpec {
  const resolved = path.resolve(file);
  if (!fs.existsSync(resolved) || !fs.statSync(resolved).isFile()) throw new Error(`stts losses: no such file ${file}`);
  const spec: DatasetSpec = { path: resolved, where: file };
  const lower = resolved.toLowerCase();
  const format = lower.endsWith(".jsonl") ? "JSON Lines" : lower.endsWith(".parquet") ? "Parquet" : null;
  const delimitedOnly = (["delimiter", "columns", "header", "numericColumns", "ignoreExtraFields"] as const).filter(
    (key) => options[key] !== undefined,
  );
  if (format !== null && delimitedOnly.length > 0) {
    throw new Error(`stts losses: ${delimitedOnly.join(", ")} apply to delimited files (.csv, .tsv), not ${format}`);
  }
  if (options.delimiter !== undefined) spec.delimiter = delimiterOption(options.delimiter);
  if (options.columns !== undefined) spec.columns = columnList(options.columns);
  if (options.header !== undefined) spec.header = options.header;
  if (options.numericColumns !== undefined) spec.numericColumns = nameList(options.numericColumns, "--numeric-columns");
  if (options.ignoreExtraFields === true) spec.ignoreExtraFields = true;
  if (options.select !== undefined) spec.select = nameList(options.select, "--select");
  if (options.rename !== undefined) spec.rename = renameOption(options.rename);
  if (options.limit !== undefined) spec.limit = options.limit;
  return spec;
}

// ---- printing ---------------------------------------------------------------------------------------

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join("  "),
    )
    .join("\n");
}

/** The table of `stts losses` without data: each data format, its labels and losses (common choices marked *). */
export function formatLossTable(): string {
  const rows = lossGuideRows();
  const section = (which: "table" | "distillation") =>
    table([
      ["Inputs", "Labels", "Losses (* = the common choice)"],
      ...rows
        .filter((row) => row.format.section === which)
        .map((row) => [
          row.format.inputs,
          row.format.labels,
          row.losses.length > 0
            ? row.losses.map((loss) => `${loss.common ? "*" : ""}${loss.name}`).join(", ")
            : `(convert: ${row.conversions.map((c) => c.call).join(" | ")})`,
        ]),
    ]);
  const modifiers = lossGuideEntries()
    .filter((entry) => entry.category === "modifier")
    .map((entry) => entry.name);
  return [
    "Losses by data format",
    section("table"),
    "",
    "Distillation",
    section("distillation"),
    "",
    `Modifiers (wrap any loss above): ${modifiers.join(", ")}`,
    "",
    "Run `stts losses --data FILE` to see which losses fit a dataset, and docs/losses.md for each loss.",
    "",
  ].join("\n");
}

/** The text `stts losses --data` prints for a report. */
export function formatDataReport(report: DataReport): string {
  const { dataset } = report;
  const lines = [
    `Dataset: ${dataset.name} (${dataset.rows} rows)`,
    `  input columns (${dataset.inputColumns.length}): ${dataset.inputColumns.join(", ") || "none"}`,
    `  labels: ${describeLabelProfile(dataset.label)}`,
  ];
  if (report.formats.length > 0) {
    const [first, ...others] = report.formats.map((id) => {
      const format = dataFormat(id);
      return `${format.inputs}, ${format.labels === "none" ? "no labels" : format.labels}`;
    });
    lines.push(`  format: ${first}`);
    if (others.length > 0) lines.push(`  also reads as: ${others.join("; ")}`);
  } else {
    lines.push("  format: none of the guide's (input columns are every column but label, labels, score or scores)");
  }
  lines.push("");
  if (report.losses.length > 0) {
    lines.push("Losses that fit, the most common choice first:");
    const width = Math.max(...report.losses.map((fit) => fit.name.length));
    report.losses.forEach((fit, i) => {
      const notes = [fit.common ? "common choice" : "", fit.note ?? ""].filter((note) => note !== "").join("; ");
      lines.push(`  ${String(i + 1).padStart(2)}. ${notes === "" ? fit.name : `${fit.name.padEnd(width)}  ${notes}`}`);
    });
    const modifiers = lossGuideEntries()
      .filter((entry) => entry.category === "modifier")
      .map((entry) => entry.name);
    lines.push(
      `  Modifiers that can wrap ${report.losses.length === 1 ? "it" : "any of them"}: ${modifiers.join(", ")}.`,
    );
  } else {
    lines.push("No loss of the library takes this data as it is.");
  }
  lines.push("");
  if (report.conversions.length > 0) {
    lines.push("Conversions that open more losses:");
    report.conversions.forEach((conversion, i) => {
      const next = report.conversions[i + 1];
      lines.push(`  ${conversion.alternative ? "or " : ""}${conversion.calls.join(", then ")}`);
      if (next?.alternative !== true) {
        lines.push(`    -> ${dataFormat(conversion.to).inputs}: ${conversion.opens.join(", ")}`);
      }
    });
  } else {
    lines.push("No conversion of the guide opens more losses for this data.");
  }
  return `${lines.join("\n")}\n`;
}

/** Adds `losses` to the program. */
export function registerLossesCommand(program: Command, io: CliIo): void {
  program
    .command("losses")
    .description(
      "which loss for which data: without data, the table of data formats and losses; with --data or --dataset, " +
        "the losses that fit the dataset (the most common choice first) and the conversions that open more",
    )
    .option("--data <file>", "a .jsonl, .csv or .tsv dataset file (the label column is label, labels, score or scores)")
    .option("--dataset <id>", "a Hugging Face Hub dataset id with .jsonl/.csv/.tsv files (cached or downloaded)")
    .option("--split <name>", "with --dataset: the split's file (default: train, else the first file)")
    .option("--revision <rev>", "with --dataset: a branch, tag or commit (default main)")
    .option(
      "--delimiter <char>",
      "delimited files: the field separator (default ',' for .csv, tab otherwise; 'tab' or \\t for tab)",
    )
    .option(
      "--columns <names>",
      "delimited files: comma-separated column names; an empty entry, '-' or 'null' drops a field",
    )
    .option("--header", "delimited files: the first line is a header (default: yes unless --columns is given)")
    .option("--no-header", "delimited files: the first line is data")
    .option("--numeric-columns <names>", "delimited files: comma-separated columns converted to numbers")
    .option("--ignore-extra-fields", "delimited files: ignore fields past the named columns")
    .option("--select <names>", "keep only these columns, in this order (comma-separated)")
    .option("--rename <old=new,...>", "rename columns (e.g. gold=score to make 'gold' the label column)")
    .option("--limit <n>", "read only the first n rows", positiveInteger)
    .option("--json", "print the report (or the guide's rows) as JSON")
    .action(async (options: LossesCommandOptions) => {
      if (options.data !== undefined && options.dataset !== undefined) {
        throw new Error("stts losses: give --data FILE or --dataset ID, not both");
      }
      if (options.data === undefined && options.dataset === undefined) {
        const formatOptions = (["delimiter", "columns", "numericColumns", "select", "rename", "limit"] as const).filter(
          (key) => options[key] !== undefined,
        );
        if (formatOptions.length > 0) {
          throw new Error(
            `stts losses: ${formatOptions.join(", ")} describe a dataset: give it with --data FILE or --dataset ID`,
          );
        }
        io.stdout(options.json === true ? `${JSON.stringify(lossGuideRows(), null, 2)}\n` : formatLossTable());
        return;
      }
      const file =
        options.data ??
        (await hubDatasetFile(options.dataset!, { split: options.split, revision: options.revision }, (line) =>
          io.stderr(`${line}\n`),
        ));
      const name = options.dataset ?? path.basename(file);
      const dataset = await loadDataset(dataSpec(file, options), name);
      const report = dataReport(dataset);
      io.stdout(options.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatDataReport(report));
    });
}
