// What the margin-based batch triplet losses (BatchAll, BatchHard, BatchSemiHard) share: a distance
// matrix, a margin, their config and their paper.
import type { EmbeddingModel } from "../features.js";
import { BatchHardTripletLossDistanceFunction, distanceMetricName, type DistanceMatrix } from "./distance-metrics.js";
import { SentenceEmbeddingLoss, type ConfigValue } from "./loss.js";
import type { InputColumns, LabelKind } from "./loss-inputs.js";
import { HERMANS_2017 } from "./triplet-loss.js";

/** Options of `BatchHardTripletLoss` (and `BatchAllTripletLoss`, `BatchSemiHardTripletLoss`). */
export interface BatchTripletLossOptions {
  /** Distance matrix of the batch. Default BatchHardTripletLossDistanceFunction.eucledianDistance. */
  distanceMetric?: DistanceMatrix;
  /** Negatives should be at least this much farther from the anchor than positives. Default 5. */
  margin?: number;
}

/**
 * The distance metric and margin of a batch triplet loss, with the reference's defaults, and its inputs:
 * single sentences with class labels.
 */
export abstract class MarginBatchTripletLoss extends SentenceEmbeddingLoss {
  static readonly inputColumns: InputColumns = { min: 1, max: 1, roles: ["sentence"] };
  static readonly labelKind: LabelKind = "class";

  readonly distanceMetric: DistanceMatrix;
  readonly margin: number;

  constructor(model: EmbeddingModel, options: BatchTripletLossOptions = {}) {
    super(model);
    this.distanceMetric = options.distanceMetric ?? BatchHardTripletLossDistanceFunction.eucledianDistance;
    this.margin = options.margin ?? 5;
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return { distanceMetric: distanceMetricName(this.distanceMetric), margin: this.margin };
  }

  override get citation(): string {
    return HERMANS_2017;
  }
}
