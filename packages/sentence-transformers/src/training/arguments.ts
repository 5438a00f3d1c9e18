// Training arguments: the reference's SentenceTransformerTrainingArguments in camelCase, with
// their defaults, validated so that a typo or a wrong type stops before training starts.
import * as torch from "@stts/torch";

export type IntervalStrategy = "no" | "steps" | "epoch";
export type SchedulerType =
  "constant" | "constant_with_warmup" | "linear" | "cosine" | "cosine_with_restarts" | "polynomial";
export type BatchSamplerName = "batch_sampler" | "no_duplicates" | "group_by_label";
export type MultiDatasetBatchSamplerName = "proportional" | "round_robin";
/** transformers' names of the optimizers the trainer has: AdamW, op by op or with libtorch's fused kernel. */
export type OptimizerName = "adamw_torch" | "adamw_torch_fused";

/**
 * transformers' default `optim`: "adamw_torch_fused" with torch 2.8 or newer, else "adamw_torch"; here the
 * version of the libtorch stts runs on (Debian's 1.13: "adamw_torch").
 */
export function defaultOptim(): OptimizerName {
  return torch.libtorchVersionAtLeast(2, 8) ? "adamw_torch_fused" : "adamw_torch";
}

export interface TrainingArguments {
  outputDir: string;
  numTrainEpochs: number;
  /** Overrides numTrainEpochs when > 0. */
  maxSteps: number;
  perDeviceTrainBatchSize: number;
  perDeviceEvalBatchSize: number;
  learningRate: number;
  weightDecay: number;
  adamBeta1: number;
  adamBeta2: number;
  adamEpsilon: number;
  /**
   * "adamw_torch" (AdamW op by op, as torch.optim.AdamW's single-tensor path) or "adamw_torch_fused" (libtorch's
   * fused kernel, 2.4+: one pass over each parameter, rounded slightly differently). Default: see defaultOptim.
   */
  optim: OptimizerName;
  warmupRatio: number;
  /** Overrides warmupRatio when > 0. */
  warmupSteps: number;
  lrSchedulerType: SchedulerType;
  maxGradNorm: number;
  gradientAccumulationSteps: number;
  seed: number;
  evalStrategy: IntervalStrategy;
  evalSteps: number | null;
  saveStrategy: IntervalStrategy;
  saveSteps: number;
  saveTotalLimit: number | null;
  loadBestModelAtEnd: boolean;
  metricForBestModel: string | null;
  greaterIsBetter: boolean | null;
  loggingSteps: number;
  batchSampler: BatchSamplerName;
  /**
   * Put rows of similar token length in the same training batches, so they need less padding (as
   * transformers' group_by_length): the shuffled rows are cut into megabatches of up to 50 batches, each
   * sorted longest first. Off by default (batches as the reference's); works with batchSampler
   * "batch_sampler" and "no_duplicates", not "group_by_label". See groupByLength in samplers.ts.
   */
  groupByLength: boolean;
  multiDatasetBatchSampler: MultiDatasetBatchSamplerName;
  /** A prompt for every input column, per column name, or per dataset name then column. */
  prompts: string | Record<string, string> | Record<string, Record<string, string>> | null;
  /** Regular expression on parameter names -> learning rate. */
  learningRateMapping: Record<string, number>;
  /** Drop the last incomplete batch (default false). */
  dataloaderDropLast: boolean;
}

