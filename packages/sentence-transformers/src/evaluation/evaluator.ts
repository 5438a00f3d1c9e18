// The contract every evaluator follows (sentence-transformers' SentenceEvaluator), and what the
// evaluators share: metric-name prefixing, appending to a CSV results file, the pairwise similarity
// functions by name, and argument checks.
import * as fs from "node:fs";
import * as path from "node:path";
import * as torch from "@stts/torch";
import type { ConfigValue } from "../losses/loss.js";
import { SIMILARITY_FN_NAMES, type SentenceTransformer, type SimilarityFnName } from "../sentence-transformer.js";
import { rowsToTensor } from "../util/quantization.js";
import {
  cosSim,
  dotScore,
  euclideanSim,
  manhattanSim,
  pairwiseCosSim,
  pairwiseDotScore,
  pairwiseEuclideanSim,
  pairwiseManhattanSim,
  type SimilarityFunction,
} from "../util/similarity.js";

/** Where and when an evaluation runs: the trainer passes all three, a plain call usually none. */
export interface EvaluateOptions {
  /** Folder for the CSV results file (and other outputs); nothing is written when absent. */
  outputPath?: string;
  /** The epoch the evaluation happens in (default -1: not during training). */
  epoch?: number;
  /** The global step (default -1: end of the epoch or not during training). */
  steps?: number;
}

/**
 * Base class of every evaluator. `evaluate(model)` returns metrics keyed `${name}_${metric}` (just
 * `metric` when the name is empty), e.g. "sts-dev_spearman_cosine"; `primaryMetric` is the full key
 * of the metric used to pick the best checkpoint (final once `evaluate` has run: some evaluators
 * only know it from the model's similarity function), and `greaterIsBetter` says which way is better.
 *
 * @example
 * class DimensionEvaluator extends SentenceEvaluator {
 *   constructor() { super("size"); this.primaryMetric = this.fullKey("dim"); }
 *   evaluate(model: SentenceTransformer) { return this.prefixNameToMetrics({ dim: model.getSentenceEmbeddingDimension() ?? 0 }); }
 * }
 *
 * @param name prefix of the metric keys and part of the CSV file name (default "")
 */
export abstract class SentenceEvaluator {
  readonly name: string;
  /** The full key of the main metric (e.g. "sts-dev_spearman_cosine"). */
  primaryMetric = "";
  /** Whether a higher primary metric is better (true for every built-in evaluator). */
  greaterIsBetter = true;

  constructor(name = "") {
    this.name = name;
  }

  /** Evaluates `model` (in eval mode, without gradients; its mode is restored) and returns the metrics. */
  abstract evaluate(model: SentenceTransformer, options?: EvaluateOptions): Record<string, number>;

  /** A readable description for the model card: "BinaryClassificationEvaluator" -> "Binary Classification". */
  get description(): string {
    const className = this.constructor.name;
    const cut = className.indexOf("Evaluator");
    return (cut >= 0 ? className.slice(0, cut) : className).replace(/([a-z])([A-Z])/g, "$1 $2");
  }

  /** The settings worth recording in the model card (the reference's get_config_dict). */
  getConfigDict(): Record<string, ConfigValue> {
    return {};
  }

  /** Prefixes every key with `${name}_` (when the name is not empty). */
  protected prefixNameToMetrics(metrics: Record<string, number>): Record<string, number> {
    if (this.name === "") return metrics;
    return Object.fromEntries(Object.entries(metrics).map(([key, value]) => [this.fullKey(key), value]));
  }

  /** The key `metric` will have once prefixed. */
  protected fullKey(metric: string): string {
    return this.name === "" ? metric : `${this.name}_${metric}`;
  }
}

/** "_name" when the name is set, "" otherwise: the reference's CSV file name infix. */
export function nameSuffix(name: string): string {
  return name === "" ? "" : `_${name}`;
}

/**
 * Appends one row (epoch, steps, then `values`) to `outputPath/fileName`, writing `headers` first when
 * the file is new (the folder is created if needed). Values are written as Python writes floats
 * (1.0, 1e-05, nan), so the files read like the reference's; `lineTerminator` is "\r\n" for the files
 * the reference writes with csv.writer and "\n" for those it joins by hand.
 */
export function appendCsvRow(
  outputPath: string,
  fileName: string,
  headers: readonly string[],
  epoch: number,
  steps: number,
  values: readonly number[],
  lineTerminator: "\r\n" | "\n" = "\r\n",
): void {
  fs.mkdirSync(outputPath, { recursive: true });
  const file = path.join(outputPath, fileName);
  const header = fs.existsSync(file) ? "" : headers.join(",") + lineTerminator;
  const row = [String(epoch), String(steps), ...values.map(pythonFloat)];
  fs.appendFileSync(file, header + row.join(",") + lineTerminator, "utf8");
}

