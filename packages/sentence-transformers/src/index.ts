// stts: sentence-transformers for TypeScript.
export * as torch from "@stts/torch";
export type { Features, EmbeddingModel } from "./features.js";

// models
export { BertConfig, BERT_HIDDEN_ACTS, type BertConfigOptions, type BertHiddenAct } from "./models/bert-config.js";
export { BertModel, type BertInputs, type BertModelOptions } from "./models/bert.js";
export { BertLMHeadModel, BertForMaskedLM, tieEncoderDecoder } from "./models/bert-lm-head.js";
export type { EncoderInputs, EncoderForwardOptions, EncoderOutput, EncoderModel } from "./models/encoder.js";
export {
  registerArchitecture,
  supportedModelTypes,
  createEncoder,
  loadEncoder,
  saveEncoder,
  CheckpointError,
  type Architecture,
  type CreateEncoderOptions,
} from "./models/registry.js";

export { Tokenizer, type TokenizerInput, type TokenizeOptions, type TokenizerEncoding } from "./models/tokenizer.js";

// modules and the stack
export { Transformer, type TransformerOptions, type TransformerForwardOptions } from "./modules/transformer.js";
export { Dense, DENSE_ACTIVATIONS, type DenseOptions } from "./modules/dense.js";
export { Normalize, type NormalizeOptions } from "./modules/normalize.js";
export { StaticEmbedding, type StaticEmbeddingOptions } from "./modules/static-embedding.js";
export {
  registerModuleType,
  findModuleType,
  knownModuleTypeNames,
  type ModuleType,
  type SentenceTransformerModule,
} from "./modules/module-registry.js";
export {
  SentenceTransformer,
  SIMILARITY_FN_NAMES,
  FORMAT_VERSIONS,
  type SimilarityFnName,
  type SentenceTransformerOptions,
  type SentenceTransformerLoadOptions,
  type EncodeOptions,
  type EncodeOutput,
  type OutputValue,
} from "./sentence-transformer.js";
export {
  snapshotDownload,
  hubCacheDir,
  cachedSnapshot,
  isHubOffline,
  type HubDownloadOptions,
} from "./hub/download.js";
export {
  semanticSearch,
  type SearchHit,
  type SemanticSearchOptions,
  type EmbeddingsInput,
} from "./util/semantic-search.js";
export {
  paraphraseMining,
  paraphraseMiningEmbeddings,
  type ParaphrasePair,
  type ParaphraseMiningOptions,
  type ParaphraseMiningEmbeddingsOptions,
} from "./util/paraphrase-mining.js";
export {
  quantizeEmbeddings,
  EMBEDDING_PRECISIONS,
  type EmbeddingPrecision,
  type QuantizeOptions,
} from "./util/quantization.js";
export {
  Pooling,
  POOLING_MODES,
  type PoolingMode,
  type PoolingOptions,
  type PoolingConfig,
  type PoolingConfigV6,
} from "./modules/pooling.js";

