// BatchSemiHardTripletLoss: for each (anchor, positive), the closest negative that is still farther than the positive.
import { maximum, scope, where, zeros, eye, type Tensor } from "@stts/torch";
import { MarginBatchTripletLoss } from "./batch-triplet-loss-base.js";
import { checkLabelledLossInputs, type DataFormatId, type LossCategory } from "./loss-inputs.js";

/**
 * Semi-hard triplet mining (FaceNet): for each positive pair (a, p), the negative is the closest one
 * with d(a, n) > d(a, p); if there is none, the farthest negative of a. The loss is the mean over
 * positive pairs of max(d(a, p) - d(a, n) + margin, 0). A batch without any positive pair gives NaN (0/0),
 * as in the reference.
 *
 * Inputs: single sentences; integer class labels.
 *
 * @example
 * const loss = new BatchSemiHardTripletLoss(model, { margin: 5 });
 * const value = loss.forward([features], torch.tensor([0, 0, 1, 1], { dtype: "int64" }));
 *
 * @param model the model to train
 * @param options distanceMetric (default eucledianDistance), margin (default 5)
 */
export class BatchSemiHardTripletLoss extends MarginBatchTripletLoss {
  static readonly category: LossCategory = "table";
  static readonly description: string =
    "For each (anchor, positive) of the batch, uses the closest negative that is still farther than the positive (semi-hard), else the farthest negative.";
  static readonly dataFormats: readonly DataFormatId[] = ["class-sentences"];
  static readonly commonChoiceFor: readonly DataFormatId[] = [];

  /** embeddings: [sentences] ([batch, dim]); labels: [batch] class ids. */
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null): Tensor {
    const classes = checkLabelledLossInputs("BatchSemiHardTripletLoss", BatchSemiHardTripletLoss, embeddings, labels);
    return scope(() => {
      const column = classes.unsqueeze(1); // [batch, 1]
      const distances = this.distanceMetric(embeddings[0]!); // [batch, batch]
      const dtype = distances.dtype;
      const adjacency = column.eq(column.t()); // same class
      const adjacencyNot = adjacency.logicalNot();
      const batch = classes.numel;
      // Row (p * batch + a) of the tile holds d(a, .); the mask keeps negatives farther than d(a, p).
      const tile = distances.repeat([batch, 1]); // [batch * batch, batch]
      const mask = adjacencyNot.repeat([batch, 1]).logicalAnd(tile.gt(distances.t().reshape([-1, 1])));
      const hasOutside = mask.sum(1, true).gt(0).reshape([batch, batch]).t(); // [batch (a), batch (p)]
      const negativesOutside = maskedMinimum(tile, mask.to(dtype)).reshape([batch, batch]).t();
      const negativesInside = maskedMaximum(distances, adjacencyNot.to(dtype)).repeat([1, batch]);
      const semiHardNegatives = where(hasOutside, negativesOutside, negativesInside); // [batch, batch]
      const lossMatrix = distances.sub(semiHardNegatives).add(this.margin);
      const positiveMask = adjacency.to(dtype).sub(eye(batch, batch, { dtype, device: distances.device }));
      const zero = zeros([1], { dtype, device: distances.device });
      return maximum(lossMatrix.mul(positiveMask), zero).sum().div(positiveMask.sum());
    });
  }
}

/** Per row, the minimum of `data` where `mask` is 1 (the row maximum where the mask is empty): [rows, 1]. */
function maskedMinimum(data: Tensor, mask: Tensor): Tensor {
  return scope(() => {
    const rowMax = data.max(1, true).values;
    return data.sub(rowMax).mul(mask).min(1, true).values.add(rowMax);
  });
}

/** Per row, the maximum of `data` where `mask` is 1 (the row minimum where the mask is empty): [rows, 1]. */
function maskedMaximum(data: Tensor, mask: Tensor): Tensor {
  return scope(() => {
    const rowMin = data.min(1, true).values;
    return data.sub(rowMin).mul(mask).max(1, true).values.add(rowMin);
  });
}
