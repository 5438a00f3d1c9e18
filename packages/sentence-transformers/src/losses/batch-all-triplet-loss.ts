// BatchAllTripletLoss: the triplet loss averaged over every valid triplet of the batch that is active.
import { scope, type Tensor } from "@stts/torch";
import { MarginBatchTripletLoss } from "./batch-triplet-loss-base.js";
import { BatchHardTripletLoss } from "./batch-hard-triplet-loss.js";
import { checkLabelledLossInputs, type DataFormatId, type LossCategory } from "./loss-inputs.js";

/**
 * Builds every valid triplet (a, p, n) of the batch (a, p same class, n another class, all distinct),
 * computes max(d(a, p) - d(a, n) + margin, 0), and averages over the triplets with a positive loss
 * (loss 0 when there is none).
 *
 * Inputs: single sentences; integer class labels.
 *
 * @example
 * const loss = new BatchAllTripletLoss(model, { margin: 5 });
 * const value = loss.forward([features], torch.tensor([0, 0, 1, 1], { dtype: "int64" }));
 *
 * @param model the model to train
 * @param options distanceMetric (default eucledianDistance), margin (default 5)
 */
export class BatchAllTripletLoss extends MarginBatchTripletLoss {
  static readonly category: LossCategory = "table";
  static readonly description: string =
    "Forms every valid (anchor, positive, negative) triplet from the class labels of the batch and averages the triplet losses that are still above zero.";
  static readonly dataFormats: readonly DataFormatId[] = ["class-sentences"];
  static readonly commonChoiceFor: readonly DataFormatId[] = ["class-sentences"];

  /** embeddings: [sentences] ([batch, dim]); labels: [batch] class ids. */
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null): Tensor {
    const classes = checkLabelledLossInputs("BatchAllTripletLoss", BatchAllTripletLoss, embeddings, labels);
    return scope(() => {
      const distances = this.distanceMetric(embeddings[0]!); // [batch, batch]
      // [batch, batch, batch]: d(a, p) - d(a, n) + margin at (a, p, n)
      let tripletLoss = distances.unsqueeze(2).sub(distances.unsqueeze(1)).add(this.margin);
      tripletLoss = BatchHardTripletLoss.getTripletMask(classes).to(distances.dtype).mul(tripletLoss);
      tripletLoss = tripletLoss.maskedFill(tripletLoss.lt(0), 0);
      const positiveTriplets = tripletLoss.gt(1e-16).sum().item();
      return tripletLoss.sum().div(positiveTriplets + 1e-16);
    });
  }
}
