// BatchHardTripletLoss: for each anchor, the farthest positive against the closest negative of the batch.
import { eye, scope, type Tensor } from "@stts/torch";
import { MarginBatchTripletLoss } from "./batch-triplet-loss-base.js";

export type { BatchTripletLossOptions } from "./batch-triplet-loss-base.js";
import { checkLabelledLossInputs, type DataFormatId, type LossCategory } from "./loss-inputs.js";

/**
 * Batch-hard triplet loss (Hermans et al.): every sentence is an anchor; its hardest positive is the
 * farthest sentence of the same class, its hardest negative the closest sentence of another class;
 * loss = mean over anchors of max(d(a, hardest p) - d(a, hardest n) + margin, 0). An anchor without
 * positive uses distance 0; one without negative uses its row maximum plus its own distance.
 *
 * Inputs: single sentences; integer class labels (at least two per class in each batch helps).
 *
 * @example
 * const loss = new BatchHardTripletLoss(model, { margin: 5 });
 * const value = loss.forward([features], torch.tensor([0, 0, 1, 1], { dtype: "int64" }));
 *
 * @param model the model to train
 * @param options distanceMetric (default eucledianDistance), margin (default 5)
 */
export class BatchHardTripletLoss extends MarginBatchTripletLoss {
  static readonly category: LossCategory = "table";
  static readonly description: string =
    "For each anchor of the batch, applies the triplet margin to its farthest positive and its closest negative (by class label).";
  static readonly dataFormats: readonly DataFormatId[] = ["class-sentences"];
  static readonly commonChoiceFor: readonly DataFormatId[] = [];

  /** embeddings: [sentences] ([batch, dim]); labels: [batch] class ids. */
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null): Tensor {
    const classes = checkLabelledLossInputs(
      this.constructor.name,
      this.constructor as typeof BatchHardTripletLoss,
      embeddings,
      labels,
    );
    return scope(() => {
      const { hardestPositive, hardestNegative } = this.hardestDistances(embeddings[0]!, classes);
      const tl = hardestPositive.sub(hardestNegative).add(this.margin); // [batch, 1]
      return tl.maskedFill(tl.lt(0), 0).mean();
    });
  }

  /** For each anchor, the distance to its farthest positive and to its closest negative, each [batch, 1]. */
  protected hardestDistances(embeddings: Tensor, labels: Tensor): { hardestPositive: Tensor; hardestNegative: Tensor } {
    return scope(() => {
      const distances = this.distanceMetric(embeddings); // [batch, batch]
      const positiveMask = BatchHardTripletLoss.getAnchorPositiveTripletMask(labels).to(distances.dtype);
      const hardestPositive = positiveMask.mul(distances).max(1, true).values;
      const negativeMask = BatchHardTripletLoss.getAnchorNegativeTripletMask(labels).to(distances.dtype);
      // Invalid negatives (same class) get the row maximum added, so the minimum avoids them.
      const rowMax = distances.max(1, true).values;
      const hardestNegative = distances.add(rowMax.mul(negativeMask.rsub(1))).min(1, true).values;
      return { hardestPositive, hardestNegative };
    });
  }

  /** [batch, batch, batch] bool: (i, j, k) is a valid triplet: distinct, label i == label j, label i != label k. */
  static getTripletMask(labels: Tensor): Tensor {
    return scope(() => {
      const distinct = eye(labels.size(0), labels.size(0), { device: labels.device }).bool().logicalNot();
      const distinctIndices = distinct.unsqueeze(2).logicalAnd(distinct.unsqueeze(1)).logicalAnd(distinct.unsqueeze(0)); // i != j, i != k, j != k
      const labelEqual = labels.unsqueeze(0).eq(labels.unsqueeze(1));
      const validLabels = labelEqual.unsqueeze(1).logicalNot().logicalAnd(labelEqual.unsqueeze(2));
      return validLabels.logicalAnd(distinctIndices);
    });
  }

  /** [batch, batch] bool: a != p and label a == label p. */
  static getAnchorPositiveTripletMask(labels: Tensor): Tensor {
    return scope(() => {
      const distinct = eye(labels.size(0), labels.size(0), { device: labels.device }).bool().logicalNot();
      return labels.unsqueeze(0).eq(labels.unsqueeze(1)).logicalAnd(distinct);
    });
  }

  /** [batch, batch] bool: label a != label n. */
  static getAnchorNegativeTripletMask(labels: Tensor): Tensor {
    return scope(() => labels.unsqueeze(0).eq(labels.unsqueeze(1)).logicalNot());
  }
}
