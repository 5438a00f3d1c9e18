// TripletEvaluator: how often the anchor is more similar to its positive than to its negative.
import * as torch from "@stts/torch";
import type { ConfigValue } from "../losses/loss.js";
import type { SentenceTransformer, SimilarityFnName } from "../sentence-transformer.js";
import { rowsToTensor } from "../util/quantization.js";
import {
  appendCsvRow,
  checkSameLength,
  checkSimilarityFnName,
  embedRows,
  nameSuffix,
  PAIRWISE_SIMILARITY,
  resolveSimilarityFnNames,
  SentenceEvaluator,
  type EvaluateOptions,
} from "./evaluator.js";

/** Options of TripletEvaluator. */
export interface TripletEvaluatorOptions {
  /** The similarity whose accuracy is the primary metric (default: see similarityFnNames). */
  mainSimilarityFunction?: SimilarityFnName | null;
  /**
   * How much more similar the positive must be: one number for every function, or per function
   * ({ cosine, dot, euclidean, manhattan }, missing ones 0). Default 0.
   */
  margin?: number | Partial<Record<SimilarityFnName, number>>;
  /** Metric-key prefix and CSV file name part (default ""). */
  name?: string;
  /** Sentences per encode batch (default 16). */
  batchSize?: number;
  /** Default false. */
  showProgressBar?: boolean;
  /** Append the results to a CSV file in outputPath (default true). */
  writeCsv?: boolean;
  /** Keep only the first dimensions of the embeddings (default null: the model's truncateDim). */
  truncateDim?: number | null;
  /** The similarities to score with (default [mainSimilarityFunction] if given, else the model's similarityFnName). */
  similarityFnNames?: SimilarityFnName[] | null;
}

/**
 * For each triplet (anchor, positive, negative), checks whether
 * similarity(anchor, positive) > similarity(anchor, negative) + margin, with cosine, dot, or minus the
 * euclidean / manhattan distance (sentence-transformers' TripletEvaluator). Keys `${name}_cosine_accuracy`
 * (one per function) and `${name}_max_accuracy` when several are used; the primary metric is the accuracy
 * of `mainSimilarityFunction`, else `max_accuracy` (several functions), else the one function's.
 * Results are appended to `triplet_evaluation[_name]_results.csv` in `outputPath`.
 *
 * @example
 * const evaluator = new TripletEvaluator(dev.column("anchor"), dev.column("positive"), dev.column("negative"), { name: "nli-dev" });
 * evaluator.evaluate(model)["nli-dev_cosine_accuracy"]; // 0.95
 *
 * @param anchors the sentences compared to
 * @param positives one sentence per anchor that should be closer
 * @param negatives one sentence per anchor that should be farther
 * @param options mainSimilarityFunction (null), margin (0), name (""), batchSize (16), showProgressBar (false),
 *   writeCsv (true), truncateDim (null), similarityFnNames (the model's)
 */
export class TripletEvaluator extends SentenceEvaluator {
  readonly anchors: readonly string[];
  readonly positives: readonly string[];
  readonly negatives: readonly string[];
  readonly mainSimilarityFunction: SimilarityFnName | null;
  /** The margin of each similarity function. */
  readonly margin: Readonly<Record<SimilarityFnName, number>>;
  readonly batchSize: number;
  readonly showProgressBar: boolean;
  readonly writeCsv: boolean;
  readonly truncateDim: number | null;
  /** The CSV results file name. */
  readonly csvFile: string;
  #similarityFnNames: SimilarityFnName[];

  constructor(
    anchors: readonly string[],
    positives: readonly string[],
    negatives: readonly string[],
    options: TripletEvaluatorOptions = {},
  ) {
    super(options.name ?? "");
    const who = "TripletEvaluator";
    checkSameLength(who, { anchors, positives, negatives });
    this.anchors = [...anchors];
    this.positives = [...positives];
    this.negatives = [...negatives];
    this.mainSimilarityFunction =
      options.mainSimilarityFunction == null
        ? null
        : checkSimilarityFnName(options.mainSimilarityFunction, who, "mainSimilarityFunction");
    // Unlike the reference (whose primary metric would then be missing), a main function alone is also scored.
    this.#similarityFnNames = resolveSimilarityFnNames(who, options.similarityFnNames, {
      argument: "mainSimilarityFunction",
      value: this.mainSimilarityFunction,
    });
    this.margin = resolveMargin(options.margin, who);
    this.batchSize = options.batchSize ?? 16;
    this.showProgressBar = options.showProgressBar ?? false;
    this.writeCsv = options.writeCsv ?? true;
    this.truncateDim = options.truncateDim ?? null;
    this.csvFile = `triplet_evaluation${nameSuffix(this.name)}_results.csv`;
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
    const [anchors, positives, negatives] = [this.anchors, this.positives, this.negatives].map((sentences) =>
      embedRows(model, sentences, this),
    ) as [Float32Array[], Float32Array[], Float32Array[]];
    if (this.#similarityFnNames.length === 0) this.#similarityFnNames = [model.similarityFnName];
    const fnNames = this.#similarityFnNames;

    const metrics: Record<string, number> = {};
    for (const fn of fnNames) {
      metrics[`${fn}_accuracy`] = torch.scope(() => {
        const a = rowsToTensor(anchors, "float32");
        const positiveScores = PAIRWISE_SIMILARITY[fn](a, rowsToTensor(positives, "float32")); // [triplets]
        const negativeScores = PAIRWISE_SIMILARITY[fn](a, rowsToTensor(negatives, "float32")); // [triplets]
        return positiveScores.gt(negativeScores.add(this.margin[fn])).float().mean().item();
      });
    }
    if (outputPath !== undefined && this.writeCsv) {
      const headers = ["epoch", "steps", ...fnNames.map((fn) => `accuracy_${fn}`)];
      appendCsvRow(outputPath, this.csvFile, headers, epoch, steps, Object.values(metrics));
    }
    if (fnNames.length > 1) metrics["max_accuracy"] = Math.max(...Object.values(metrics));
    this.primaryMetric = this.fullKey(this.#primaryMetric(fnNames));
    return this.prefixNameToMetrics(metrics);
  }

  override getConfigDict(): Record<string, ConfigValue> {
    const config: Record<string, ConfigValue> = {};
    if (Object.values(this.margin).some((m) => m !== 0)) config["margin"] = { ...this.margin };
    if (this.truncateDim !== null) config["truncateDim"] = this.truncateDim;
    return config;
  }

  #primaryMetric(fnNames: readonly SimilarityFnName[]): string {
    if (this.mainSimilarityFunction !== null) return `${this.mainSimilarityFunction}_accuracy`;
    return fnNames.length > 1 ? "max_accuracy" : `${fnNames[0]!}_accuracy`;
  }
}

function resolveMargin(
  margin: TripletEvaluatorOptions["margin"],
  who: string,
): Readonly<Record<SimilarityFnName, number>> {
  const zeros: Record<SimilarityFnName, number> = { cosine: 0, dot: 0, manhattan: 0, euclidean: 0 };
  if (margin === undefined) return zeros;
  if (typeof margin === "number") return { cosine: margin, dot: margin, manhattan: margin, euclidean: margin };
  for (const [fn, value] of Object.entries(margin)) {
    checkSimilarityFnName(fn, who, "margin key");
    if (typeof value !== "number" || Number.isNaN(value)) {
      throw new TypeError(`${who}: margin['${fn}'] must be a number, got ${String(value)}`);
    }
  }
  return { ...zeros, ...margin };
}
