// BinaryClassificationEvaluator: how well a similarity threshold separates similar from dissimilar pairs.
import type { ConfigValue } from "../losses/loss.js";
import type { SentenceTransformer, SimilarityFnName } from "../sentence-transformer.js";
import {
  appendCsvRow,
  checkSameLength,
  embedRows,
  nameSuffix,
  pairwiseScores,
  resolveSimilarityFnNames,
  SentenceEvaluator,
  type EvaluateOptions,
} from "./evaluator.js";
import { averagePrecision, bestAccuracyAndThreshold, bestF1AndThreshold, matthewsCorrelation } from "./metrics.js";

/** Options of BinaryClassificationEvaluator. */
export interface BinaryClassificationEvaluatorOptions {
  /** Metric-key prefix and CSV file name part (default ""). */
  name?: string;
  /** Sentences per encode batch (default 32). */
  batchSize?: number;
  /** Default false. */
  showProgressBar?: boolean;
  /** Append the results to a CSV file in outputPath (default true). */
  writeCsv?: boolean;
  /** Keep only the first dimensions of the embeddings (default null: the model's truncateDim). */
  truncateDim?: number | null;
  /** The similarities to score with (default: the model's similarityFnName). */
  similarityFnNames?: SimilarityFnName[] | null;
}

/** The metrics reported per similarity function, in the reference's order. */
export const BINARY_CLASSIFICATION_METRICS = [
  "accuracy",
  "accuracy_threshold",
  "f1",
  "f1_threshold",
  "precision",
  "recall",
  "ap",
  "mcc",
] as const;

/** One similarity function's metrics. */
type BinaryMetrics = Record<(typeof BINARY_CLASSIFICATION_METRICS)[number], number>;

/** The CSV column order of the reference (differs from the metric order). */
const CSV_METRICS = [
  "accuracy",
  "accuracy_threshold",
  "f1",
  "precision",
  "recall",
  "f1_threshold",
  "ap",
  "mcc",
] as const;

/**
 * Scores each pair (sentences1[i], sentences2[i]) labelled 1 (similar) or 0 (dissimilar) and finds the
 * thresholds that best separate them (sentence-transformers' BinaryClassificationEvaluator). Per
 * similarity function: `${name}_cosine_accuracy`, `_accuracy_threshold`, `_f1`, `_f1_threshold`,
 * `_precision`, `_recall`, `_ap` (average precision) and `_mcc` (Matthews correlation at the F1
 * threshold); with several functions also `${name}_max_<metric>`. Cosine and dot scores are similarities
 * (a pair is predicted similar when score >= threshold); euclidean and manhattan are scored as distances
 * (similar when distance <= threshold, thresholds are distances). The primary metric is `cosine_ap` (the
 * one function's `_ap`), or `max_ap` with several functions. Results are appended to
 * `binary_classification_evaluation[_name]_results.csv` in `outputPath`.
 *
 * @example
 * const evaluator = new BinaryClassificationEvaluator(pairs.column("sentence1"), pairs.column("sentence2"), labels, { name: "quora-dev" });
 * evaluator.evaluate(model)["quora-dev_cosine_ap"]; // 0.76
 *
 * @param sentences1 first sentence of each pair
 * @param sentences2 second sentence of each pair
 * @param labels 1 for similar pairs, 0 for dissimilar ones
 * @param options name (""), batchSize (32), showProgressBar (false), writeCsv (true), truncateDim (null),
 *   similarityFnNames (the model's)
 */
export class BinaryClassificationEvaluator extends SentenceEvaluator {
  readonly sentences1: readonly string[];
  readonly sentences2: readonly string[];
  readonly labels: readonly number[];
  readonly batchSize: number;
  readonly showProgressBar: boolean;
  readonly writeCsv: boolean;
  readonly truncateDim: number | null;
  /** The CSV results file name. */
  readonly csvFile: string;
  #similarityFnNames: SimilarityFnName[];

