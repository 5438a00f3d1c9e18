// BatchHardSoftMarginTripletLoss: BatchHardTripletLoss with a soft margin, log(1 + exp(d_p - d_n)).
import { scope, type Tensor } from "@stts/torch";
import type { EmbeddingModel } from "../features.js";
import { BatchHardTripletLoss } from "./batch-hard-triplet-loss.js";
import type { DistanceMatrix } from "./distance-metrics.js";
import { distanceMetricName } from "./distance-metrics.js";
import type { ConfigValue } from "./loss.js";
import { checkLabelledLossInputs, type DataFormatId, type LossCategory } from "./loss-inputs.js";

/** Options of `BatchHardSoftMarginTripletLoss`. */
export interface BatchHardSoftMarginTripletLossOptions {
  /** Distance matrix of the batch. Default BatchHardTripletLossDistanceFunction.eucledianDistance. */
  distanceMetric?: DistanceMatrix;
}

/**
 * The batch-hard triplet loss with a soft margin instead of a fixed one:
 * loss = mean over anchors of log(1 + exp(d(a, hardest p) - d(a, hardest n))). No margin to tune.
 *
 * Inputs: single sentences; integer class labels.
 *
 * @example
 * const loss = new BatchHardSoftMarginTripletLoss(model);
 * const value = loss.forward([features], torch.tensor([0, 0, 1, 1], { dtype: "int64" }));
 *
 * @param model the model to train
 * @param options distanceMetric (default eucledianDistance)
 */
export class BatchHardSoftMarginTripletLoss extends BatchHardTripletLoss {
  static override readonly category: LossCategory = "table";
  static override readonly description: string =
    "BatchHardTripletLoss with a soft margin, log(1 + exp(d(a, p) - d(a, n))): no margin to tune.";
  static override readonly dataFormats: readonly DataFormatId[] = ["class-sentences"];
  static override readonly commonChoiceFor: readonly DataFormatId[] = [];

  constructor(model: EmbeddingModel, options: BatchHardSoftMarginTripletLossOptions = {}) {
    super(model, { distanceMetric: options.distanceMetric });
  }

  /** embeddings: [sentences] ([batch, dim]); labels: [batch] class ids. */
  override computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null): Tensor {
    const classes = checkLabelledLossInputs(
      "BatchHardSoftMarginTripletLoss",
      BatchHardSoftMarginTripletLoss,
      embeddings,
      labels,
    );
    return scope(() => {
      const { hardestPositive, hardestNegative } = this.hardestDistances(embeddings[0]!, classes);
      return hardestPositive.sub(hardestNegative).exp().log1p().mean(); // softplus, written as the reference
    });
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return { distanceMetric: distanceMetricName(this.distanceMetric) };
  }
}
