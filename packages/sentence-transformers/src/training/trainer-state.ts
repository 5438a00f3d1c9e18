// Where training stands: steps, epochs, the log, the best metric, and the position within the
// epoch's batches that a resumed run continues from. Saved as trainer_state.json in every checkpoint.

/** One entry of the log: training losses, learning rate, eval metrics... plus `step` and `epoch`. */
export type LogEntry = Record<string, number>;

/**
 * The trainer's state (the reference's TrainerState, camelCase). `epoch` is fractional
 * (epochIndex + batches done / batches in the epoch); `epochIndex` and `batchesDone` say which
 * batch of which epoch comes next.
 */
export interface TrainerState {
  /** Optimizer steps done. */
  globalStep: number;
  /** Fractional epochs done. */
  epoch: number;
  /** The total number of optimizer steps of this run. */
  maxSteps: number;
  /** Epochs the run goes through (the last one may be partial). */
  numTrainEpochs: number;
  /** Every log and eval entry so far, in order. */
  logHistory: LogEntry[];
  /** The best value of metricForBestModel so far, or null. */
  bestMetric: number | null;
  /** The checkpoint folder holding the best model so far, or null. */
  bestModelCheckpoint: string | null;
  /** The epoch being trained (0-based). */
  epochIndex: number;
  /** How many of that epoch's batches are done. */
  batchesDone: number;
}

/**
 * Running sums between two log entries, saved with the state so that a resumed run logs the same
 * means as an uninterrupted one.
 */
export interface LossAccumulators {
  /** Sum of the step losses since the last log entry. */
  lossSum: number;
  /** Sum of each loss component since the last log entry. */
  componentSums: Record<string, number>;
  /** Steps since the last log entry. */
  stepsSinceLog: number;
  /** Sum of every step loss of the run (for the final train_loss). */
  totalLossSum: number;
  /** The gradient norm of the last step, or null (no clipping). */
  lastGradNorm: number | null;
}

export function initialTrainerState(maxSteps: number, numTrainEpochs: number): TrainerState {
  return {
    globalStep: 0,
    epoch: 0,
    maxSteps,
    numTrainEpochs,
    logHistory: [],
    bestMetric: null,
    bestModelCheckpoint: null,
    epochIndex: 0,
    batchesDone: 0,
  };
}

export function initialAccumulators(): LossAccumulators {
  return { lossSum: 0, componentSums: {}, stepsSinceLog: 0, totalLossSum: 0, lastGradNorm: null };
}

/** What trainer_state.json holds. */
export interface TrainerStateFile {
  format: "stts-trainer-state";
  version: 1;
  state: TrainerState;
  accumulators: LossAccumulators;
}

export function trainerStateToJson(state: TrainerState, accumulators: LossAccumulators): TrainerStateFile {
  return {
    format: "stts-trainer-state",
    version: 1,
    state: { ...state, logHistory: state.logHistory.map((entry) => ({ ...entry })) },
    accumulators: { ...accumulators, componentSums: { ...accumulators.componentSums } },
  };
}

/** Reads trainer_state.json's contents back, checking every field; `source` names the file in errors. */
export function trainerStateFromJson(
  json: unknown,
  source: string,
): { state: TrainerState; accumulators: LossAccumulators } {
  const fail = (what: string): never => {
    throw new Error(`${source}: ${what}`);
  };
  const object = (value: unknown, what: string): Record<string, unknown> =>
    typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : fail(`${what} must be an object`);
  const file = object(json, "the file");
  if (file.format !== "stts-trainer-state" || file.version !== 1) {
    fail(`not an stts trainer state (format ${String(file.format)}, version ${String(file.version)})`);
  }
  const s = object(file.state, "state");
  const a = object(file.accumulators, "accumulators");
  const int = (value: unknown, what: string): number =>
    Number.isInteger(value) && (value as number) >= 0 ? (value as number) : fail(`${what} must be an integer >= 0`);
  const num = (value: unknown, what: string): number =>
    typeof value === "number" && Number.isFinite(value) ? value : fail(`${what} must be a finite number`);
  const nullable = <T>(value: unknown, read: (v: unknown) => T): T | null => (value === null ? null : read(value));
  const numbers = (value: unknown, what: string): Record<string, number> => {
    const record = object(value, what);
    for (const [key, v] of Object.entries(record)) num(v, `${what}.${key}`);
    return record as Record<string, number>;
  };
  if (!Array.isArray(s.logHistory)) fail("state.logHistory must be an array");
  const state: TrainerState = {
    globalStep: int(s.globalStep, "state.globalStep"),
    epoch: num(s.epoch, "state.epoch"),
    maxSteps: int(s.maxSteps, "state.maxSteps"),
    numTrainEpochs: int(s.numTrainEpochs, "state.numTrainEpochs"),
    logHistory: (s.logHistory as unknown[]).map((entry, i) => numbers(entry, `state.logHistory[${i}]`)),
    bestMetric: nullable(s.bestMetric, (v) => num(v, "state.bestMetric")),
    bestModelCheckpoint: nullable(s.bestModelCheckpoint, (v) =>
      typeof v === "string" ? v : fail("state.bestModelCheckpoint must be a string or null"),
    ),
    epochIndex: int(s.epochIndex, "state.epochIndex"),
    batchesDone: int(s.batchesDone, "state.batchesDone"),
  };
  const accumulators: LossAccumulators = {
    lossSum: num(a.lossSum, "accumulators.lossSum"),
    componentSums: numbers(a.componentSums, "accumulators.componentSums"),
    stepsSinceLog: int(a.stepsSinceLog, "accumulators.stepsSinceLog"),
    totalLossSum: num(a.totalLossSum, "accumulators.totalLossSum"),
    lastGradNorm: nullable(a.lastGradNorm, (v) => num(v, "accumulators.lastGradNorm")),
  };
  return { state, accumulators };
}