  constructor(
    sentences1: readonly string[],
    sentences2: readonly string[],
    labels: readonly number[],
    options: BinaryClassificationEvaluatorOptions = {},
  ) {
    super(options.name ?? "");
    const who = "BinaryClassificationEvaluator";
    checkSameLength(who, { sentences1, sentences2, labels });
    const bad = labels.findIndex((label) => label !== 0 && label !== 1);
    if (bad >= 0) throw new RangeError(`${who}: labels must be 0 or 1, got labels[${bad}] = ${labels[bad]}`);
    this.sentences1 = [...sentences1];
    this.sentences2 = [...sentences2];
    this.labels = [...labels];
    this.#similarityFnNames = resolveSimilarityFnNames(who, options.similarityFnNames, { argument: "", value: null });
    this.batchSize = options.batchSize ?? 32;
    this.showProgressBar = options.showProgressBar ?? false;
    this.writeCsv = options.writeCsv ?? true;
    this.truncateDim = options.truncateDim ?? null;
    this.csvFile = `binary_classification_evaluation${nameSuffix(this.name)}_results.csv`;
    this.primaryMetric = this.fullKey(
      this.#primaryMetric(this.#similarityFnNames.length > 0 ? this.#similarityFnNames : ["cosine"]),
    );
  }

  /** The similarity functions used (the model's similarityFnName when none was given, known after evaluate). */
  get similarityFnNames(): readonly SimilarityFnName[] {
    return this.#similarityFnNames;
  }

  override evaluate(model: SentenceTransformer, options: EvaluateOptions = {}): Record<string, number> {
    const { outputPath, epoch = -1, steps = -1 } = options;
    if (this.#similarityFnNames.length === 0) this.#similarityFnNames = [model.similarityFnName];
    const fnNames = this.#similarityFnNames;
    const scores = this.#computeMetrics(model);

    if (outputPath !== undefined && this.writeCsv) {
      const headers = ["epoch", "steps", ...fnNames.flatMap((fn) => CSV_METRICS.map((metric) => `${fn}_${metric}`))];
      const values = fnNames.flatMap((fn) => CSV_METRICS.map((metric) => scores[fn]![metric]));
      appendCsvRow(outputPath, this.csvFile, headers, epoch, steps, values);
    }
    const metrics: Record<string, number> = {};
    for (const fn of fnNames) {
      for (const metric of BINARY_CLASSIFICATION_METRICS) metrics[`${fn}_${metric}`] = scores[fn]![metric];
    }
    if (fnNames.length > 1) {
      for (const metric of BINARY_CLASSIFICATION_METRICS) {
        metrics[`max_${metric}`] = Math.max(...fnNames.map((fn) => scores[fn]![metric]));
      }
    }
    this.primaryMetric = this.fullKey(this.#primaryMetric(fnNames));
    return this.prefixNameToMetrics(metrics);
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return this.truncateDim === null ? {} : { truncateDim: this.truncateDim };
  }

  #primaryMetric(fnNames: readonly SimilarityFnName[]): string {
    return fnNames.length > 1 ? "max_ap" : `${fnNames[0]!}_ap`;
  }

  /** Every metric of every similarity function. */
  #computeMetrics(model: SentenceTransformer): Partial<Record<SimilarityFnName, BinaryMetrics>> {
    // Each distinct sentence is embedded once.
    const unique = [...new Set([...this.sentences1, ...this.sentences2])];
    const rows = embedRows(model, unique, this);
    const byText = new Map(unique.map((text, i) => [text, rows[i]!]));
    const embeddings1 = this.sentences1.map((text) => byText.get(text)!);
    const embeddings2 = this.sentences2.map((text) => byText.get(text)!);
    const labels = this.labels;

    const out: Partial<Record<SimilarityFnName, BinaryMetrics>> = {};
    for (const fn of this.#similarityFnNames) {
      // Distances for euclidean / manhattan: small means similar.
      const isDistance = fn === "euclidean" || fn === "manhattan";
      const similarity = pairwiseScores(fn, embeddings1, embeddings2); // [pairs]
      const scores = isDistance ? similarity.map((value) => -value) : similarity;
      const accuracy = bestAccuracyAndThreshold(scores, labels, !isDistance);
      const f1 = bestF1AndThreshold(scores, labels, !isDistance);
      const predicted = scores.map((score) => Number(isDistance ? score <= f1.threshold : score >= f1.threshold));
      out[fn] = {
        accuracy: accuracy.accuracy,
        accuracy_threshold: accuracy.threshold,
        f1: f1.f1,
        f1_threshold: f1.threshold,
        precision: f1.precision,
        recall: f1.recall,
        ap: averagePrecision(labels, isDistance ? scores.map((d) => -d) : scores),
        mcc: matthewsCorrelation(labels, predicted),
      };
    }
    return out;
  }
}
