// CoSENTLoss: a ranking loss on pair similarities, ordered by their gold scores.
import { cat, scope, zeros, type Tensor } from "@stts/torch";
import type { EmbeddingModel } from "../features.js";
import { pairwiseCosSim, similarityFunctionName, type SimilarityFunction } from "../util/similarity.js";
import { SentenceEmbeddingLoss, type ConfigValue } from "./loss.js";
import {
  checkLabelledLossInputs,
  type InputColumns,
  type LabelKind,
  type DataFormatId,
  type LossCategory,
} from "./loss-inputs.js";

/** Options of `CoSENTLoss`. */
export interface CoSENTLossOptions {
  /** Multiplies the similarities (inverse temperature). Default 20. */
  scale?: number;
  /** Pairwise similarity [batch, dim] x [batch, dim] -> [batch]. Default pairwiseCosSim. */
  similarityFct?: SimilarityFunction;
}

/**
 * For every two pairs (i, j) whose gold scores are ordered, label_i < label_j, penalises
 * s_i > s_j, where s = scale * sim(a, b):
 * loss = log(1 + sum over label_i < label_j of exp(s_i - s_j)).
 * Pairs with equal labels form no constraint (loss 0 when all labels are equal).
 *
 * Inputs: (sentence A, sentence B) pairs; float similarity scores.
 *
 * @example
 * const loss = new CoSENTLoss(model, { scale: 20 });
 * const value = loss.forward([featuresA, featuresB], torch.tensor([1, 0.3, 0]));
 *
 * @param model the model to train
 * @param options scale (default 20), similarityFct (default pairwiseCosSim)
 */
export class CoSENTLoss extends SentenceEmbeddingLoss {
  static readonly inputColumns: InputColumns = { min: 2, max: 2, roles: ["sentence A", "sentence B"] };
  static readonly labelKind: LabelKind = "score";
  static readonly category: LossCategory = "table";
  static readonly description: string =
    "Ranks pairs by cosine similarity: a pair with a higher gold score must get a higher similarity than every pair with a lower one (a log-sum-exp over the pairs of the batch).";
  static readonly dataFormats: readonly DataFormatId[] = ["scored-pairs"];
  static readonly commonChoiceFor: readonly DataFormatId[] = ["scored-pairs"];

  readonly scale: number;
  readonly similarityFct: SimilarityFunction;

  constructor(model: EmbeddingModel, options: CoSENTLossOptions = {}) {
    super(model);
    this.scale = options.scale ?? 20;
    this.similarityFct = options.similarityFct ?? pairwiseCosSim;
  }

  /** embeddings: [sentencesA, sentencesB], each [batch, dim]; labels: [batch] float scores. */
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null): Tensor {
    const goldScores = checkLabelledLossInputs(
      this.constructor.name,
      this.constructor as typeof CoSENTLoss,
      embeddings,
      labels,
    );
    return scope(() => {
      const [a, b] = embeddings as [Tensor, Tensor];
      const s = this.similarityFct(a, b).mul(this.scale); // [batch]
      const differences = s.unsqueeze(1).sub(s.unsqueeze(0)); // [batch, batch]: s_i - s_j
      const ordered = goldScores.unsqueeze(1).lt(goldScores.unsqueeze(0)).to(s.dtype); // 1 where label_i < label_j
      const masked = differences.sub(ordered.rsub(1).mul(1e12)); // unordered pairs vanish after exp
      const withZero = cat([zeros([1], { dtype: s.dtype, device: s.device }), masked.reshape([-1])]); // e^0 = 1
      return withZero.logsumexp(0);
    });
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return { scale: this.scale, similarityFct: similarityFunctionName(this.similarityFct) };
  }

  override get citation(): string | null {
    return `@online{kexuefm-8847,
    title={CoSENT: A more efficient sentence vector scheme than Sentence-BERT},
    author={Su Jianlin},
    year={2022},
    month={Jan},
    url={https://kexue.fm/archives/8847},
}
`;
  }
}