// losses and similarity
export * as losses from "./losses/index.js";
export * from "./losses/index.js";
export {
  GradCacheLoss,
  backwardLoss,
  hasDeferredBackward,
  type DeferredBackward,
  type CachedLossCalculator,
} from "./losses/grad-cache.js";
export { copyModel, type CloneableEmbeddingModel } from "./losses/contrastive-tension-loss.js";
export { isLayerwiseEmbeddingModel, type LayerwiseEmbeddingModel } from "./losses/adaptive-layer-loss.js";
export {
  checkLossInputs,
  describeExpectation,
  type InputColumns,
  type LabelKind,
  type LossInputSpec,
} from "./losses/loss-inputs.js";
export { Loss, type LossOutput, type ConfigValue } from "./losses/loss.js";
export {
  pairsToTriplets,
  type LabeledPair,
  type Triplet,
  type PairsToTripletsOptions,
  type PairsToTripletsResult,
} from "./util/data-formats.js";
export {
  lossGuideTable,
  lossGuideEntries,
  lossGuideRows,
  lossesForData,
  conversionsForData,
  conversionToLoss,
  detectFormats,
  profileDataset,
  describeLabelProfile,
  missingLossMetadata,
  DATA_FORMATS,
  CONVERSIONS,
  GUIDE_LOSSES,
  type LossFit,
  type ConversionPath,
  type DataProfile,
  type LabelProfile,
  type DataFormat,
  type Conversion,
  type LossGuideEntry,
  type LossClass,
} from "./losses/guide.js";
export type { DataFormatId, LossCategory, LossGuideSpec } from "./losses/loss-inputs.js";
export {
  pairsAboveThreshold,
  pairsWithLabel,
  pairsToTripletsDataset,
  tripletsByAnchor,
  classLabelsToIds,
  contrastiveTensionDataset,
  mineHardNegatives,
  type MineHardNegativesOptions,
  type TripletsByAnchorOptions,
  type ContrastiveTensionDatasetOptions,
} from "./util/data-formats.js";
export {
  damage,
  denoisingAutoEncoderDataset,
  wordTokenize,
  detokenize,
  type DamageOptions,
  type DenoisingAutoEncoderDatasetOptions,
  type RandomSource,
} from "./util/noise.js";
export {
  cosSim,
  dotScore,
  euclideanSim,
  manhattanSim,
  pairwiseCosSim,
  pairwiseDotScore,
  pairwiseEuclideanSim,
  pairwiseManhattanSim,
  pairwiseAngleSim,
  SIMILARITY_FUNCTIONS,
  getSimilarityFunction,
  similarityFunctionName,
  type SimilarityFunction,
  type SimilarityFunctionName,
} from "./util/similarity.js";

// evaluation
export * from "./evaluation/index.js";

// training
export { loadParquet } from "./training/parquet.js";
export { loadDatasetFile } from "./training/load-dataset-file.js";
export { loadHubDataset, hubDatasetFile } from "./hub/datasets.js";
export {
  SentenceTransformerTrainer,
  NonFiniteLossError,
  type SentenceTransformerTrainerOptions,
  type TrainOutput,
} from "./training/trainer.js";
export type { TrainerState, LogEntry } from "./training/trainer-state.js";
export type { TrainerCallback, TrainerCallbackInfo, TrainerControl } from "./training/callbacks.js";
export { listCheckpoints, latestCheckpoint, CHECKPOINT_PREFIX } from "./training/checkpoint.js";
export { TrainingDataError, checkTrainingData, resolveLossSpec, type DataCheckTarget } from "./training/data-checks.js";
export { resolvePrompts } from "./training/collate.js";
export {
  readTrainingLog,
  renderTrainingCurves,
  writeTrainingCurves,
  TRAINING_LOG_FILE,
  TRAINING_CURVES_FILE,
} from "./training/training-log.js";
export {
  DefaultBatchSampler,
  NoDuplicatesBatchSampler,
  GroupByLabelBatchSampler,
  createBatchSampler,
  interleaveBatches,
  groupByLength,
  rowLengthKey,
  characterLengths,
  SeededRandom,
  type BatchSampler,
} from "./training/samplers.js";
export {
  Dataset,
  DatasetError,
  loadDelimited,
  loadJsonl,
  LABEL_COLUMN_NAMES,
  type DatasetRecord,
  type DatasetValue,
} from "./training/dataset.js";
export {
  resolveTrainingArguments,
  DEFAULT_TRAINING_ARGUMENTS,
  TrainingArgumentsError,
  type TrainingArguments,
} from "./training/arguments.js";

// model card
export * from "./model-card/index.js";

// command line (programmatic use)
export { main as runCli, processIo, type CliIo } from "./cli/main.js";
export { loadTrainConfig, parseTrainConfig, ConfigError, type TrainConfig } from "./cli/config.js";
export { buildTraining, type TrainingSetup } from "./cli/train.js";

// parity runners
export { runLossParity, PARITY_TOLERANCES } from "./parity/loss-runner.js";
export { runBertParity, type BertParityOptions, type BertParityResult } from "./parity/bert-runner.js";
