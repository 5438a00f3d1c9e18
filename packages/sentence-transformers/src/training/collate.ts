// Rows -> what a loss takes: one tokenized Features per input column (prompts prepended) and the labels tensor.
import * as torch from "@stts/torch";
import type { Tensor } from "@stts/torch";
import type { Features } from "../features.js";
import type { LabelKind } from "../losses/loss-inputs.js";
import { Pooling } from "../modules/pooling.js";
import type { SentenceTransformer } from "../sentence-transformer.js";
import type { TrainingArguments } from "./arguments.js";
import type { Dataset } from "./dataset.js";

/** How the labels of a dataset become a tensor. */
export interface LabelEncoding {
  column: string;
  dtype: "int64" | "float32";
  /** [batch] for scalars, [batch, width] for vectors (teacher embeddings, scores). */
  vector: boolean;
}

/** Everything collate needs to know about one dataset, worked out once. */
export interface CollatePlan {
  inputColumns: string[];
  /** Column -> prompt prepended to its texts (columns without a prompt are absent). */
  prompts: Map<string, string>;
  /** Prompt -> its token count (the reference's prompt_length), when a Pooling module excludes prompts. */
  promptLengths: Map<string, number>;
  labels: LabelEncoding | null;
}

/** One batch ready for `loss.forward(features, labels)`. The caller owns the tensors (collate inside a scope). */
export interface CollatedBatch {
  features: Features[];
  labels: Tensor | null;
}

/**
 * The prompts of one dataset's columns, as the reference reads `prompts`: a string is the prompt of
 * every input column; a record is keyed by dataset name (when `datasetName` is one of its keys; the
 * value is then a prompt for all columns, or a record column -> prompt), else by column name.
 * `datasetName` is null for a single (unnamed) training dataset.
 */
export function resolvePrompts(
  prompts: TrainingArguments["prompts"],
  datasetName: string | null,
  inputColumns: readonly string[],
): Map<string, string> {
  const out = new Map<string, string>();
  if (prompts === null || prompts === "") return out;
  let forDataset: string | Record<string, unknown> = prompts;
  if (typeof prompts === "object" && datasetName !== null && datasetName in prompts) {
    forDataset = prompts[datasetName] as string | Record<string, string>;
  } else if (typeof prompts === "object" && datasetName === null) {
    const nested = Object.entries(prompts).find(([, value]) => typeof value === "object");
    if (nested !== undefined) {
      throw new Error(
        `SentenceTransformerTrainer: args.prompts is keyed by dataset name ('${nested[0]}' maps to a record of column prompts), but the dataset is a single Dataset; pass a record of datasets or a record column -> prompt`,
      );
    }
  }
  for (const column of inputColumns) {
    const prompt = typeof forDataset === "string" ? forDataset : forDataset[column];
    if (typeof prompt === "string" && prompt !== "") out.set(column, prompt);
  }
  return out;
}

/**
 * The label encoding of a dataset for a loss's label kind: int64 for class ids, int64 for 0/1 labels
 * (float32 if any is fractional), float32 [batch] for scores and margins, float32 [batch, width] for
 * teacher embeddings and scores; null when the loss takes none or the dataset has no label column.
 * With `kind` null (a loss that declares none) the dtype follows the values, as torch.tensor would:
 * all integers (or booleans) give int64, other numbers float32, arrays float32 [batch, width].
 */
export function labelEncoding(dataset: Dataset, kind: Exclude<LabelKind, "inner"> | null): LabelEncoding | null {
  const column = dataset.labelColumn;
  if (column === null || kind === "none") return null;
  const values = dataset.column(column);
  const vector = values.some((v) => Array.isArray(v));
  const integral = !vector && values.every((v) => typeof v === "boolean" || Number.isInteger(v));
  let dtype: "int64" | "float32";
  if (kind === "class") dtype = "int64";
  else if (kind === "binary" || kind === null) dtype = integral ? "int64" : "float32";
  else dtype = "float32";
  return { column, dtype, vector };
}

/** Works out the prompts, prompt lengths and label encoding of one dataset. */
export function planCollate(
  model: SentenceTransformer,
  dataset: Dataset,
  options: {
    prompts: TrainingArguments["prompts"];
    datasetName: string | null;
    labelKind: Exclude<LabelKind, "inner"> | null;
  },
): CollatePlan {
  const inputColumns = dataset.inputColumns;
  const prompts = resolvePrompts(options.prompts, options.datasetName, inputColumns);
  const promptLengths = new Map<string, number>();
  // As the reference, prompt lengths are passed only when a Pooling module leaves the prompt out.
  if (model.moduleList.some((module) => module instanceof Pooling && !module.includePrompt)) {
    for (const prompt of new Set(prompts.values())) {
      promptLengths.set(
        prompt,
        torch.scope(() => {
          const ids = model.tokenize([prompt]).inputIds;
          if (ids === undefined) throw new Error("SentenceTransformerTrainer: the tokenizer returned no inputIds");
          return ids.shape[ids.ndim - 1]! - 1;
        }),
      );
    }
  }
  return { inputColumns, prompts, promptLengths, labels: labelEncoding(dataset, options.labelKind) };
}

/** Tokenizes rows `indices` of each input column (with its prompt) and builds the labels tensor, on `device`. */
export function collate(
  model: SentenceTransformer,
  dataset: Dataset,
  indices: readonly number[],
  plan: CollatePlan,
  device = "cpu",
): CollatedBatch {
  const features = plan.inputColumns.map((column) => {
    const values = dataset.column(column);
    const prompt = plan.prompts.get(column) ?? "";
    let out = model.tokenize(indices.map((i) => prompt + (values[i] as string)));
    if (device !== "cpu") out = moveFeatures(out, device);
    const promptLength = plan.promptLengths.get(prompt);
    if (promptLength !== undefined) out.promptLength = torch.tensor([promptLength], { dtype: "int64", device });
    return out;
  });
  return { features, labels: plan.labels === null ? null : labelTensor(dataset, indices, plan.labels, device) };
}

function labelTensor(dataset: Dataset, indices: readonly number[], encoding: LabelEncoding, device: string): Tensor {
  const values = dataset.column(encoding.column);
  const rows = indices.map((i) => {
    const value = values[i]!;
    return typeof value === "boolean" ? Number(value) : (value as number | number[]);
  });
  const labels = encoding.vector
    ? torch.tensor(rows as number[][], { dtype: encoding.dtype }) // [batch, width]
    : torch.tensor(rows as number[], { dtype: encoding.dtype }); // [batch]
  return device === "cpu" ? labels : labels.to(device);
}

function moveFeatures(features: Features, device: string): Features {
  const moved: Features = {};
  for (const [key, value] of Object.entries(features)) {
    moved[key] = Array.isArray(value) ? value.map((t) => t.to(device)) : value?.to(device);
  }
  return moved;
}
