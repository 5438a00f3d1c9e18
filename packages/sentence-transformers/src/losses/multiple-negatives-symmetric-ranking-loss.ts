// MultipleNegativesSymmetricRankingLoss: MNRL plus the reverse direction (find the anchor for each positive).
import { functional as F, scope, type Tensor } from "@stts/torch";
import { InBatchNegativesLoss, type InBatchNegativesLossOptions } from "./in-batch-negatives-loss-base.js";
import { checkLossInputs, type DataFormatId, type LossCategory } from "./loss-inputs.js";

/** Options of `MultipleNegativesSymmetricRankingLoss`. */
export type MultipleNegativesSymmetricRankingLossOptions = InBatchNegativesLossOptions;

/**
 * The mean of two cross-entropies: for each anchor, find its positive among all candidates
 * (as MultipleNegativesRankingLoss), and for each positive, find its anchor among all anchors.
 * Hard negatives only enter the first (anchor -> candidates) term.
 *
 * Inputs: (anchor, positive) pairs or (anchor, positive, negative_1, ..., negative_n); no labels.
 *
 * @example
 * const loss = new MultipleNegativesSymmetricRankingLoss(model, { scale: 20 });
 * const value = loss.forward([questionFeatures, answerFeatures], null);
 *
 * @param model the model to train
 * @param options scale (default 20), similarityFct (default cosSim)
 */
export class MultipleNegativesSymmetricRankingLoss extends InBatchNegativesLoss {
  static readonly category: LossCategory = "table";
  static readonly description: string =
    "MultipleNegativesRankingLoss in both directions: each positive must also pick its own anchor among all anchors of the batch.";
  static readonly dataFormats: readonly DataFormatId[] = ["pairs", "triplets", "n-tuples"];
  static readonly commonChoiceFor: readonly DataFormatId[] = [];

  /** embeddings: [anchors, positives, ...negatives], each [batch, dim]. */
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null): Tensor {
    checkLossInputs("MultipleNegativesSymmetricRankingLoss", MultipleNegativesSymmetricRankingLoss, embeddings, labels);
    return scope(() => {
      const { scores, target } = this.inBatchScores(embeddings); // [batch, batch * (1 + negatives)]
      const forwardLoss = F.crossEntropy(scores, target); // each anchor vs every candidate
      const batch = target.size(0);
      const backwardLoss = F.crossEntropy(scores.slice(1, 0, batch).t(), target); // each positive vs all anchors
      return forwardLoss.add(backwardLoss).div(2);
    });
  }
}
