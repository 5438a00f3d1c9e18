// What MultipleNegativesRankingLoss and MultipleNegativesSymmetricRankingLoss share: a scaled similarity of
// each anchor with every candidate of the batch, its target (a_i matches p_i), and their config.
import { arange, cat, scope, type Tensor } from "@stts/torch";
import type { EmbeddingModel } from "../features.js";
import { cosSim, similarityFunctionName, type SimilarityFunction } from "../util/similarity.js";
import { SentenceEmbeddingLoss, type ConfigValue } from "./loss.js";
import type { InputColumns, LabelKind } from "./loss-inputs.js";

/** Options of `MultipleNegativesRankingLoss` and `MultipleNegativesSymmetricRankingLoss`. */
export interface InBatchNegativesLossOptions {
  /** Multiplies the similarities before the softmax (inverse temperature). Default 20. */
  scale?: number;
  /** Similarity of anchors [batch, dim] with candidates [m, dim] -> [batch, m]. Default cosSim. */
  similarityFct?: SimilarityFunction;
}

/** The scale and similarity function of an in-batch-negatives loss, with the reference's defaults. */
export abstract class InBatchNegativesLoss extends SentenceEmbeddingLoss {
  static readonly inputColumns: InputColumns = { min: 2, max: null, roles: ["anchor", "positive", "negative..."] };
  static readonly labelKind: LabelKind = "none";

  readonly scale: number;
  readonly similarityFct: SimilarityFunction;

  constructor(model: EmbeddingModel, options: InBatchNegativesLossOptions = {}) {
    super(model);
    this.scale = options.scale ?? 20;
    this.similarityFct = options.similarityFct ?? cosSim;
  }

  /**
   * embeddings: [anchors, positives, ...negatives], each [batch, dim] -> scores [batch, batch * (columns - 1)]
   * (scale * sim(a_i, every positive, then every negative)) and target [batch] = 0..batch-1 (a_i matches p_i).
   */
  protected inBatchScores(embeddings: Tensor[]): { scores: Tensor; target: Tensor } {
    return scope(() => {
      const [anchors, ...candidateColumns] = embeddings as [Tensor, ...Tensor[]];
      const scores = this.similarityFct(anchors, cat(candidateColumns, 0)).mul(this.scale);
      const target = arange(0, anchors.size(0), 1, { dtype: "int64", device: anchors.device });
      return { scores, target };
    });
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return { scale: this.scale, similarityFct: similarityFunctionName(this.similarityFct) };
  }
}
