// What a model card says about a model: filled by the user (names, language, license) and by the
// trainer (datasets, losses, arguments, logs, metrics), rendered by generateModelCard.
import type { ConfigValue, Loss } from "../losses/loss.js";
import { DEFAULT_TRAINING_ARGUMENTS, type TrainingArguments } from "../training/arguments.js";
import type { Dataset, DatasetRecord, DatasetValue } from "../training/dataset.js";
import { textLengths, type TokenizingModel } from "../util/text-lengths.js";

/** The tags every card carries. */
export const DEFAULT_MODEL_CARD_TAGS: readonly string[] = Object.freeze([
  "sentence-transformers",
  "sentence-similarity",
  "feature-extraction",
  "stts",
]);

/** The task sentence of the card's introduction (the reference's default). */
export const DEFAULT_TASK_NAME =
  "semantic textual similarity, semantic search, paraphrase mining, text classification, clustering, and more";

/** Statistics of one dataset column, over the first `DatasetCardInfo.statsSampleSize` rows. */
export interface ColumnStats {
  name: string;
  /** "string" (texts), "int" (integers and booleans), "float", "list" (number arrays), "unknown" (no values). */
  type: "string" | "int" | "float" | "list" | "unknown";
  /** Strings: length in tokens (characters when the tokenizer gives no attention mask); numbers: values; lists: lengths. */
  min: number | null;
  mean: number | null;
  max: number | null;
  /** What min/mean/max count: "tokens", "characters", "elements", or null for numbers. */
  unit: "tokens" | "characters" | "elements" | null;
  /** Integer columns only: value -> fraction of the rows (the label distribution). */
  distribution?: Record<string, number>;
}

/** One training or evaluation dataset, as the card lists it. */
export interface DatasetCardInfo {
  /** The dataset name (the key of the trainer's dataset record). */
  name: string;
  /** A Hugging Face Hub dataset id, linked and listed in the front matter's `datasets` (default none). */
  id?: string | null;
  /** Number of rows. */
  size: number;
  /** One entry per column, in column order. */
  columns: ColumnStats[];
  /** How many rows the column statistics were computed from. */
  statsSampleSize: number;
  /** The first rows (three by default). */
  examples: DatasetRecord[];
}

/** A loss as the card shows it. */
export interface LossCardInfo {
  /** The dataset it trains on; null when one loss serves every dataset. */
  dataset: string | null;
  /** The class name, e.g. "CoSENTLoss". */
  name: string;
  /** Its getConfigDict(). */
  config: Record<string, ConfigValue>;
  /** Its BibTeX, or null. */
  citation: string | null;
  /** The loss a modifier (MatryoshkaLoss, AdaptiveLayerLoss, ...) wraps, or null. */
  inner: LossCardInfo | null;
}

/**
 * One row of the training log table. `trainingLoss` and `validationLoss` are shown as "Training Loss" and
 * "Validation Loss"; every other key (e.g. "sts-dev_spearman_cosine", "stsb loss") is a column of its own.
 */
export interface TrainingLogRow {
  epoch: number;
  step: number;
  trainingLoss?: number;
  validationLoss?: number;
  [column: string]: number | undefined;
}

/** The final metrics of one evaluator. */
export interface EvaluatorCardInfo {
  /** The class name, e.g. "EmbeddingSimilarityEvaluator". */
  evaluator: string;
  /** The evaluator's name (usually the dataset's), the prefix of its metric keys. */
  name: string;
  /** The task, e.g. "Semantic Similarity". */
  description: string;
  /** The full key of the primary metric, shown in bold, or null. */
  primaryMetric: string | null;
  /** The metrics as the evaluator returned them (keys `${name}_${metric}`). */
  metrics: Record<string, number>;
}

/**
 * What the model card of a SentenceTransformer shows (the reference's SentenceTransformerModelCardData).
 * Set `model.modelCardData` and every `save` writes README.md from it. The trainer fills the datasets,
 * losses, arguments, logs and metrics; the user may give the names, language, license and tags.
 * Carbon emissions are not tracked.
 *
 * @example
 * model.modelCardData = createModelCardData({ language: "en", license: "apache-2.0", modelId: "me/my-model" });
 * model.save("my-model"); // writes my-model/README.md
 *
 * Defaults (createModelCardData): no language, license, names or base model; empty lists; tags
 * DEFAULT_MODEL_CARD_TAGS; taskName DEFAULT_TASK_NAME.
 */
