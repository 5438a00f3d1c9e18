// MSEEvaluator: mean squared error between a teacher's embeddings and the model's (knowledge distillation).
import type { ConfigValue } from "../losses/loss.js";
import type { SentenceTransformer } from "../sentence-transformer.js";
import { appendCsvRow, checkSameLength, embedRows, SentenceEvaluator, type EvaluateOptions } from "./evaluator.js";

/** Options of MSEEvaluator: a teacher model, or the teacher's embeddings of the source sentences. */
export interface MSEEvaluatorOptions {
  /** Embeds the source sentences once, at construction. */
  teacherModel?: SentenceTransformer;
  /** The teacher's embeddings of the source sentences, one row each (instead of teacherModel). */
  teacherEmbeddings?: readonly ArrayLike<number>[];
  /** Default false. */
  showProgressBar?: boolean;
  /** Sentences per encode batch (default 32). */
  batchSize?: number;
  /** Metric-key prefix and CSV file name part (default ""). */
  name?: string;
  /** Append the results to a CSV file in outputPath (default true). */
  writeCsv?: boolean;
  /** Keep only the first dimensions of both embeddings (default null: the models' truncateDim). */
  truncateDim?: number | null;
}

/**
 * The mean squared error, times 100, between the teacher's embeddings of `sourceSentences` and the
 * evaluated model's embeddings of `targetSentences` (sentence-transformers' MSEEvaluator, used for
 * multilingual distillation: English sources, translated targets). It reports `${name}_negative_mse`
 * = -100 * MSE so that higher is better; that is the primary metric. Results (the positive MSE x 100)
 * are appended to `mse_evaluation_${name}_results.csv` in `outputPath`.
 *
 * @example
 * const evaluator = new MSEEvaluator(english, german, { teacherModel: teacher, name: "en-de" });
 * evaluator.evaluate(student)["en-de_negative_mse"]; // -0.81
 *
 * @param sourceSentences embedded by the teacher
 * @param targetSentences embedded by the evaluated model, one per source sentence
 * @param options teacherModel or teacherEmbeddings (one is required), showProgressBar (false), batchSize (32),
 *   name (""), writeCsv (true), truncateDim (null)
 */
export class MSEEvaluator extends SentenceEvaluator {
  readonly targetSentences: readonly string[];
  /** The teacher's embeddings of the source sentences. */
  readonly sourceEmbeddings: readonly Float32Array[];
  readonly showProgressBar: boolean;
  readonly batchSize: number;
  readonly writeCsv: boolean;
  readonly truncateDim: number | null;
  /** The CSV results file name (the reference's, "mse_evaluation__results.csv" without a name). */
  readonly csvFile: string;

  constructor(sourceSentences: readonly string[], targetSentences: readonly string[], options: MSEEvaluatorOptions) {
    super(options.name ?? "");
    const who = "MSEEvaluator";
    checkSameLength(who, { sourceSentences, targetSentences });
    this.targetSentences = [...targetSentences];
    this.showProgressBar = options.showProgressBar ?? false;
    this.batchSize = options.batchSize ?? 32;
    this.writeCsv = options.writeCsv ?? true;
    this.truncateDim = options.truncateDim ?? null;
    this.sourceEmbeddings = this.#teacherEmbeddings(sourceSentences, options, who);
    this.csvFile = `mse_evaluation_${this.name}_results.csv`;
    this.primaryMetric = this.fullKey("negative_mse");
  }

  override get description(): string {
    return "Knowledge Distillation";
  }

  override evaluate(model: SentenceTransformer, options: EvaluateOptions = {}): Record<string, number> {
    const { outputPath, epoch = -1, steps = -1 } = options;
    const targets = embedRows(model, this.targetSentences, this);
    const mse = meanSquaredError(this.sourceEmbeddings, targets) * 100;
    if (outputPath !== undefined && this.writeCsv) {
      appendCsvRow(outputPath, this.csvFile, ["epoch", "steps", "MSE"], epoch, steps, [mse]);
    }
    return this.prefixNameToMetrics({ negative_mse: -mse });
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return this.truncateDim === null ? {} : { truncateDim: this.truncateDim };
  }

  #teacherEmbeddings(sources: readonly string[], options: MSEEvaluatorOptions, who: string): Float32Array[] {
    const { teacherModel, teacherEmbeddings } = options;
    if ((teacherModel === undefined) === (teacherEmbeddings === undefined)) {
      throw new Error(`${who}: pass exactly one of teacherModel and teacherEmbeddings`);
    }
    if (teacherEmbeddings !== undefined) {
      checkSameLength(who, { sourceSentences: sources, teacherEmbeddings });
      const rows = teacherEmbeddings.map((row) => Float32Array.from(row));
      return this.truncateDim === null ? rows : rows.map((row) => row.slice(0, this.truncateDim!));
    }
    return embedRows(teacherModel!, sources, this);
  }
}

/** Mean over every entry of (a - b)^2, for rows of equal width. */
function meanSquaredError(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let sum = 0;
  let count = 0;
  a.forEach((row, i) => {
    const other = b[i]!;
    if (other.length !== row.length) {
      throw new RangeError(
        `MSEEvaluator: teacher embeddings have ${row.length} dimensions, the model's ${other.length} (row ${i})`,
      );
    }
    for (let k = 0; k < row.length; k++) sum += (row[k]! - other[k]!) ** 2;
    count += row.length;
  });
  return count === 0 ? Number.NaN : sum / count;
}
