// What a loss takes (input columns, labels), declared once per class and checked on every call.
import type { Tensor } from "@stts/torch";

/**
 * The kind of labels a loss takes: none; integer class ids; 0/1 pair labels; float similarity scores;
 * teacher embeddings [batch, dim]; teacher margins [batch] or [batch, negatives] (MarginMSELoss also
 * takes raw teacher scores [batch, 1 + negatives]); raw teacher scores [batch, 1 + negatives]; or, for
 * the modifiers (MatryoshkaLoss, AdaptiveLayerLoss, ...), whatever the wrapped loss takes ("inner").
 */
export type LabelKind =
  "none" | "class" | "binary" | "score" | "teacher_embeddings" | "teacher_margins" | "teacher_scores" | "inner";

/**
 * The text columns a loss takes: at least `min`, at most `max` (null: no limit). `roles` names them
 * in order; a last role ending in "..." may repeat (e.g. ["anchor", "positive", "negative..."]).
 */
export interface InputColumns {
  readonly min: number;
  readonly max: number | null;
  readonly roles: readonly string[];
}

/** The static metadata every loss class declares (`static readonly inputColumns` and `labelKind`). */
export interface LossInputSpec {
  readonly inputColumns: InputColumns;
  readonly labelKind: LabelKind;
}

const LABEL_TEXT: Record<LabelKind, string> = {
  none: "no labels",
  class: "integer class labels",
  binary: "0/1 labels",
  score: "float scores",
  teacher_embeddings: "float teacher embeddings",
  teacher_margins: "float teacher margins",
  teacher_scores: "float teacher scores",
  inner: "the labels of the wrapped loss",
};

const LABEL_SHAPE: Record<LabelKind, string> = {
  none: "",
  class: "[batch]",
  binary: "[batch]",
  score: "[batch]",
  teacher_embeddings: "[batch, dim]",
  teacher_margins: "[batch] or [batch, negatives] (or raw teacher scores [batch, 1 + negatives])",
  teacher_scores: "[batch, 1 + negatives]",
  inner: "as the wrapped loss",
};

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** "2 input columns (sentence A, sentence B)" */
export function describeColumns(columns: InputColumns): string {
  const { min, max } = columns;
  const count =
    max === min
      ? plural(min, "input column")
      : max === null
        ? `at least ${plural(min, "input column")}`
        : `${min} to ${max} input columns`;
  return `${count} (${columns.roles.join(", ")})`;
}

/** "CoSENTLoss expects 2 input columns (sentence A, sentence B) and float scores" */
export function describeExpectation(lossName: string, spec: LossInputSpec): string {
  return `${lossName} expects ${describeColumns(spec.inputColumns)} and ${LABEL_TEXT[spec.labelKind]}`;
}

function shapeText(t: Tensor): string {
  return `[${t.shape.join(", ")}]`;
}

/** The role of column `index` ("negative" for the repeats of a trailing "negative..."). */
export function columnRole(columns: InputColumns, index: number): string {
  const roles = columns.roles;
  const last = roles[roles.length - 1] ?? "column";
  const role = roles[index] ?? (last.endsWith("...") ? last : `column ${index}`);
  return role.endsWith("...") ? role.slice(0, -3) : role;
}

function isIntegral(dtype: string): boolean {
  return dtype.startsWith("int") || dtype === "uint8";
}

function labelDtypeOk(kind: LabelKind, dtype: string, floating: boolean): boolean {
  if (kind === "inner") return true;
  if (kind === "class") return isIntegral(dtype);
  if (kind === "binary") return isIntegral(dtype) || dtype === "bool" || floating;
  return floating;
}

function labelRankOk(kind: LabelKind, ndim: number): boolean {
  if (kind === "inner") return true;
  if (kind === "teacher_embeddings" || kind === "teacher_scores") return ndim === 2;
  if (kind === "teacher_margins") return ndim === 1 || ndim === 2;
  return ndim === 1;
}

/**
 * Checks the embeddings (one [batch, dim] tensor per input column) and labels a loss was given against
 * its declared spec, throwing an error that names the loss, what it expects and what it got, e.g.
 * "CoSENTLoss expects 2 input columns (sentence A, sentence B) and float scores, got 3 columns".
 * Labels of a loss that takes none are ignored (trainers may pass placeholders).
 */