export interface ModelCardData {
  /** e.g. "en" or ["en", "de"]. */
  language?: string | string[] | null;
  /** e.g. "apache-2.0". */
  license?: string | null;
  /** The card's title (default "SentenceTransformer based on <baseModel>", or "SentenceTransformer"). */
  modelName?: string | null;
  /** The Hub id used in the usage snippets (default a placeholder). */
  modelId?: string | null;
  /** The model it was fine-tuned from (a Hub id is linked). */
  baseModel?: string | null;
  /** What the model can be used for, in the introduction. */
  taskName?: string;
  /** Texts for the usage snippets (default three sentences of the reference's template). */
  predictExample?: string[] | null;
  trainDatasets: DatasetCardInfo[];
  evalDatasets: DatasetCardInfo[];
  losses: LossCardInfo[];
  /** The training arguments that differ from DEFAULT_TRAINING_ARGUMENTS (see nonDefaultTrainingArguments). */
  trainingArguments: Record<string, ConfigValue>;
  trainingLogs: TrainingLogRow[];
  /** The step of the checkpoint loaded at the end (loadBestModelAtEnd): its log row is bold. */
  bestModelStep?: number | null;
  /** The final metrics, one entry per evaluator. */
  evalMetrics: EvaluatorCardInfo[];
  /** Extra tags; the defaults and the generated ones (loss:..., dataset_size:...) are always added. */
  tags: string[];
}

/** A complete ModelCardData: `init` over the defaults (arrays and records copied). */
export function createModelCardData(init: Partial<ModelCardData> = {}): ModelCardData {
  return {
    ...init,
    trainDatasets: [...(init.trainDatasets ?? [])],
    evalDatasets: [...(init.evalDatasets ?? [])],
    losses: [...(init.losses ?? [])],
    trainingArguments: { ...(init.trainingArguments ?? {}) },
    trainingLogs: [...(init.trainingLogs ?? [])],
    evalMetrics: [...(init.evalMetrics ?? [])],
    tags: [...(init.tags ?? DEFAULT_MODEL_CARD_TAGS)],
  };
}

// ---- datasets -------------------------------------------------------------------------------------

export type { TokenizingModel } from "../util/text-lengths.js";

/** Options of computeDatasetStats. */
export interface DatasetStatsOptions {
  /** The name on the card (default dataset.name). */
  name?: string;
  /** A Hub dataset id (default none). */
  id?: string | null;
  /** Rows the statistics are computed from (default 1000, as the reference). */
  sampleSize?: number;
  /** Example rows (default 3). */
  numExamples?: number;
}

/**
 * The card entry of a dataset: its size, each column's type and statistics over the first `sampleSize`
 * rows (texts: min/mean/max length in the model's tokens, padding excluded; numbers: min/mean/max, and
 * the value distribution of integer columns; number arrays: their lengths), and the first rows.
 *
 * @example
 * const info = computeDatasetStats(model, trainDataset); // info.columns[0] = { name: "sentence1", type: "string", min: 6, ... }
 */
export function computeDatasetStats(
  model: TokenizingModel,
  dataset: Dataset,
  options: DatasetStatsOptions = {},
): DatasetCardInfo {
  const sampleSize = Math.min(options.sampleSize ?? 1000, dataset.length);
  const sample = dataset.take(sampleSize);
  const columns = dataset.columnNames.map((column) => columnStats(model, column, sample.column(column)));
  const examples = dataset.take(options.numExamples ?? 3);
  return {
    name: options.name ?? dataset.name,
    id: options.id ?? null,
    size: dataset.length,
    columns,
    statsSampleSize: sampleSize,
    examples: [...examples],
  };
}

