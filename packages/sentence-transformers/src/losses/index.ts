// Every loss of the library, by the reference's class names, plus the helpers they share.
export { Loss, type LossOutput, type ConfigValue } from "./loss.js";
export {
  checkLossInputs,
  checkLabelledLossInputs,
  describeColumns,
  describeExpectation,
  columnRole,
  type InputColumns,
  type LabelKind,
  type LossInputSpec,
} from "./loss-inputs.js";
export {
  SiameseDistanceMetric,
  TripletDistanceMetric,
  BatchHardTripletLossDistanceFunction,
  getDistanceMetric,
  distanceMetricName,
  type PairwiseDistance,
  type DistanceMatrix,
} from "./distance-metrics.js";

export {
  MultipleNegativesRankingLoss,
  type MultipleNegativesRankingLossOptions,
} from "./multiple-negatives-ranking-loss.js";
export {
  MultipleNegativesSymmetricRankingLoss,
  type MultipleNegativesSymmetricRankingLossOptions,
} from "./multiple-negatives-symmetric-ranking-loss.js";
export { CoSENTLoss, type CoSENTLossOptions } from "./cosent-loss.js";
export { AnglELoss, type AnglELossOptions } from "./angle-loss.js";
export {
  CosineSimilarityLoss,
  type CosineSimilarityLossOptions,
  type RegressionLoss,
} from "./cosine-similarity-loss.js";
export { ContrastiveLoss, type ContrastiveLossOptions } from "./contrastive-loss.js";
export { OnlineContrastiveLoss, type OnlineContrastiveLossOptions } from "./online-contrastive-loss.js";
export { TripletLoss, type TripletLossOptions } from "./triplet-loss.js";
export { BatchAllTripletLoss } from "./batch-all-triplet-loss.js";
export { BatchHardTripletLoss, type BatchTripletLossOptions } from "./batch-hard-triplet-loss.js";
export {
  BatchHardSoftMarginTripletLoss,
  type BatchHardSoftMarginTripletLossOptions,
} from "./batch-hard-soft-margin-triplet-loss.js";
export { BatchSemiHardTripletLoss } from "./batch-semi-hard-triplet-loss.js";
export { MegaBatchMarginLoss, type MegaBatchMarginLossOptions } from "./mega-batch-margin-loss.js";
export { MSELoss, type MSELossOptions } from "./mse-loss.js";
export { MarginMSELoss, type MarginMSELossOptions } from "./margin-mse-loss.js";
export { DistillKLDivLoss, type DistillKLDivLossOptions } from "./distill-kl-div-loss.js";

// Written alongside, by another engineer.
export { CachedMultipleNegativesRankingLoss } from "./cached-multiple-negatives-ranking-loss.js";
export { CachedMultipleNegativesSymmetricRankingLoss } from "./cached-multiple-negatives-symmetric-ranking-loss.js";
export { GISTEmbedLoss } from "./gist-embed-loss.js";
export { CachedGISTEmbedLoss } from "./cached-gist-embed-loss.js";
export { SoftmaxLoss } from "./softmax-loss.js";
export { ContrastiveTensionLoss, ContrastiveTensionLossInBatchNegatives } from "./contrastive-tension-loss.js";
export { MatryoshkaLoss } from "./matryoshka-loss.js";
export { AdaptiveLayerLoss } from "./adaptive-layer-loss.js";
export { Matryoshka2dLoss } from "./matryoshka-2d-loss.js";
export { DenoisingAutoEncoderLoss, type DenoisingAutoEncoderLossOptions } from "./denoising-auto-encoder-loss.js";
