// OnlineContrastiveLoss: ContrastiveLoss on the hard pairs of the batch only.
import { functional as F, scope, type Tensor } from "@stts/torch";
import type { EmbeddingModel } from "../features.js";
import { distanceMetricName, SiameseDistanceMetric, type PairwiseDistance } from "./distance-metrics.js";
import { SentenceEmbeddingLoss, type ConfigValue } from "./loss.js";
import {
  checkLabelledLossInputs,
  type InputColumns,
  type LabelKind,
  type DataFormatId,
  type LossCategory,
} from "./loss-inputs.js";

/** Options of `OnlineContrastiveLoss`. */
export interface OnlineContrastiveLossOptions {
  /** Distance between the two sentences of a pair. Default SiameseDistanceMetric.COSINE_DISTANCE. */
  distanceMetric?: PairwiseDistance;
  /** Hard negative pairs closer than this are penalised. Default 0.5. */
  margin?: number;
}

/**
 * ContrastiveLoss restricted to hard pairs: negative pairs closer than the farthest positive pair,
 * and positive pairs farther than the closest negative pair (with at most one pair of the other
 * kind, its threshold is the mean distance of the own kind). The loss is the sum of d^2 over the hard
 * positives plus relu(margin - d)^2 over the hard negatives (no averaging).
 *
 * Inputs: (sentence A, sentence B) pairs; 0/1 labels (1 = similar).
 *
 * @example
 * const loss = new OnlineContrastiveLoss(model, { margin: 0.5 });
 * const value = loss.forward([featuresA, featuresB], torch.tensor([1, 0, 0], { dtype: "int64" }));
 *
 * @param model the model to train
 * @param options distanceMetric (default COSINE_DISTANCE), margin (default 0.5)
 */
export class OnlineContrastiveLoss extends SentenceEmbeddingLoss {
  static readonly inputColumns: InputColumns = { min: 2, max: 2, roles: ["sentence A", "sentence B"] };
  static readonly labelKind: LabelKind = "binary";
  static readonly category: LossCategory = "table";
  static readonly description: string =
    "ContrastiveLoss on the hard pairs of the batch only: positive pairs farther apart than the closest negative pair, negative pairs closer than the farthest positive pair.";
  static readonly dataFormats: readonly DataFormatId[] = ["binary-pairs"];
  static readonly commonChoiceFor: readonly DataFormatId[] = ["binary-pairs"];

  readonly distanceMetric: PairwiseDistance;
  readonly margin: number;

  constructor(model: EmbeddingModel, options: OnlineContrastiveLossOptions = {}) {
    super(model);
    this.distanceMetric = options.distanceMetric ?? SiameseDistanceMetric.COSINE_DISTANCE;
    this.margin = options.margin ?? 0.5;
  }

  /** embeddings: [sentencesA, sentencesB], each [batch, dim]; labels: [batch] 0/1. */
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null): Tensor {
    const similar = checkLabelledLossInputs("OnlineContrastiveLoss", OnlineContrastiveLoss, embeddings, labels);
    return scope(() => {
      const [a, b] = embeddings as [Tensor, Tensor];
      const distances = this.distanceMetric(a, b); // [batch]
      const negatives = distances.maskedSelect(similar.eq(0)); // [#negative pairs]
      const positives = distances.maskedSelect(similar.eq(1)); // [#positive pairs]
      // The mean of an empty set is NaN, and comparisons with NaN select nothing, as in the reference.
      const negativeThreshold = positives.numel > 1 ? positives.max() : negatives.mean();
      const positiveThreshold = negatives.numel > 1 ? negatives.min() : positives.mean();
      const hardNegatives = negatives.maskedSelect(negatives.lt(negativeThreshold));
      const hardPositives = positives.maskedSelect(positives.gt(positiveThreshold));
      const positiveLoss = hardPositives.pow(2).sum();
      const negativeLoss = F.relu(hardNegatives.rsub(this.margin)).pow(2).sum();
      return positiveLoss.add(negativeLoss);
    });
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return { distanceMetric: distanceMetricName(this.distanceMetric), margin: this.margin };
  }
}
