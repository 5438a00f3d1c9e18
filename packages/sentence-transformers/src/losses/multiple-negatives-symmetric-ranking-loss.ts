// MultipleNegativesSymmetricRankingLoss: MNRL plus the reverse direction (find the anchor for each positive).
import { arange, cat, functional as F, scope, type Tensor } from "@stts/torch";
import type { EmbeddingModel } from "../features.js";
import { cosSim, similarityFunctionName, type SimilarityFunction } from "../util/similarity.js";
import { SentenceEmbeddingLoss, type ConfigValue } from "./loss.js";
import {
  checkLossInputs,
  type InputColumns,
  type LabelKind,
  type DataFormatId,
  type LossCategory,
} from "./loss-inputs.js";

/** Options of `MultipleNegativesSymmetricRankingLoss`. */
export interface MultipleNegativesSymmetricRankingLossOptions {
  /** Multiplies the similarities before the softmax. Default 20. */
  scale?: number;
  /** Similarity matrix function. Default cosSim. */
  similarityFct?: SimilarityFunction;
}

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
export class MultipleNegativesSymmetricRankingLoss extends SentenceEmbeddingLoss {
  static readonly inputColumns: InputColumns = { min: 2, max: null, roles: ["anchor", "positive", "negative..."] };
  static readonly labelKind: LabelKind = "none";
  static readonly category: LossCategory = "table";
  static readonly description: string =
    "MultipleNegativesRankingLoss in both directions: each positive must also pick its own anchor among all anchors of the batch.";
  static readonly dataFormats: readonly DataFormatId[] = ["pairs", "triplets", "n-tuples"];
  static readonly commonChoiceFor: readonly DataFormatId[] = [];

  readonly scale: number;
  readonly similarityFct: SimilarityFunction;

  constructor(model: EmbeddingModel, options: MultipleNegativesSymmetricRankingLossOptions = {}) {
    super(model);
    this.scale = options.scale ?? 20;
    this.similarityFct = options.similarityFct ?? cosSim;
  }

  /** embeddings: [anchors, positives, ...negatives], each [batch, dim]. */
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null): Tensor {
    checkLossInputs("MultipleNegativesSymmetricRankingLoss", MultipleNegativesSymmetricRankingLoss, embeddings, labels);
    return scope(() => {
      const [anchors, ...candidateColumns] = embeddings as [Tensor, ...Tensor[]];
      const batch = anchors.size(0);
      const scores = this.similarityFct(anchors, cat(candidateColumns, 0)).mul(this.scale); // [batch, batch * (1 + n)]
      const target = arange(0, batch, 1, { dtype: "int64", device: anchors.device });
      const forwardLoss = F.crossEntropy(scores, target);
      const anchorPositiveScores = scores.slice(1, 0, batch); // [batch (anchors), batch (positives)]
      const backwardLoss = F.crossEntropy(anchorPositiveScores.t(), target); // each positive vs all anchors
      return forwardLoss.add(backwardLoss).div(2);
    });
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return { scale: this.scale, similarityFct: similarityFunctionName(this.similarityFct) };
  }
}