function columnStats(model: TokenizingModel, name: string, values: readonly DatasetValue[]): ColumnStats {
  const present = values.filter((value) => value !== null);
  const first = present[0];
  if (first === undefined) return { name, type: "unknown", min: null, mean: null, max: null, unit: null };
  if (typeof first === "string") {
    const texts = present.map(String);
    const { lengths, unit } = textLengths(model, texts);
    return { name, type: "string", ...summary(lengths), unit };
  }
  if (Array.isArray(first)) {
    const lengths = present.map((value) => (Array.isArray(value) ? value.length : 0));
    return { name, type: "list", ...summary(lengths), unit: "elements" };
  }
  const numbers = present.map((value) => (typeof value === "boolean" ? Number(value) : Number(value)));
  if (present.every((value) => typeof value === "boolean" || Number.isInteger(value))) {
    const counts = new Map<number, number>();
    for (const value of numbers) counts.set(value, (counts.get(value) ?? 0) + 1);
    const distribution: Record<string, number> = {};
    for (const value of [...counts.keys()].sort((a, b) => a - b))
      distribution[String(value)] = counts.get(value)! / numbers.length;
    return { name, type: "int", ...summary(numbers), unit: null, distribution };
  }
  return { name, type: "float", ...summary(numbers), unit: null };
}

function summary(values: readonly number[]): { min: number | null; mean: number | null; max: number | null } {
  if (values.length === 0) return { min: null, mean: null, max: null };
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const value of values) {
    min = Math.min(min, value);
    max = Math.max(max, value);
    sum += value;
  }
  return { min, mean: sum / values.length, max };
}

// ---- losses ---------------------------------------------------------------------------------------

/**
 * The card entry of a loss, with the loss a modifier wraps (any `loss` property holding a Loss, as
 * MatryoshkaLoss and AdaptiveLayerLoss have) as `inner`.
 */
export function describeLoss(loss: Loss, dataset: string | null = null): LossCardInfo {
  const wrapped = (loss as unknown as { loss?: unknown }).loss;
  const inner = isLoss(wrapped) ? describeLoss(wrapped, dataset) : null;
  return { dataset, name: loss.constructor.name, config: loss.getConfigDict(), citation: loss.citation, inner };
}

/** The card entries of the trainer's `loss` argument: one loss for every dataset, or one per dataset name. */
export function describeLosses(loss: Loss | Record<string, Loss>): LossCardInfo[] {
  if (isLoss(loss)) return [describeLoss(loss)];
  return Object.entries(loss).map(([dataset, value]) => describeLoss(value, dataset));
}

function isLoss(value: unknown): value is Loss {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Loss).getConfigDict === "function" &&
    typeof (value as Loss).forward === "function"
  );
}

// ---- training arguments and logs ------------------------------------------------------------------

/** Bookkeeping arguments the card leaves out (the reference's list, in our names). */
const UNREPORTED_ARGUMENTS = new Set<string>([
  "outputDir",
  "loggingSteps",
  "evalSteps",
  "saveStrategy",
  "saveSteps",
  "saveTotalLimit",
  "metricForBestModel",
  "greaterIsBetter",
]);

/**
 * The training arguments that differ from DEFAULT_TRAINING_ARGUMENTS, in the defaults' order, leaving out
 * bookkeeping (outputDir, loggingSteps, evalSteps, saveStrategy, saveSteps, saveTotalLimit,
 * metricForBestModel, greaterIsBetter) as the reference's card does.
 *
 * @example
 * nonDefaultTrainingArguments(resolveTrainingArguments({ outputDir: "out", learningRate: 2e-5 })); // { learningRate: 2e-5 }
 */
export function nonDefaultTrainingArguments(args: TrainingArguments): Record<string, ConfigValue> {
  const out: Record<string, ConfigValue> = {};
  for (const [key, value] of Object.entries(args)) {
    if (UNREPORTED_ARGUMENTS.has(key)) continue;
    const fallback = (DEFAULT_TRAINING_ARGUMENTS as unknown as Record<string, unknown>)[key];
    if (JSON.stringify(value) !== JSON.stringify(fallback)) out[key] = value as ConfigValue;
  }
  return out;
}

/** Log keys that are bookkeeping, not curves. */
const UNLOGGED = /(runtime|_per_second|PerSecond|^epoch$|^step$|learning_?rate|grad_?norm|^total_flos$)/i;

/**
 * Training log rows from a trainer's log history (entries with `step` and `epoch`): `loss` (or
 * `trainingLoss`) becomes trainingLoss, `eval_loss` (or `evalLoss`, `validationLoss`) validationLoss,
 * `eval_<dataset>_loss` a "<dataset> loss" column, and other `eval_`-prefixed keys (or any key, without the
 * prefix) metric columns: only `primaryMetrics` when given. Rows of one step are merged; runtimes, learning
 * rates and gradient norms are left out, and so are final summaries (`train_loss`, ...).
 *
 * @example
 * trainingLogsFromHistory([{ loss: 0.9, epoch: 0.5, step: 10 }]); // [{ epoch: 0.5, step: 10, trainingLoss: 0.9 }]
 */
