// EmbeddingSimilarityEvaluator: Pearson and Spearman correlation of embedding similarities with gold scores.
import type { SentenceTransformer, SimilarityFnName } from "../sentence-transformer.js";
import { EMBEDDING_PRECISIONS, type EmbeddingPrecision } from "../util/quantization.js";
import {
  appendCsvRow,
  checkSameLength,
  checkSimilarityFnName,
  embedRows,
  nameSuffix,
  pairwiseScores,
  resolveSimilarityFnNames,
  SentenceEvaluator,
  type EvaluateOptions,
} from "./evaluator.js";
import { pearson, spearman } from "./metrics.js";
import type { ConfigValue } from "../losses/loss.js";

/** Options of EmbeddingSimilarityEvaluator. */
export interface EmbeddingSimilarityEvaluatorOptions {
  /** Sentences per encode batch (default 16). */
  batchSize?: number;
  /** The similarity whose Spearman correlation is the primary metric (default: see similarityFnNames). */
  mainSimilarity?: SimilarityFnName | null;
  /** The similarities to score with (default [mainSimilarity] if given, else the model's similarityFnName). */
  similarityFnNames?: SimilarityFnName[] | null;
  /** Metric-key prefix and CSV file name part (default ""). */
  name?: string;
  /** Default false. */
  showProgressBar?: boolean;
  /** Append the results to a CSV file in outputPath (default true). */
  writeCsv?: boolean;
  /** Quantize the (then normalized) embeddings first: "float32", "int8", "uint8", "binary", "ubinary" (default null: none). */
  precision?: EmbeddingPrecision | null;
  /** Keep only the first dimensions of the embeddings (default null: the model's truncateDim). */
  truncateDim?: number | null;
}

/**
 * Scores each pair (sentences1[i], sentences2[i]) with one or more similarity functions (cosine, dot,
 * and minus the euclidean / manhattan distance) and reports their Pearson and Spearman correlation
 * with the gold `scores` (sentence-transformers' EmbeddingSimilarityEvaluator): keys
 * `${name}_pearson_cosine`, `${name}_spearman_cosine`, ..., plus `_pearson_max` / `_spearman_max` when
 * several functions are used. The primary metric is the Spearman correlation of `mainSimilarity`, else
 * `spearman_max` (several functions), else that of the one function. Results are appended to
 * `similarity_evaluation[_name][_precision]_results.csv` in `outputPath`.
 *
 * @example
 * const evaluator = new EmbeddingSimilarityEvaluator(dev.column("sentence1"), dev.column("sentence2"), scores, { name: "sts-dev" });
 * evaluator.evaluate(model)["sts-dev_spearman_cosine"]; // 0.88
 *
 * @param sentences1 first sentence of each pair
 * @param sentences2 second sentence of each pair
 * @param scores gold similarity of each pair (any scale: only correlations are reported)
 * @param options batchSize (16), mainSimilarity (null), similarityFnNames (the model's), name (""),
 *   showProgressBar (false), writeCsv (true), precision (null), truncateDim (null)
 */
export class EmbeddingSimilarityEvaluator extends SentenceEvaluator {
  readonly sentences1: readonly string[];
  readonly sentences2: readonly string[];
  readonly scores: readonly number[];
  readonly batchSize: number;
  readonly mainSimilarity: SimilarityFnName | null;
  readonly showProgressBar: boolean;
  readonly writeCsv: boolean;
  readonly precision: EmbeddingPrecision | null;
  readonly truncateDim: number | null;
  /** The CSV results file name. */
  readonly csvFile: string;
  #similarityFnNames: SimilarityFnName[];

