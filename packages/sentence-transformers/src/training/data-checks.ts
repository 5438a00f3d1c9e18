// Checks run before the first training step: every (dataset, loss) pair must fit the loss's declared
// input columns and label kind, and every row must hold what the loss will be fed. A mistake stops
// training with a message naming the dataset, the row and the column, not a shape error at step 1000.
import type { Dataset, DatasetValue } from "./dataset.js";
import { conversionToLoss, dataFormat, describePath, lossesForData, type LossClass } from "../losses/guide.js";
import { Loss } from "../losses/loss.js";
import { describeExpectation, type LabelKind, type LossInputSpec } from "../losses/loss-inputs.js";

/** Thrown when a dataset does not fit its loss or holds a malformed row. */
export class TrainingDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainingDataError";
  }
}

/** A loss's effective input spec: a modifier's ("inner") is its wrapped loss's. */
export interface ResolvedLossSpec extends LossInputSpec {
  /** "MatryoshkaLoss(MultipleNegativesRankingLoss)" for a modifier, else the class name. */
  readonly lossName: string;
  /** Never "inner". */
  readonly labelKind: Exclude<LabelKind, "inner">;
}

/** The loss's static inputColumns/labelKind (through modifiers), or null for a loss that declares none. */
export function resolveLossSpec(loss: Loss): ResolvedLossSpec | null {
  const spec = loss.constructor as unknown as Partial<LossInputSpec>;
  const name = loss.constructor.name;
  if (spec.inputColumns === undefined || spec.labelKind === undefined) return null;
  if (spec.labelKind !== "inner") {
    return { lossName: name, inputColumns: spec.inputColumns, labelKind: spec.labelKind };
  }
  const inner = (loss as unknown as { loss?: unknown }).loss;
  if (!(inner instanceof Loss)) return null;
  const resolved = resolveLossSpec(inner);
  return resolved === null ? null : { ...resolved, lossName: `${name}(${resolved.lossName})` };
}

/** One dataset with the loss it trains (or is evaluated) with. */
export interface DataCheckTarget {
  /** The dataset's name in messages (its key in a record of datasets). */
  name: string;
  dataset: Dataset;
  loss: Loss;
  /** "train" or "eval": eval datasets are called "eval dataset 'x'" in messages. */
  split: "train" | "eval";
}

const SCALAR_KINDS = new Set<LabelKind>(["class", "binary", "score", "teacher_margins"]);
const VECTOR_KINDS = new Set<LabelKind>(["teacher_embeddings", "teacher_scores"]);

/**
 * Checks each target, throwing a TrainingDataError on the first problem: an empty dataset; a column
 * count or label kind the loss does not take (the message says what the loss expects, what the
 * dataset has, the losses that would fit it and, where one exists, the conversion that makes it fit
 * the loss: see losses/guide.ts); a null cell; an input that is not a string; a label that is not a
 * number (or a vector of numbers, for teacher labels). Row numbers are 0-based (as `dataset.row(i)`).
 * Losses that declare no static inputColumns/labelKind get the data checks only, and one line through `log`.
 */
export function checkTrainingData(targets: readonly DataCheckTarget[], log: (line: string) => void): void {
  const warned = new Set<unknown>();
  for (const target of targets) {
    const spec = resolveLossSpec(target.loss);
    if (spec === null && !warned.has(target.loss.constructor)) {
      warned.add(target.loss.constructor);
      log(
        `${target.loss.constructor.name} declares no static inputColumns/labelKind: skipping its column and label checks`,
      );
    }
    checkTarget(target, spec);
  }
}

function checkTarget(target: DataCheckTarget, spec: ResolvedLossSpec | null): void {
  const { dataset } = target;
  const where = `${target.split === "eval" ? "eval dataset" : "dataset"} '${target.name}'`;
  if (dataset.length === 0 || dataset.columnNames.length === 0) {
    throw new TrainingDataError(
      `${where} is empty (${dataset.length} rows, columns: ${dataset.columnNames.join(", ") || "none"}): nothing to ${target.split === "eval" ? "evaluate" : "train"} on`,
    );
  }
  if (spec !== null) checkShape(where, dataset, spec, innermostLoss(target.loss));
  const labelColumn = dataset.labelColumn;
  for (let row = 0; row < dataset.length; row++) {
    for (const column of dataset.columnNames) {
      const value = dataset.column(column)[row];
      if (value === null || value === undefined) {
        throw new TrainingDataError(`${where}, row ${row}, column '${column}' is missing (null)`);
      }
      if (column !== labelColumn) {
        if (typeof value !== "string") {
          throw new TrainingDataError(
            `${where}, row ${row}, column '${column}': expected a text, got ${show(value)} (input columns hold texts; a label column must be named label, labels, score or scores)`,
          );
        }
      } else if (spec !== null) {
        checkLabel(`${where}, row ${row}, column '${column}'`, value, spec.labelKind);
      }
    }
  }
  if (spec !== null && spec.labelKind === "class" && labelColumn !== null) {
    if (dataset.column(labelColumn).some((v) => typeof v === "number" && !Number.isInteger(v))) {
      throw new TrainingDataError(mismatch(where, dataset, spec) + guidance(dataset, innermostLoss(target.loss)));
    }
  }
  if (spec !== null && VECTOR_KINDS.has(spec.labelKind) && labelColumn !== null) {
    const values = dataset.column(labelColumn) as number[][];
    const width = values[0]!.length;
    const row = values.findIndex((v) => v.length !== width);
    if (row >= 0) {
      throw new TrainingDataError(
        `${where}, row ${row}, column '${labelColumn}': ${values[row]!.length} numbers, but row 0 has ${width}`,
      );
    }
  }
}