export function checkLossInputs(
  lossName: string,
  spec: LossInputSpec,
  embeddings: readonly Tensor[],
  labels: Tensor | null,
): void {
  checkInputs(lossName, spec, embeddings, labels);
}

/** `checkLossInputs` for a loss that takes labels: returns them, known to be present. */
export function checkLabelledLossInputs(
  lossName: string,
  spec: LossInputSpec,
  embeddings: readonly Tensor[],
  labels: Tensor | null,
): Tensor {
  return checkInputs(lossName, spec, embeddings, labels) ?? unreachable(lossName);
}

function unreachable(lossName: string): never {
  throw new Error(`${lossName}: declares labelKind "none" but requires labels`);
}

function checkInputs(
  lossName: string,
  spec: LossInputSpec,
  embeddings: readonly Tensor[],
  labels: Tensor | null,
): Tensor | null {
  const expects = describeExpectation(lossName, spec);
  const { min, max } = spec.inputColumns;
  const n = embeddings.length;
  if (n < min || (max !== null && n > max)) throw new Error(`${expects}, got ${plural(n, "column")}`);
  embeddings.forEach((column, i) => {
    if (column.ndim !== 2 || !column.isFloatingPoint) {
      throw new Error(
        `${lossName}: input column ${i} (${columnRole(spec.inputColumns, i)}) must be a floating-point [batch, dim] embedding, got ${column.dtype} ${shapeText(column)}`,
      );
    }
  });
  const batches = embeddings.map((column) => column.size(0));
  if (batches.some((b) => b !== batches[0])) {
    throw new Error(`${lossName}: every input column must have the same batch size, got ${batches.join(", ")}`);
  }
  const kind = spec.labelKind;
  if (kind === "none") return null;
  if (labels === null) throw new Error(`${expects}, got no labels`);
  if (!labelDtypeOk(kind, labels.dtype, labels.isFloatingPoint) || !labelRankOk(kind, labels.ndim)) {
    throw new Error(
      `${expects} of shape ${LABEL_SHAPE[kind]}, got labels of dtype ${labels.dtype} and shape ${shapeText(labels)}`,
    );
  }
  const batch = batches[0];
  if (batch !== undefined && labels.size(0) !== batch) {
    throw new Error(`${lossName}: got labels for ${labels.size(0)} rows but embeddings for ${batch} rows`);
  }
  return labels;
}

// ---- the loss guide's metadata (docs/losses.md, `stts losses`, the trainer's data check) ----------

/**
 * A data format of the loss guide: which columns a dataset holds and what its labels mean. Several
 * formats share a shape (two text columns, no labels: "pairs", "same-text-pairs", "damaged-pairs"); the
 * format says what the texts are, so a loss names the formats it is meant for, not only the shapes it
 * accepts. "sentences" and the "text-label-*" formats are starting points that no loss takes directly:
 * a conversion turns them into a format that one does (see src/losses/guide.ts).
 */
export type DataFormatId =
  | "pairs"
  | "triplets"
  | "n-tuples"
  | "scored-pairs"
  | "class-pairs"
  | "binary-pairs"
  | "class-sentences"
  | "same-text-pairs"
  | "contrastive-tension-pairs"
  | "damaged-pairs"
  | "sentences"
  | "text-label-pairs"
  | "text-label-sentences"
  | "teacher-embeddings"
  | "teacher-margins"
  | "teacher-scores";

/** Where a loss sits in the guide: the main table, the distillation losses, or the modifiers that wrap a loss. */
export type LossCategory = "table" | "distillation" | "modifier";

/**
 * The metadata a loss class declares for the loss guide, next to its inputColumns/labelKind:
 * `static readonly category`, `description` (one sentence, what it optimises), `dataFormats` (the
 * formats it is meant for; empty for modifiers) and `commonChoiceFor` (the formats for which it is
 * the usual first choice; a subset of dataFormats). Custom losses may declare them too.
 */
export interface LossGuideSpec extends LossInputSpec {
  readonly category: LossCategory;
  readonly description: string;
  readonly dataFormats: readonly DataFormatId[];
  readonly commonChoiceFor: readonly DataFormatId[];
}
