// Evaluators (one per file) and the statistics they report.
export { SentenceEvaluator, appendCsvRow, pythonFloat, type EvaluateOptions } from "./evaluator.js";
export {
  EmbeddingSimilarityEvaluator,
  type EmbeddingSimilarityEvaluatorOptions,
} from "./embedding-similarity-evaluator.js";
export {
  InformationRetrievalEvaluator,
  type InformationRetrievalEvaluatorOptions,
  type RetrievedEntry,
} from "./information-retrieval-evaluator.js";
export { TripletEvaluator, type TripletEvaluatorOptions } from "./triplet-evaluator.js";
export {
  BinaryClassificationEvaluator,
  BINARY_CLASSIFICATION_METRICS,
  type BinaryClassificationEvaluatorOptions,
} from "./binary-classification-evaluator.js";
export { MSEEvaluator, type MSEEvaluatorOptions } from "./mse-evaluator.js";
export { ParaphraseMiningEvaluator, type ParaphraseMiningEvaluatorOptions } from "./paraphrase-mining-evaluator.js";
export { SequentialEvaluator } from "./sequential-evaluator.js";
export {
  pearson,
  spearman,
  averageRanks,
  averagePrecision,
  bestAccuracyAndThreshold,
  bestF1AndThreshold,
  matthewsCorrelation,
  retrievalMetrics,
  type RetrievalMetrics,
} from "./metrics.js";
