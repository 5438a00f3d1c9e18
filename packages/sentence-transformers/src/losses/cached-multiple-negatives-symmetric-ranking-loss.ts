// CachedMultipleNegativesSymmetricRankingLoss: MultipleNegativesSymmetricRankingLoss with GradCache.
import * as torch from "@stts/torch";
import { functional as F, type Tensor } from "@stts/torch";
import {
  CachedInBatchNegativesLoss,
  sumOverChunks,
  type CachedMultipleNegativesRankingLossOptions,
} from "./cached-multiple-negatives-ranking-loss.js";
import type { InputColumns, LabelKind, DataFormatId, LossCategory } from "./loss-inputs.js";

/** Options of `CachedMultipleNegativesSymmetricRankingLoss` (the same as the non-symmetric one's). */
export type CachedMultipleNegativesSymmetricRankingLossOptions = CachedMultipleNegativesRankingLossOptions;

/**
 * MultipleNegativesSymmetricRankingLoss computed with GradCache: the mean of a forward term (for
 * each anchor, find its positive among all positives and negatives of the batch) and a backward term
 * (for each positive, find its anchor among all anchors), both cross-entropies over
 * `scale * similarityFct(...)`. Same numbers and gradients as the non-cached loss, with memory that
 * grows with `miniBatchSize`. See GradCacheLoss for the two-phase backward: train with
 * `backwardLoss(loss, value)`.
 *
 * Columns: (anchor, positive) pairs; negatives, if given, only join the forward term's candidates.
 * Labels: none.
 *
 * @param model the model to train
 * @param options scale (default 20), similarityFct (default cosSim), miniBatchSize (default 32),
 *   gatherAcrossDevices (default false), showProgressBar (default false)
 *
 * @example
 * const loss = new CachedMultipleNegativesSymmetricRankingLoss(model, { miniBatchSize: 32 });
 * backwardLoss(loss, loss.forward([questions, answers], null));
 */
export class CachedMultipleNegativesSymmetricRankingLoss extends CachedInBatchNegativesLoss {
  static readonly inputColumns: InputColumns = { min: 2, max: null, roles: ["anchor", "positive", "negative..."] };
  static readonly labelKind: LabelKind = "none";
  static readonly category: LossCategory = "table";
  static readonly description: string =
    "MultipleNegativesSymmetricRankingLoss with gradient caching, for large batches in bounded memory.";
  static readonly dataFormats: readonly DataFormatId[] = ["pairs", "triplets", "n-tuples"];
  static readonly commonChoiceFor: readonly DataFormatId[] = [];

  override calculateLoss(reps: Tensor[], _guideReps: Tensor[] | null, withBackward: boolean): Tensor {
    return torch.scope(() => {
      const anchors = reps[0]!; // [batch, dim]
      const candidates = torch.cat(reps.slice(1)); // [batch * (1 + negatives), dim]; positives first
      const batchSize = anchors.size(0);
      return sumOverChunks(batchSize, this.miniBatchSize, withBackward, (start, length) => {
        const targets = torch.arange(start, start + length, 1, { dtype: "int64", device: anchors.device });
        const forwardScores = this.similarityFct(anchors.narrow(0, start, length), candidates).mul(this.scale);
        const backwardScores = this.similarityFct(candidates.narrow(0, start, length), anchors).mul(this.scale);
        // forward: anchor -> its positive among all candidates; backward: positive -> its anchor
        return F.crossEntropy(forwardScores, targets).add(F.crossEntropy(backwardScores, targets)).div(2);
      });
    });
  }
}
