// The model card: what it says (ModelCardData and the helpers that fill it) and how it is written.
export {
  createModelCardData,
  computeDatasetStats,
  describeLoss,
  describeLosses,
  describeEvaluation,
  recordEvaluation,
  nonDefaultTrainingArguments,
  trainingLogsFromHistory,
  DEFAULT_MODEL_CARD_TAGS,
  DEFAULT_TASK_NAME,
  EVALUATOR_DESCRIPTIONS,
  type ModelCardData,
  type DatasetCardInfo,
  type ColumnStats,
  type LossCardInfo,
  type TrainingLogRow,
  type EvaluatorCardInfo,
  type DescribableEvaluator,
  type DatasetStatsOptions,
  type TokenizingModel,
} from "./model-card-data.js";
export { generateModelCard, modelArchitectureString, sttsVersion, SENTENCE_TRANSFORMERS_CITATION } from "./generate.js";