/** The reference's defaults (transformers' TrainingArguments + sentence-transformers' additions). */
export const DEFAULT_TRAINING_ARGUMENTS: Readonly<TrainingArguments> = Object.freeze({
  outputDir: "output",
  numTrainEpochs: 3,
  maxSteps: -1,
  perDeviceTrainBatchSize: 8,
  perDeviceEvalBatchSize: 8,
  learningRate: 5e-5,
  weightDecay: 0,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  optim: defaultOptim(),
  warmupRatio: 0,
  warmupSteps: 0,
  lrSchedulerType: "linear",
  maxGradNorm: 1,
  gradientAccumulationSteps: 1,
  seed: 42,
  evalStrategy: "no",
  evalSteps: null,
  saveStrategy: "steps",
  saveSteps: 500,
  saveTotalLimit: null,
  loadBestModelAtEnd: false,
  metricForBestModel: null,
  greaterIsBetter: null,
  loggingSteps: 500,
  batchSampler: "batch_sampler",
  groupByLength: false,
  multiDatasetBatchSampler: "proportional",
  prompts: null,
  learningRateMapping: {},
  dataloaderDropLast: false,
});

type Check = (value: unknown) => string | null;

const positiveInt: Check = (v) => (Number.isInteger(v) && (v as number) > 0 ? null : "a positive integer");
const nonNegativeInt: Check = (v) => (Number.isInteger(v) && (v as number) >= 0 ? null : "a non-negative integer");
const integer: Check = (v) => (Number.isInteger(v) ? null : "an integer");
const nonNegativeNumber: Check = (v) =>
  typeof v === "number" && Number.isFinite(v) && v >= 0 ? null : "a finite number >= 0";
const fraction: Check = (v) => (typeof v === "number" && v >= 0 && v <= 1 ? null : "a number in [0, 1]");
const boolean: Check = (v) => (typeof v === "boolean" ? null : "a boolean");
const string: Check = (v) => (typeof v === "string" && v.length > 0 ? null : "a non-empty string");
const oneOf =
  (...values: string[]): Check =>
  (v) =>
    typeof v === "string" && values.includes(v) ? null : `one of ${values.map((x) => `"${x}"`).join(", ")}`;
const nullable =
  (check: Check): Check =>
  (v) =>
    v === null ? null : check(v) === null ? null : `${check(v)} or null`;
const prompts: Check = (v) => {
  if (v === null || typeof v === "string") return null;
  if (typeof v !== "object" || Array.isArray(v))
    return "a string, a record of strings, or a record of records of strings";
  for (const inner of Object.values(v as Record<string, unknown>)) {
    if (typeof inner === "string") continue;
    if (typeof inner !== "object" || inner === null || Object.values(inner).some((x) => typeof x !== "string")) {
      return "a string, a record of strings, or a record of records of strings";
    }
  }
  return null;
};
const learningRateMapping: Check = (v) => {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "a record of regular expression -> learning rate";
  for (const [pattern, lr] of Object.entries(v)) {
    try {
      new RegExp(pattern);
    } catch {
      return `a record of valid regular expressions ('${pattern}' is not one)`;
    }
    if (typeof lr !== "number" || !(lr >= 0))
      return `a record of regular expression -> learning rate >= 0 ('${pattern}' maps to ${String(lr)})`;
  }
  return null;
};

const CHECKS: Record<keyof TrainingArguments, Check> = {
  outputDir: string,
  numTrainEpochs: (v) => (typeof v === "number" && v > 0 ? null : "a number > 0"),
  maxSteps: integer,
  perDeviceTrainBatchSize: positiveInt,
  perDeviceEvalBatchSize: positiveInt,
  learningRate: nonNegativeNumber,
  weightDecay: nonNegativeNumber,
  adamBeta1: fraction,
  adamBeta2: fraction,
  adamEpsilon: nonNegativeNumber,
  optim: oneOf("adamw_torch", "adamw_torch_fused"),
  warmupRatio: fraction,
  warmupSteps: nonNegativeInt,
  lrSchedulerType: oneOf("constant", "constant_with_warmup", "linear", "cosine", "cosine_with_restarts", "polynomial"),
  maxGradNorm: nonNegativeNumber,
  gradientAccumulationSteps: positiveInt,
  seed: nonNegativeInt,
  evalStrategy: oneOf("no", "steps", "epoch"),
  evalSteps: nullable(positiveInt),
  saveStrategy: oneOf("no", "steps", "epoch"),
  saveSteps: positiveInt,
  saveTotalLimit: nullable(positiveInt),
  loadBestModelAtEnd: boolean,
  metricForBestModel: nullable(string),
  greaterIsBetter: nullable(boolean),
  loggingSteps: positiveInt,
  batchSampler: oneOf("batch_sampler", "no_duplicates", "group_by_label"),
  groupByLength: boolean,
  multiDatasetBatchSampler: oneOf("proportional", "round_robin"),
  prompts,
  learningRateMapping,
  dataloaderDropLast: boolean,
};