/** Column count and label presence/kind against the loss's spec. */
function checkShape(where: string, dataset: Dataset, spec: ResolvedLossSpec, lossClass: LossClass): void {
  const inputs = dataset.inputColumns.length;
  const { min, max } = spec.inputColumns;
  const label = dataset.labelColumn;
  const wantsLabels = spec.labelKind !== "none";
  const countOk = inputs >= min && (max === null || inputs <= max);
  let problem = !countOk || wantsLabels !== (label !== null);
  if (!problem && label !== null && VECTOR_KINDS.has(spec.labelKind)) {
    problem = dataset.column(label).some((v) => typeof v === "number");
  }
  if (!problem && label !== null && SCALAR_KINDS.has(spec.labelKind) && spec.labelKind !== "teacher_margins") {
    problem = dataset.column(label).some((v) => Array.isArray(v));
  }
  if (problem) {
    const hint =
      countOk && !wantsLabels && label !== null
        ? ` (remove the label column with dataset.removeColumns(["${label}"]) if the loss should ignore it)`
        : "";
    throw new TrainingDataError(mismatch(where, dataset, spec) + hint + guidance(dataset, lossClass));
  }
}

/** The loss a modifier wraps (through every level), or the loss itself. */
function innermostLoss(loss: Loss): LossClass {
  const inner = (loss as unknown as { loss?: unknown }).loss;
  return inner instanceof Loss ? innermostLoss(inner) : (loss.constructor as LossClass);
}

/**
 * What to do instead, from the loss guide: ". Losses that fit this data: CoSENTLoss, ... To use
 * TripletLoss, convert the data: pairsAboveThreshold(dataset, threshold), then mineHardNegatives(model,
 * dataset) gives (anchor, positive, negative) triplets."
 */
function guidance(dataset: Dataset, lossClass: LossClass): string {
  const fits = lossesForData(dataset).map((fit) => fit.name);
  const fitting =
    fits.length > 0
      ? `Losses that fit this data: ${fits.join(", ")}.`
      : "No loss of the library takes this data as it is.";
  const path = conversionToLoss(dataset, lossClass);
  const convert =
    path === null
      ? ""
      : ` To use ${lossClass.name}, convert the data: ${describePath(path)} gives ${dataFormat(path.to).inputs}.`;
  return `. ${fitting}${convert}`;
}

function mismatch(where: string, dataset: Dataset, spec: ResolvedLossSpec): string {
  return `${describeExpectation(spec.lossName, spec)}; ${where} has ${describeDataset(dataset)}`;
}

/** "columns sentence1, sentence2 and float scores in 'score'" */
export function describeDataset(dataset: Dataset): string {
  const inputs = dataset.inputColumns;
  const columns = `${inputs.length === 1 ? "column" : "columns"} ${inputs.join(", ") || "(none)"}`;
  return `${columns} and ${describeLabels(dataset)}`;
}

/** What the label column holds: "no label column", "integer labels in 'label'", "float scores in 'score'", ... */
export function describeLabels(dataset: Dataset): string {
  const column = dataset.labelColumn;
  if (column === null) return "no label column";
  const values = dataset.column(column);
  if (values.every((v) => Array.isArray(v))) {
    const widths = new Set(values.map((v) => (v as number[]).length));
    return `vectors of ${[...widths].join("/")} numbers in '${column}'`;
  }
  if (values.every((v) => typeof v === "boolean" || (typeof v === "number" && Number.isInteger(v)))) {
    return `integer labels in '${column}'`;
  }
  if (values.every((v) => typeof v === "number" || typeof v === "boolean")) return `float scores in '${column}'`;
  return `values of mixed types in '${column}'`;
}

function checkLabel(where: string, value: DatasetValue, kind: LabelKind): void {
  if (kind === "none") return;
  if (VECTOR_KINDS.has(kind) || (kind === "teacher_margins" && Array.isArray(value))) {
    if (!Array.isArray(value) || value.length === 0) {
      throw new TrainingDataError(`${where}: expected a non-empty array of numbers, got ${show(value)}`);
    }
    const bad = value.findIndex((v) => typeof v !== "number" || !Number.isFinite(v));
    if (bad >= 0) throw new TrainingDataError(`${where}: element ${bad} (${show(value[bad]!)}) is not a number`);
    return;
  }
  if (typeof value === "boolean" && (kind === "binary" || kind === "class")) return;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new TrainingDataError(`${where}: ${show(value)} is not a number`);
  }
}

function show(value: DatasetValue): string {
  if (typeof value === "string") return `'${value.length > 60 ? `${value.slice(0, 57)}...` : value}'`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return String(value);
}
