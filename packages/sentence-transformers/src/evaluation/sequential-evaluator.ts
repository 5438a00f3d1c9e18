// SequentialEvaluator: runs several evaluators one after the other and combines their main scores.
import type { SentenceTransformer } from "../sentence-transformer.js";
import { SentenceEvaluator, type EvaluateOptions } from "./evaluator.js";

/**
 * Runs each evaluator in turn with the same model and options, and returns the union of their metrics
 * plus `sequential_score` = mainScoreFunction(each evaluator's primary metric value), by default the
 * last evaluator's (sentence-transformers' SequentialEvaluator). The primary metric is "sequential_score".
 *
 * @example
 * const evaluator = new SequentialEvaluator([stsEvaluator, irEvaluator]);
 * evaluator.evaluate(model); // { "sts-dev_spearman_cosine": 0.8, ..., "msmarco_cosine_ndcg@10": 0.6, sequential_score: 0.6 }
 *
 * @param evaluators run in this order
 * @param mainScoreFunction combines the primary metric values, in evaluator order (default: the last one)
 */
export class SequentialEvaluator extends SentenceEvaluator {
  readonly evaluators: readonly SentenceEvaluator[];
  readonly mainScoreFunction: (scores: number[]) => number;

  constructor(
    evaluators: readonly SentenceEvaluator[],
    mainScoreFunction: (scores: number[]) => number = (scores) => scores[scores.length - 1]!,
  ) {
    super("");
    if (evaluators.length === 0) throw new RangeError("SequentialEvaluator: evaluators must not be empty");
    this.evaluators = [...evaluators];
    this.mainScoreFunction = mainScoreFunction;
    this.primaryMetric = "sequential_score";
  }

  override evaluate(model: SentenceTransformer, options: EvaluateOptions = {}): Record<string, number> {
    const results: Record<string, number> = {};
    const scores: number[] = [];
    for (const evaluator of this.evaluators) {
      const metrics = evaluator.evaluate(model, options);
      // The primary metric, or the first one when an evaluator names none.
      scores.push(metrics[evaluator.primaryMetric] ?? Object.values(metrics)[0] ?? Number.NaN);
      Object.assign(results, metrics);
    }
    results["sequential_score"] = this.mainScoreFunction(scores);
    return results;
  }
}