/**
 * Python's repr of a float: the shortest round-trip digits (as JavaScript), in fixed notation when
 * the decimal exponent is in [-4, 16) and scientific otherwise ("1e-05", "1.5e+16"), "1.0" for
 * integral values, and "nan" / "inf".
 */
export function pythonFloat(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  const [mantissa, exponentText] = value.toExponential().split("e") as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    return `${mantissa}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  // JavaScript prints fixed notation for exponents in [-6, 21), with the same digits.
  const fixed = Object.is(value, -0) ? "-0" : String(value);
  return fixed.includes(".") ? fixed : `${fixed}.0`;
}

/** Row i of `a` against row i of `b` for each similarity name: higher is more similar (distances negated). */
export const PAIRWISE_SIMILARITY: Readonly<Record<SimilarityFnName, SimilarityFunction>> = Object.freeze({
  cosine: pairwiseCosSim,
  dot: pairwiseDotScore,
  euclidean: pairwiseEuclideanSim,
  manhattan: pairwiseManhattanSim,
});

/** Every row of `a` against every row of `b` for each similarity name (the model's similarity functions). */
export const MATRIX_SIMILARITY: Readonly<Record<SimilarityFnName, SimilarityFunction>> = Object.freeze({
  cosine: cosSim,
  dot: dotScore,
  euclidean: euclideanSim,
  manhattan: manhattanSim,
});

/** Checks a similarity function name ("cosine", "dot", "euclidean", "manhattan"), naming who asked. */
export function checkSimilarityFnName(name: string, who: string, argument: string): SimilarityFnName {
  if (!(SIMILARITY_FN_NAMES as readonly string[]).includes(name)) {
    throw new Error(
      `${who}: ${argument} '${name}' is not a similarity function (expected one of ${SIMILARITY_FN_NAMES.join(", ")})`,
    );
  }
  return name as SimilarityFnName;
}

/**
 * The similarity functions an evaluator scores with: the given names (checked), else [main] when a main
 * function is given, else [] (the model's similarityFnName, known at evaluation). The main function must
 * be among them.
 */
export function resolveSimilarityFnNames(
  who: string,
  names: readonly string[] | null | undefined,
  main: { argument: string; value: SimilarityFnName | null },
): SimilarityFnName[] {
  const checked = (names ?? []).map((fn) => checkSimilarityFnName(fn, who, "similarityFnNames"));
  if (main.value === null) return checked;
  if (checked.length === 0) return [main.value];
  if (!checked.includes(main.value)) {
    throw new Error(`${who}: ${main.argument} '${main.value}' is not among similarityFnNames (${checked.join(", ")})`);
  }
  return checked;
}

/** How an evaluator encodes: batch size, progress bar, and truncation (null: the model's own). */
export interface EmbedSettings {
  batchSize: number;
  showProgressBar: boolean;
  truncateDim: number | null;
}

/** The float32 embeddings of `sentences`, one row each. */
export function embedRows(
  model: SentenceTransformer,
  sentences: readonly string[],
  settings: EmbedSettings,
): Float32Array[] {
  return model.encode(sentences, {
    batchSize: settings.batchSize,
    showProgressBar: settings.showProgressBar,
    truncateDim: settings.truncateDim ?? undefined,
  });
}

/** similarity(rows1[i], rows2[i]) for each i with the named function (distances negated): [pairs]. */
export function pairwiseScores(
  fn: SimilarityFnName,
  rows1: readonly ArrayLike<number>[],
  rows2: readonly ArrayLike<number>[],
): number[] {
  return torch.scope(() => {
    const scores = PAIRWISE_SIMILARITY[fn](rowsToTensor(rows1, "float32"), rowsToTensor(rows2, "float32"));
    return Array.from(scores.toTypedArray() as Float32Array);
  });
}

/** Throws unless every named list has the length of the first, e.g. "sentences1 (3), sentences2 (2)". */
export function checkSameLength(who: string, lists: Record<string, { length: number }>): void {
  const entries = Object.entries(lists);
  const expected = entries[0]?.[1].length;
  if (entries.every(([, list]) => list.length === expected)) return;
  const described = entries.map(([argument, list]) => `${argument} (${list.length})`);
  throw new RangeError(
    `${who}: ${described.slice(0, -1).join(", ")} and ${described.at(-1)} must have the same length`,
  );
}

/** The index of the largest value (the first one on ties, as Python's max). */
export function argMax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