export function trainingLogsFromHistory(
  history: readonly Record<string, number>[],
  options: { primaryMetrics?: readonly string[] } = {},
): TrainingLogRow[] {
  const rows: TrainingLogRow[] = [];
  for (const entry of history) {
    const { step, epoch } = entry;
    if (typeof step !== "number") continue;
    const values: Record<string, number> = {};
    for (const [key, value] of Object.entries(entry)) {
      if (typeof value !== "number" || UNLOGGED.test(key) || /^train_|^train[A-Z]/.test(key)) continue;
      if (key === "loss" || key === "trainingLoss") values.trainingLoss = value;
      else if (key === "eval_loss" || key === "evalLoss" || key === "validationLoss") values.validationLoss = value;
      else {
        const metric = key.replace(/^eval_/, "");
        const perDatasetLoss = /^(.+)_loss$/.exec(metric);
        if (perDatasetLoss !== null && key.startsWith("eval_")) values[`${perDatasetLoss[1]} loss`] = value;
        else if (options.primaryMetrics === undefined || options.primaryMetrics.includes(metric))
          values[metric] = value;
      }
    }
    if (Object.keys(values).length === 0) continue;
    const last = rows[rows.length - 1];
    if (last !== undefined && last.step === step) Object.assign(last, values);
    else rows.push({ epoch: typeof epoch === "number" ? epoch : 0, step, ...values });
  }
  return rows;
}

// ---- evaluation -----------------------------------------------------------------------------------

/** The task each reference evaluator measures, as the reference's cards title it. */
export const EVALUATOR_DESCRIPTIONS: Readonly<Record<string, string>> = Object.freeze({
  EmbeddingSimilarityEvaluator: "Semantic Similarity",
  InformationRetrievalEvaluator: "Information Retrieval",
  TripletEvaluator: "Triplet",
  BinaryClassificationEvaluator: "Binary Classification",
  MSEEvaluator: "Knowledge Distillation",
  ParaphraseMiningEvaluator: "Paraphrase Mining",
  NanoBEIREvaluator: "Nano BEIR",
  RerankingEvaluator: "Reranking",
  TranslationEvaluator: "Translation",
  LabelAccuracyEvaluator: "Classification",
});

/** What the card needs of an evaluator (SentenceEvaluator satisfies it). */
export interface DescribableEvaluator {
  readonly name: string;
  readonly primaryMetric?: string | null;
  /** The task, when the evaluator names it (default from EVALUATOR_DESCRIPTIONS). */
  readonly description?: string;
  /** A SequentialEvaluator's evaluators: each gets an entry of its own. */
  readonly evaluators?: readonly DescribableEvaluator[];
}

/**
 * The card entries of an evaluator's final metrics: one, or one per inner evaluator of a
 * SequentialEvaluator (its metrics split by each inner evaluator's `${name}_` prefix).
 */
export function describeEvaluation(
  evaluator: DescribableEvaluator,
  metrics: Readonly<Record<string, number>>,
): EvaluatorCardInfo[] {
  if (evaluator.evaluators !== undefined && evaluator.evaluators.length > 0) {
    return evaluator.evaluators.flatMap((inner) => {
      const own = Object.fromEntries(Object.entries(metrics).filter(([key]) => key.startsWith(`${inner.name}_`)));
      return Object.keys(own).length === 0 ? [] : describeEvaluation(inner, own);
    });
  }
  const className = evaluator.constructor.name;
  return [
    {
      evaluator: className,
      name: evaluator.name,
      description: evaluator.description ?? EVALUATOR_DESCRIPTIONS[className] ?? className.replace(/Evaluator$/, ""),
      primaryMetric: evaluator.primaryMetric ?? null,
      metrics: { ...metrics },
    },
  ];
}

/** Puts `entries` into data.evalMetrics, replacing earlier entries of the same evaluator class and name. */
export function recordEvaluation(data: ModelCardData, entries: readonly EvaluatorCardInfo[]): void {
  for (const entry of entries) {
    const index = data.evalMetrics.findIndex((e) => e.evaluator === entry.evaluator && e.name === entry.name);
    if (index >= 0) data.evalMetrics[index] = entry;
    else data.evalMetrics.push(entry);
  }
}
