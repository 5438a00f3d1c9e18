// MultipleNegativesRankingLoss: in-batch negatives with a softmax over similarity scores (InfoNCE).
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

/** Options of `MultipleNegativesRankingLoss`. */
export interface MultipleNegativesRankingLossOptions {
  /** Multiplies the similarities before the softmax (inverse temperature). Default 20. */
  scale?: number;
  /** Similarity of anchors [batch, dim] with candidates [m, dim] -> [batch, m]. Default cosSim. */
  similarityFct?: SimilarityFunction;
}

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
export class MultipleNegativesRankingLoss extends SentenceEmbeddingLoss {
  static readonly inputColumns: InputColumns = { min: 2, max: null, roles: ["anchor", "positive", "negative..."] };
  static readonly labelKind: LabelKind = "none";
  static readonly category: LossCategory = "table";
  static readonly description: string =
    "In-batch negatives (InfoNCE): each anchor must pick its own positive out of every positive and hard negative of the batch, by scaled cosine similarity and cross-entropy.";
  static readonly dataFormats: readonly DataFormatId[] = ["pairs", "triplets", "n-tuples"];
  static readonly commonChoiceFor: readonly DataFormatId[] = ["pairs", "triplets", "n-tuples"];

  readonly scale: number;
  readonly similarityFct: SimilarityFunction;

  constructor(model: EmbeddingModel, options: MultipleNegativesRankingLossOptions = {}) {
    super(model);
    this.scale = options.scale ?? 20;
    this.similarityFct = options.similarityFct ?? cosSim;
  }

  /** embeddings: [anchors, positives, ...negatives], each [batch, dim]. */
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null): Tensor {
    checkLossInputs("MultipleNegativesRankingLoss", MultipleNegativesRankingLoss, embeddings, labels);
    return scope(() => {
      const [anchors, ...candidateColumns] = embeddings as [Tensor, ...Tensor[]];
      const candidates = cat(candidateColumns, 0); // [batch * (1 + negatives), dim]
      const scores = this.similarityFct(anchors, candidates).mul(this.scale); // [batch, batch * (1 + negatives)]
      const target = arange(0, anchors.size(0), 1, { dtype: "int64", device: anchors.device }); // a_i matches p_i
      return F.crossEntropy(scores, target);
    });
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return { scale: this.scale, similarityFct: similarityFunctionName(this.similarityFct) };
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
