// Optimizers, learning-rate schedules and gradient clipping (torch.optim, transformers' schedules,
// torch.nn.utils.clip_grad_*).
export {
  Optimizer,
  optimizerStateToTensors,
  optimizerStateFromTensors,
  type OptionValue,
  type GroupOptions,
  type ParamGroup,
  type ParamGroupSpec,
  type OptimizerParams,
  type ParamState,
  type SavedParamGroup,
  type OptimizerStateDict,
  type OptimizerStateMeta,
  type StateKeyKind,
  type StateSpec,
} from "./optimizer.js";
export { AdamW, type AdamWOptions, type AdamWParamState } from "./adamw.js";
export { SGD, type SGDOptions, type SGDParamState } from "./sgd.js";
export {
  LRScheduler,
  getScheduler,
  SCHEDULER_NAMES,
  constantLambda,
  constantWithWarmupLambda,
  linearWithWarmupLambda,
  cosineWithWarmupLambda,
  cosineWithHardRestartsLambda,
  polynomialDecayWithWarmupLambda,
  type LrLambda,
  type SchedulableOptimizer,
  type LRSchedulerState,
  type SchedulerName,
  type GetSchedulerOptions,
} from "./schedulers.js";
export { clipGradNorm, clipGradValue, type ClipGradNormOptions } from "./clip.js";
