// MultipleNegativesRankingLoss: in-batch negatives with a softmax over similarity scores (InfoNCE).
import { functional as F, scope, type Tensor } from "@stts/torch";
import { InBatchNegativesLoss, type InBatchNegativesLossOptions } from "./in-batch-negatives-loss-base.js";
import { checkLossInputs, type DataFormatId, type LossCategory } from "./loss-inputs.js";

/** Options of `MultipleNegativesRankingLoss`. */
export type MultipleNegativesRankingLossOptions = InBatchNegativesLossOptions;

/**
 * For each anchor a_i, ranks its positive p_i above every other candidate in the batch: the other
 * anchors' positives p_j and all hard negatives n_j. The loss is the cross-entropy of
 * softmax(scale * sim(a_i, candidates)) with the positive as target.
 *
 * Inputs: (anchor, positive) pairs or (anchor, positive, negative_1, ..., negative_n); no labels.
 *
 * @example
 * const loss = new MultipleNegativesRankingLoss(model, { scale: 20, similarityFct: cosSim });
 * const value = loss.forward([anchorFeatures, positiveFeatures], null);
 *
 * @param model the model to train
 * @param options scale (default 20), similarityFct (default cosSim)
 */
export class MultipleNegativesRankingLoss extends InBatchNegativesLoss {
  static readonly category: LossCategory = "table";
  static readonly description: string =
    "In-batch negatives (InfoNCE): each anchor must pick its own positive out of every positive and hard negative of the batch, by scaled cosine similarity and cross-entropy.";
  static readonly dataFormats: readonly DataFormatId[] = ["pairs", "triplets", "n-tuples"];
  static readonly commonChoiceFor: readonly DataFormatId[] = ["pairs", "triplets", "n-tuples"];

  /** embeddings: [anchors, positives, ...negatives], each [batch, dim]. */
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null): Tensor {
    checkLossInputs("MultipleNegativesRankingLoss", MultipleNegativesRankingLoss, embeddings, labels);
    return scope(() => {
      const { scores, target } = this.inBatchScores(embeddings); // [batch, batch * (1 + negatives)], a_i -> p_i
      return F.crossEntropy(scores, target);
    });
  }

  override get citation(): string {
    return `@misc{henderson2017efficient,
    title={Efficient Natural Language Response Suggestion for Smart Reply},
    author={Matthew Henderson and Rami Al-Rfou and Brian Strope and Yun-hsuan Sung and Laszlo Lukacs and Ruiqi Guo and Sanjiv Kumar and Balint Miklos and Ray Kurzweil},
    year={2017},
    eprint={1705.00652},
    archivePrefix={arXiv},
    primaryClass={cs.CL}
}
`;
  }
}
