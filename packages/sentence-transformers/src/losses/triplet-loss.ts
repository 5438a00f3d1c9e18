// TripletLoss: the anchor should be closer to the positive than to the negative, by a margin.
import { functional as F, scope, type Tensor } from "@stts/torch";
import type { EmbeddingModel } from "../features.js";
import { distanceMetricName, TripletDistanceMetric, type PairwiseDistance } from "./distance-metrics.js";
import { SentenceEmbeddingLoss, type ConfigValue } from "./loss.js";
import {
  checkLossInputs,
  type InputColumns,
  type LabelKind,
  type DataFormatId,
  type LossCategory,
} from "./loss-inputs.js";

/** Options of `TripletLoss`. */
export interface TripletLossOptions {
  /** Distance between anchor and positive/negative. Default TripletDistanceMetric.EUCLIDEAN (see its note on the sign). */
  distanceMetric?: PairwiseDistance;
  /** The margin. Default 5. */
  tripletMargin?: number;
}

/**
 * loss = mean(relu(d(anchor, positive) - d(anchor, negative) + tripletMargin)).
 * Note: as in sentence-transformers v5, TripletDistanceMetric.EUCLIDEAN and MANHATTAN return minus
 * the distance, which flips the usual sign; TripletDistanceMetric.COSINE (1 - cos) does not.
 *
 * Inputs: (anchor, positive, negative) triplets; no labels.
 *
 * @example
 * const loss = new TripletLoss(model, { distanceMetric: TripletDistanceMetric.COSINE, tripletMargin: 0.3 });
 * const value = loss.forward([anchorFeatures, positiveFeatures, negativeFeatures], null);
 *
 * @param model the model to train
 * @param options distanceMetric (default TripletDistanceMetric.EUCLIDEAN), tripletMargin (default 5)
 */
export class TripletLoss extends SentenceEmbeddingLoss {
  static readonly inputColumns: InputColumns = { min: 3, max: 3, roles: ["anchor", "positive", "negative"] };
  static readonly labelKind: LabelKind = "none";
  static readonly category: LossCategory = "table";
  static readonly description: string =
    "Pushes the anchor closer to the positive than to the negative by at least a margin, in Euclidean (default), cosine or Manhattan distance.";
  static readonly dataFormats: readonly DataFormatId[] = ["triplets"];
  static readonly commonChoiceFor: readonly DataFormatId[] = [];

  readonly distanceMetric: PairwiseDistance;
  readonly tripletMargin: number;

  constructor(model: EmbeddingModel, options: TripletLossOptions = {}) {
    super(model);
    this.distanceMetric = options.distanceMetric ?? TripletDistanceMetric.EUCLIDEAN;
    this.tripletMargin = options.tripletMargin ?? 5;
  }

  /** embeddings: [anchors, positives, negatives], each [batch, dim]. */
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null): Tensor {
    checkLossInputs("TripletLoss", TripletLoss, embeddings, labels);
    return scope(() => {
      const [anchor, positive, negative] = embeddings as [Tensor, Tensor, Tensor];
      const distancePositive = this.distanceMetric(anchor, positive); // [batch]
      const distanceNegative = this.distanceMetric(anchor, negative); // [batch]
      return F.relu(distancePositive.sub(distanceNegative).add(this.tripletMargin)).mean();
    });
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return { distanceMetric: distanceMetricName(this.distanceMetric), tripletMargin: this.tripletMargin };
  }

  override get citation(): string {
    return HERMANS_2017;
  }
}

/** BibTeX of "In Defense of the Triplet Loss for Person Re-Identification", cited by the triplet losses. */
export const HERMANS_2017 = `@misc{hermans2017defense,
    title={In Defense of the Triplet Loss for Person Re-Identification},
    author={Alexander Hermans and Lucas Beyer and Bastian Leibe},
    year={2017},
    eprint={1703.07737},
    archivePrefix={arXiv},
    primaryClass={cs.CV}
}
`;