/** Thrown for an unknown or ill-typed argument; names the key and what was expected. */
export class TrainingArgumentsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainingArgumentsError";
  }
}

function snakeToCamel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function closest(key: string, candidates: string[]): string | null {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let previous = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const current = row[j]!;
        row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
        previous = current;
      }
    }
    return row[b.length]!;
  };
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 4)) ? best : null;
}

/**
 * Fills the defaults and validates every key and type. `source` prefixes error messages
 * (e.g. "config.yaml: args"). Snake-case keys from the reference (per_device_train_batch_size)
 * get a hint with the camelCase name.
 *
 * @example
 * const args = resolveTrainingArguments({ outputDir: "out", perDeviceTrainBatchSize: 32 });
 */
export function resolveTrainingArguments(
  given: Partial<TrainingArguments> | Record<string, unknown>,
  source = "TrainingArguments",
): TrainingArguments {
  const known = Object.keys(CHECKS);
  const out: Record<string, unknown> = { ...DEFAULT_TRAINING_ARGUMENTS, learningRateMapping: {} };
  for (const [key, value] of Object.entries(given)) {
    if (!(key in CHECKS)) {
      const camel = snakeToCamel(key);
      const hint = camel !== key && camel in CHECKS ? camel : closest(key, known);
      throw new TrainingArgumentsError(
        `${source}: unknown argument '${key}'` +
          (hint === null ? ` (known: ${known.join(", ")})` : `; did you mean '${hint}'?`),
      );
    }
    const problem = CHECKS[key as keyof TrainingArguments](value);
    if (problem !== null) {
      throw new TrainingArgumentsError(`${source}: '${key}' must be ${problem}, got ${JSON.stringify(value)}`);
    }
    out[key] = value;
  }
  const args = out as unknown as TrainingArguments;
  if (args.evalStrategy === "steps" && args.evalSteps === null) args.evalSteps = args.loggingSteps;
  if (args.loadBestModelAtEnd) {
    if (args.evalStrategy === "no") {
      throw new TrainingArgumentsError(`${source}: loadBestModelAtEnd needs an evalStrategy other than "no"`);
    }
    if (args.saveStrategy !== args.evalStrategy) {
      throw new TrainingArgumentsError(
        `${source}: loadBestModelAtEnd needs saveStrategy to match evalStrategy (got "${args.saveStrategy}" and "${args.evalStrategy}")`,
      );
    }
  }
  if (args.optim === "adamw_torch_fused" && !torch.optim.AdamW.fusedAvailable()) {
    throw new TrainingArgumentsError(
      `${source}: optim "adamw_torch_fused" needs libtorch's fused AdamW kernel (libtorch 2.4 or newer); this ` +
        `libtorch is ${torch.buildInfo().version}. Use optim "adamw_torch", or build stts against a newer libtorch`,
    );
  }
  if (args.groupByLength && args.batchSampler === "group_by_label") {
    throw new TrainingArgumentsError(
      `${source}: groupByLength cannot be combined with batchSampler "group_by_label" (its batches are built from ` +
        'label pairs); use batchSampler "batch_sampler" or "no_duplicates", or set groupByLength to false',
    );
  }
  if (args.greaterIsBetter === null && args.metricForBestModel !== null) {
    args.greaterIsBetter = !/loss$/.test(args.metricForBestModel);
  }
  return args;
}