  constructor(
    sentences1: readonly string[],
    sentences2: readonly string[],
    scores: readonly number[],
    options: EmbeddingSimilarityEvaluatorOptions = {},
  ) {
    super(options.name ?? "");
    const who = "EmbeddingSimilarityEvaluator";
    checkSameLength(who, { sentences1, sentences2, scores });
    this.sentences1 = [...sentences1];
    this.sentences2 = [...sentences2];
    this.scores = [...scores];
    this.batchSize = options.batchSize ?? 16;
    this.mainSimilarity =
      options.mainSimilarity == null ? null : checkSimilarityFnName(options.mainSimilarity, who, "mainSimilarity");
    this.#similarityFnNames = resolveSimilarityFnNames(who, options.similarityFnNames, {
      argument: "mainSimilarity",
      value: this.mainSimilarity,
    });
    this.showProgressBar = options.showProgressBar ?? false;
    this.writeCsv = options.writeCsv ?? true;
    this.precision = options.precision ?? null;
    if (this.precision !== null && !EMBEDDING_PRECISIONS.includes(this.precision)) {
      throw new Error(`${who}: precision '${this.precision}' is not one of ${EMBEDDING_PRECISIONS.join(", ")}`);
    }
    this.truncateDim = options.truncateDim ?? null;
    this.csvFile = `similarity_evaluation${nameSuffix(this.name)}${this.precision === null ? "" : `_${this.precision}`}_results.csv`;
    this.primaryMetric = this.fullKey(
      this.#primaryMetric(this.#similarityFnNames.length > 0 ? this.#similarityFnNames : ["cosine"]),
    );
  }

  /** The similarity functions used (the model's similarityFnName when none was given, known after evaluate). */
  get similarityFnNames(): readonly SimilarityFnName[] {
    return this.#similarityFnNames;
  }

  override get description(): string {
    return "Semantic Similarity";
  }

  override evaluate(model: SentenceTransformer, options: EvaluateOptions = {}): Record<string, number> {
    const { outputPath, epoch = -1, steps = -1 } = options;
    const embeddings1 = this.#embed(model, this.sentences1);
    const embeddings2 = this.#embed(model, this.sentences2);
    if (this.#similarityFnNames.length === 0) this.#similarityFnNames = [model.similarityFnName];
    const fnNames = this.#similarityFnNames;

    const metrics: Record<string, number> = {};
    for (const fn of fnNames) {
      const predicted = pairwiseScores(fn, embeddings1, embeddings2); // [pairs]
      metrics[`pearson_${fn}`] = pearson(this.scores, predicted);
      metrics[`spearman_${fn}`] = spearman(this.scores, predicted);
    }
    if (outputPath !== undefined && this.writeCsv) {
      const headers = ["epoch", "steps", ...fnNames.flatMap((fn) => [`${fn}_pearson`, `${fn}_spearman`])];
      const values = fnNames.flatMap((fn) => [metrics[`pearson_${fn}`]!, metrics[`spearman_${fn}`]!]);
      appendCsvRow(outputPath, this.csvFile, headers, epoch, steps, values);
    }
    if (fnNames.length > 1) {
      metrics["pearson_max"] = Math.max(...fnNames.map((fn) => metrics[`pearson_${fn}`]!));
      metrics["spearman_max"] = Math.max(...fnNames.map((fn) => metrics[`spearman_${fn}`]!));
    }
    this.primaryMetric = this.fullKey(this.#primaryMetric(fnNames));
    return this.prefixNameToMetrics(metrics);
  }

  override getConfigDict(): Record<string, ConfigValue> {
    const config: Record<string, ConfigValue> = {};
    if (this.truncateDim !== null) config["truncateDim"] = this.truncateDim;
    if (this.precision !== null) config["precision"] = this.precision;
    return config;
  }

  #primaryMetric(fnNames: readonly SimilarityFnName[]): string {
    if (this.mainSimilarity !== null) return `spearman_${this.mainSimilarity}`;
    return fnNames.length > 1 ? "spearman_max" : `spearman_${fnNames[0]!}`;
  }

  /** Float rows of the embeddings; quantized ones (normalized first, as the reference) are unpacked to 0/1 bits or cast. */
  #embed(model: SentenceTransformer, sentences: readonly string[]): Float32Array[] {
    if (this.precision === null) return embedRows(model, sentences, this);
    const rows = model.encode(sentences, {
      batchSize: this.batchSize,
      showProgressBar: this.showProgressBar,
      truncateDim: this.truncateDim ?? undefined,
      precision: this.precision,
      normalizeEmbeddings: true,
    }) as Float32Array[] | Int8Array[] | Uint8Array[];
    if (this.precision === "binary") return rows.map((row) => unpackBits(row, 128));
    if (this.precision === "ubinary") return rows.map((row) => unpackBits(row, 0));
    return rows.map((row) => Float32Array.from(row));
  }
}

/** numpy's unpackbits (most significant bit first) of bytes shifted by `offset` into 0/1 floats. */
function unpackBits(row: ArrayLike<number>, offset: number): Float32Array {
  const out = new Float32Array(row.length * 8);
  for (let i = 0; i < row.length; i++) {
    const byte = (row[i]! + offset) & 0xff;
    for (let bit = 0; bit < 8; bit++) out[i * 8 + bit] = (byte >> (7 - bit)) & 1;
  }
  return out;
}
