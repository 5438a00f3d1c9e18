// ContrastiveLoss: pull similar pairs together, push dissimilar pairs beyond a margin.
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

/** Options of `ContrastiveLoss`. */
export interface ContrastiveLossOptions {
  /** Distance between the two sentences of a pair. Default SiameseDistanceMetric.COSINE_DISTANCE. */
  distanceMetric?: PairwiseDistance;
  /** Dissimilar pairs closer than this are penalised. Default 0.5. */
  margin?: number;
  /** Average over the batch (true, default) or sum. */
  sizeAverage?: boolean;
}

/**
 * Hadsell et al.'s contrastive loss: with d the pair distance and y = 1 for similar pairs,
 * loss_i = 0.5 * (y * d^2 + (1 - y) * relu(margin - d)^2), averaged (or summed) over the batch.
 *
 * Inputs: (sentence A, sentence B) pairs; 0/1 labels (1 = similar).
 *
 * @example
 * const loss = new ContrastiveLoss(model, { distanceMetric: SiameseDistanceMetric.COSINE_DISTANCE, margin: 0.5 });
 * const value = loss.forward([featuresA, featuresB], torch.tensor([1, 0], { dtype: "int64" }));
 *
 * @param model the model to train
 * @param options distanceMetric (default COSINE_DISTANCE), margin (default 0.5), sizeAverage (default true)
 */
export class ContrastiveLoss extends SentenceEmbeddingLoss {
  static readonly inputColumns: InputColumns = { min: 2, max: 2, roles: ["sentence A", "sentence B"] };
  static readonly labelKind: LabelKind = "binary";
  static readonly category: LossCategory = "table";
  static readonly description: string =
    "Pulls pairs labelled 1 together and pushes pairs labelled 0 apart until their distance exceeds a margin.";
  static readonly dataFormats: readonly DataFormatId[] = ["binary-pairs"];
  static readonly commonChoiceFor: readonly DataFormatId[] = [];

  readonly distanceMetric: PairwiseDistance;
  readonly margin: number;
  readonly sizeAverage: boolean;

  constructor(model: EmbeddingModel, options: ContrastiveLossOptions = {}) {
    super(model);
    this.distanceMetric = options.distanceMetric ?? SiameseDistanceMetric.COSINE_DISTANCE;
    this.margin = options.margin ?? 0.5;
    this.sizeAverage = options.sizeAverage ?? true;
  }

  /** embeddings: [sentencesA, sentencesB], each [batch, dim]; labels: [batch] 0/1. */
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null): Tensor {
    const similar = checkLabelledLossInputs("ContrastiveLoss", ContrastiveLoss, embeddings, labels);
    return scope(() => {
      const [a, b] = embeddings as [Tensor, Tensor];
      const distances = this.distanceMetric(a, b); // [batch]
      const y = similar.to(distances.dtype);
      const pull = y.mul(distances.pow(2));
      const push = y.rsub(1).mul(F.relu(distances.rsub(this.margin)).pow(2));
      const losses = pull.add(push).mul(0.5); // [batch]
      return this.sizeAverage ? losses.mean() : losses.sum();
    });
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return {
      distanceMetric: distanceMetricName(this.distanceMetric),
      margin: this.margin,
      sizeAverage: this.sizeAverage,
    };
  }

  override get citation(): string {
    return `@inproceedings{hadsell2006dimensionality,
    author={Hadsell, R. and Chopra, S. and LeCun, Y.},
    booktitle={2006 IEEE Computer Society Conference on Computer Vision and Pattern Recognition (CVPR'06)},
    title={Dimensionality Reduction by Learning an Invariant Mapping},
    year={2006},
    volume={2},
    number={},
    pages={1735-1742},
    doi={10.1109/CVPR.2006.100}
}
`;
  }
}
