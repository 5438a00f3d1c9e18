// SentenceTransformerTrainer: the training loop (the reference's SentenceTransformerTrainer on top of
// transformers' Trainer): datasets by column order, one loss per dataset, AdamW with Hugging Face's
// parameter groups and schedules, logging, evaluation, checkpoints that resume bit for bit.
import * as path from "node:path";
import * as torch from "@stts/torch";
import { nn, optim, type Tensor } from "@stts/torch";
import { SentenceEvaluator } from "../evaluation/evaluator.js";
import { SequentialEvaluator } from "../evaluation/sequential-evaluator.js";
import { CoSENTLoss } from "../losses/cosent-loss.js";
import { backwardLoss } from "../losses/grad-cache.js";
import { Loss, type LossOutput } from "../losses/loss.js";
import {
  computeDatasetStats,
  createModelCardData,
  describeEvaluation,
  describeLosses,
  nonDefaultTrainingArguments,
  recordEvaluation,
  trainingLogsFromHistory,
  type ModelCardData,
} from "../model-card/model-card-data.js";
import type { SentenceTransformer } from "../sentence-transformer.js";
import { resolveTrainingArguments, type TrainingArguments } from "./arguments.js";
import { CallbackHandler, type TrainerCallback, type TrainerControl, type TrainerEvent } from "./callbacks.js";
import {
  checkpointFolder,
  latestCheckpoint,
  loadCheckpoint,
  loadCheckpointWeights,
  rotateCheckpoints,
  saveCheckpoint,
  type CheckpointParts,
} from "./checkpoint.js";
import { collate, planCollate, type CollatePlan } from "./collate.js";
import { checkTrainingData, resolveLossSpec, type DataCheckTarget } from "./data-checks.js";
import { Dataset } from "./dataset.js";
import { TrainingProgress } from "./progress.js";
import { createBatchSampler, interleaveBatches, rowLengthKey, type DatasetBatch } from "./samplers.js";
import { textLengths } from "../util/text-lengths.js";
import {
  initialAccumulators,
  initialTrainerState,
  trainerStateToJson,
  type LogEntry,
  type LossAccumulators,
  type TrainerState,
} from "./trainer-state.js";
import {
  TRAINING_CURVES_FILE,
  TRAINING_LOG_FILE,
  appendTrainingLog,
  resetTrainingLog,
  writeTrainingCurves,
} from "./training-log.js";

/** The trainer's constructor options. */
export interface SentenceTransformerTrainerOptions {
  model: SentenceTransformer;
  /** Training arguments (validated; defaults as DEFAULT_TRAINING_ARGUMENTS). */
  args?: Partial<TrainingArguments>;
  /** One dataset, or several by name (each with its loss when `loss` is a record). */
  trainDataset: Dataset | Record<string, Dataset>;
  /** Datasets for the eval loss ("eval_loss", or "eval_<name>_loss" per named dataset). */
  evalDataset?: Dataset | Record<string, Dataset> | null;
  /** One loss for every dataset, or one per dataset name. Default: CoSENTLoss(model), as the reference. */
  loss?: Loss | Record<string, Loss>;
  /** Evaluators run at each evaluation; their metrics are logged with the "eval_" prefix. */
  evaluator?: SentenceEvaluator | SentenceEvaluator[] | null;
  callbacks?: TrainerCallback[];
  /** The model card to fill (default: the model's, or a new one); set on the model so every save writes README.md. */
  modelCardData?: ModelCardData | null;
  /** Where progress lines and notes go (default stderr, with a progress bar on a terminal); null: silent. */
  log?: ((line: string) => void) | null;
}

/** What train() returns. */
export interface TrainOutput {
  globalStep: number;
  /** The mean training loss over the run's steps. */
  trainingLoss: number;
  /** The final summary entry (train_runtime, train_steps_per_second, train_loss, epoch, step). */
  metrics: Record<string, number>;
  /** Whether a SIGINT stopped the run (a checkpoint was saved, the final model was not). */
  interrupted: boolean;
  /** The checkpoint written when interrupted, else null. */
  checkpoint: string | null;
}

/** Thrown when a step's loss or gradient norm is NaN or infinite; the weights are those of the step before. */
export class NonFiniteLossError extends Error {
  constructor(
    message: string,
    readonly step: number,
    readonly dataset: string,
    readonly rows: readonly number[],
  ) {
    super(message);
    this.name = "NonFiniteLossError";
  }
}

/** One named dataset with its loss and how its rows are collated. */
interface Source {
  name: string;
  dataset: Dataset;
  loss: Loss;
  plan: CollatePlan;
}

interface NamedParameter {
  name: string;
  tensor: Tensor;
  decay: boolean;
}

/** Log keys a loss component may not take. */
const RESERVED_LOG_KEYS = new Set(["loss", "learning_rate", "grad_norm", "epoch", "step"]);

/**
 * Trains a SentenceTransformer, as sentence-transformers' SentenceTransformerTrainer.
 *
 * Data: the label column is `label`, `labels`, `score` or `scores`; every other column is an input, in
 * column order. Several datasets train together (`trainDataset` and `loss` as records keyed by dataset
 * name), their batches interleaved by `args.multiDatasetBatchSampler`. Before the first step every
 * dataset is checked against its loss (column count, label kind, every row: see checkTrainingData).
 *
 * The loop: AdamW over the model's and the losses' parameters (no weight decay for biases and LayerNorm
 * weights; `learningRateMapping` regexes get groups of their own), the `lrSchedulerType` schedule with
 * warmup, gradient accumulation, clipping at `maxGradNorm`, dropout on. Every `loggingSteps` a log entry
 * (mean loss since the last entry, each component of a loss that returns a record, learning_rate,
 * grad_norm, epoch) goes to the progress output, `state.logHistory` and outputDir/trainer_log.jsonl.
 * Evaluation (`evalStrategy`) logs the eval loss and the evaluators' metrics, prefixed "eval_". Checkpoints
 * (`saveStrategy`) go to outputDir/checkpoint-N (see checkpoint.ts); `saveTotalLimit` and
 * `loadBestModelAtEnd` act as the reference's. A NaN or infinite loss stops training with a
 * NonFiniteLossError naming the step, the dataset and the rows. A SIGINT during train() saves a
 * checkpoint and returns (`interrupted: true`); `train({ resumeFromCheckpoint: true })` continues from the
 * latest checkpoint exactly (same batches, dropout masks and logged losses as an uninterrupted run, on CPU).
 * At the end the final (or best) model is saved to outputDir with its model card, and
 * outputDir/training_curves.svg plots the loss and the eval metrics.
 *
 * @example
 * const trainer = new SentenceTransformerTrainer({ model, args: { outputDir: "out", numTrainEpochs: 1 }, trainDataset, loss: new CoSENTLoss(model) });
 * await trainer.train();
 *
 * @param options model, args, trainDataset, evalDataset (default none), loss (default CoSENTLoss),
 *   evaluator (default none), callbacks (default none), modelCardData (default the model's), log (default stderr)
 */
export class SentenceTransformerTrainer {
  readonly model: SentenceTransformer;
  readonly args: Readonly<TrainingArguments>;
  readonly evaluator: SentenceEvaluator | null;
  readonly modelCardData: ModelCardData;
  state: TrainerState;
  readonly #loss: Loss | Record<string, Loss>;
  readonly #train: Source[];
  readonly #eval: Source[];
  readonly #namedEval: boolean;
  readonly #callbacks: CallbackHandler;
  readonly #log: ((line: string) => void) | null;
  readonly #metricForBestModel: string | null;
  readonly #greaterIsBetter: boolean;
  #control: TrainerControl = { shouldTrainingStop: false };
  #accumulators: LossAccumulators = initialAccumulators();
  #progress: TrainingProgress | null = null;
  #newBest = false;
  #dataChecked = false;
  /** Per training dataset, the lengths groupByLength sorts by (computed once, at the first epoch). */
  readonly #rowLengths = new Map<Source, number[]>();

  constructor(options: SentenceTransformerTrainerOptions) {
    const who = "SentenceTransformerTrainer";
    const { model } = options;
    this.model = model;
    this.args = Object.freeze(resolveTrainingArguments(options.args ?? {}, `${who}: args`));
    this.#log = options.log === undefined ? this.#defaultLog : options.log;
    this.#callbacks = new CallbackHandler(options.callbacks ?? []);
    const loss = options.loss ?? new CoSENTLoss(model);
    this.#loss = loss;
    const lossFor = (name: string, split: string, named: boolean): Loss => {
      if (loss instanceof Loss) return loss;
      if (!named) {
        throw new Error(
          `${who}: loss is a record (keys: ${Object.keys(loss).join(", ")}), so ${split} must be a record of datasets with the same keys`,
        );
      }
      const found = loss[name];
      if (!(found instanceof Loss)) {
        throw new Error(
          `${who}: no loss for ${split} dataset '${name}' (loss is given for: ${Object.keys(loss).join(", ")})`,
        );
      }
      return found;
    };
    const device = model.device;
    for (const [name, each] of loss instanceof Loss ? [["loss", loss] as const] : Object.entries(loss)) {
      if (!(each instanceof Loss)) throw new TypeError(`${who}: loss '${name}' is not a Loss`);
      if (each.model !== (model as unknown)) {
        throw new Error(
          `${who}: ${each.constructor.name} (${name}) was built for another model; construct it with the trainer's model`,
        );
      }
      // As the reference's prepare_loss: the losses' own parameters (SoftmaxLoss's classifier) on the model's device.
      if (each.parameters().some((p) => p.device !== device)) each.to(device);
    }
    const sources = (
      data: Dataset | Record<string, Dataset>,
      split: "trainDataset" | "evalDataset",
    ): { sources: Source[]; named: boolean } => {
      const named = !(data instanceof Dataset);
      const entries: [string, Dataset][] = named ? Object.entries(data) : [[data.name, data]];
      if (entries.length === 0) throw new Error(`${who}: ${split} is an empty record; give at least one dataset`);
      return {
        named,
        sources: entries.map(([name, dataset]) => {
          if (!(dataset instanceof Dataset)) throw new TypeError(`${who}: ${split} '${name}' is not a Dataset`);
          const datasetLoss = lossFor(name, split, named);
          const plan = planCollate(model, dataset, {
            prompts: this.args.prompts,
            datasetName: named ? name : null,
            labelKind: resolveLossSpec(datasetLoss)?.labelKind ?? null,
          });
          return { name, dataset, loss: datasetLoss, plan };
        }),
      };
    };
    this.#train = sources(options.trainDataset, "trainDataset").sources;
    const evalData = options.evalDataset ?? null;
    const evalSources = evalData === null ? { sources: [], named: false } : sources(evalData, "evalDataset");
    this.#eval = evalSources.sources;
    this.#namedEval = evalSources.named;
    const evaluators = options.evaluator ?? null;
    this.evaluator = Array.isArray(evaluators)
      ? evaluators.length === 0
        ? null
        : evaluators.length === 1
          ? evaluators[0]!
          : new SequentialEvaluator(evaluators)
      : evaluators;
    if (this.args.evalStrategy !== "no" && this.#eval.length === 0 && this.evaluator === null) {
      throw new Error(
        `${who}: evalStrategy is "${this.args.evalStrategy}" but there is nothing to evaluate: give an evalDataset or an evaluator`,
      );
    }
    ({ metric: this.#metricForBestModel, greaterIsBetter: this.#greaterIsBetter } = this.#bestMetricSettings());
    this.modelCardData = options.modelCardData ?? model.modelCardData ?? createModelCardData();
    model.modelCardData = this.modelCardData;
    this.state = initialTrainerState(0, 0);
  }

  // ---- training ---------------------------------------------------------------------------------

  /**
   * Trains (from scratch, or from a checkpoint: a folder, or true for the latest in outputDir) and
   * saves the final model to outputDir. Resolves once done; with `interrupted: true` after a SIGINT.
   */
  async train(options: { resumeFromCheckpoint?: string | boolean } = {}): Promise<TrainOutput> {
    const args = this.args;
    const startTime = performance.now();
    this.#checkData();
    const batchesOf = (epoch: number): DatasetBatch[] => this.#trainBatches(epoch);
    const firstEpochBatches = batchesOf(0).length;
    if (firstEpochBatches === 0) {
      throw new Error(
        `SentenceTransformerTrainer: no training batches (datasets smaller than perDeviceTrainBatchSize ${args.perDeviceTrainBatchSize} with dataloaderDropLast)`,
      );
    }
    const updatesPerEpoch = Math.ceil(firstEpochBatches / args.gradientAccumulationSteps);
    const totalSteps = args.maxSteps > 0 ? args.maxSteps : Math.ceil(args.numTrainEpochs * updatesPerEpoch);
    const numEpochs = args.maxSteps > 0 ? Math.ceil(args.maxSteps / updatesPerEpoch) : Math.ceil(args.numTrainEpochs);

    const parameters = this.#namedParameters();
    const optimizer = this.#createOptimizer(parameters);
    const warmup = args.warmupSteps > 0 ? args.warmupSteps : Math.ceil(args.warmupRatio * totalSteps);
    const scheduler = optim.getScheduler(args.lrSchedulerType, optimizer, {
      numWarmupSteps: warmup,
      numTrainingSteps: totalSteps,
    });
    const device = this.model.device;
    const parts: CheckpointParts = {
      model: this.model,
      extraParameters: new Map(parameters.filter((p) => p.name.startsWith("loss.")).map((p) => [p.name, p.tensor])),
      optimizer,
      scheduler,
      devices: device === "cpu" ? ["cpu"] : ["cpu", device],
    };
    const logFile = path.join(args.outputDir, TRAINING_LOG_FILE);
    const resumeFrom = this.#checkpointToResume(options.resumeFromCheckpoint);
    if (resumeFrom !== null) {
      const restored = loadCheckpoint(resumeFrom, parts);
      this.state = { ...restored.state, maxSteps: totalSteps, numTrainEpochs: numEpochs };
      this.#accumulators = restored.accumulators;
      this.#say(`Resuming from ${resumeFrom} (step ${this.state.globalStep} of ${totalSteps})`);
    } else {
      torch.manualSeed(args.seed);
      this.state = initialTrainerState(totalSteps, numEpochs);
      this.#accumulators = initialAccumulators();
    }
    resetTrainingLog(logFile, this.state.logHistory);
    this.#fillModelCard();

    let interrupted = false;
    const onSigint = (): void => {
      interrupted = true;
    };
    process.on("SIGINT", onSigint);
    const wasTraining = this.model.training;
    this.#control = { shouldTrainingStop: false };
    const bar = process.stderr.isTTY && this.#log === this.#defaultLog;
    this.#progress =
      this.#log === null
        ? null
        : new TrainingProgress({
            total: totalSteps,
            start: this.state.globalStep,
            log: this.#log,
            bar: bar ? process.stderr : null,
          });
    let savedAt = -1;
    let checkpoint: string | null = null;
    const save = (): void => {
      if (savedAt === this.state.globalStep) return;
      checkpoint = this.#saveCheckpoint(parts);
      savedAt = this.state.globalStep;
    };
    /** Yields to the event loop (so a SIGINT handler can run); on a SIGINT saves a checkpoint and says to stop. */
    const stopForSigint = async (): Promise<boolean> => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (!interrupted) return false;
      save();
      this.#say(`Interrupted: saved ${checkpoint}; resume with train({ resumeFromCheckpoint: true })`);
      return true;
    };

    try {
      this.#fire("onTrainBegin");
      const params = parameters.map((p) => p.tensor);
      training: for (let epoch = this.state.epochIndex; epoch < numEpochs; epoch++) {
        const batches = batchesOf(epoch);
        if (epoch === this.state.epochIndex && this.state.batchesDone > batches.length) {
          throw new Error(
            `resumeFromCheckpoint: the checkpoint is at batch ${this.state.batchesDone} of epoch ${epoch}, which has only ${batches.length} batches now (did the datasets or batch size change?)`,
          );
        }
        let position = epoch === this.state.epochIndex ? this.state.batchesDone : 0;
        this.state.epochIndex = epoch;
        while (position < batches.length && this.state.globalStep < totalSteps) {
          const group = batches.slice(position, position + args.gradientAccumulationSteps);
          this.#trainingStep(group, params, optimizer);
          scheduler.step();
          optimizer.zeroGrad();
          position += group.length;
          this.state.batchesDone = position;
          this.state.globalStep += 1;
          this.state.epoch = epoch + position / batches.length;
          this.#progress?.update(this.state.globalStep, this.#accumulators.lossSum / this.#accumulators.stepsSinceLog);
          this.#fire("onStepEnd");
          const step = this.state.globalStep;
          if (step % args.loggingSteps === 0) this.#logTraining(scheduler);
          if (args.evalStrategy === "steps" && step % args.evalSteps! === 0) this.#evaluateAndLog();
          const lastStep = step >= totalSteps;
          if (args.saveStrategy === "steps" && (step % args.saveSteps === 0 || lastStep)) save();
          if (this.#control.shouldTrainingStop) break training;
          if (position < batches.length && (await stopForSigint())) {
            interrupted = true;
            break training;
          }
        }
        if (position >= batches.length) {
          this.state.epochIndex = epoch + 1;
          this.state.batchesDone = 0;
        }
        const epochDone = position >= batches.length || this.state.globalStep >= totalSteps;
        if (epochDone && args.evalStrategy === "epoch") this.#evaluateAndLog();
        if (epochDone && args.saveStrategy === "epoch") save();
        if (await stopForSigint()) {
          interrupted = true;
          break;
        }
        if (this.state.globalStep >= totalSteps) break;
      }

      if (!interrupted && args.loadBestModelAtEnd) this.#loadBestModel(parts);
      const runtime = (performance.now() - startTime) / 1000;
      const trainingLoss = this.state.globalStep > 0 ? this.#accumulators.totalLossSum / this.state.globalStep : 0;
      const summary: LogEntry = {
        train_runtime: runtime,
        train_steps_per_second: this.#progress?.rate ?? this.state.globalStep / runtime,
        train_loss: trainingLoss,
        epoch: this.state.epoch,
        step: this.state.globalStep,
      };
      if (!interrupted) {
        this.#record(summary);
        this.#fillModelCard();
        this.model.train(wasTraining);
        this.model.save(args.outputDir);
      }
      writeTrainingCurves(path.join(args.outputDir, TRAINING_CURVES_FILE), this.state.logHistory);
      this.#fire("onTrainEnd");
      return {
        globalStep: this.state.globalStep,
        trainingLoss,
        metrics: summary,
        interrupted,
        checkpoint: interrupted ? checkpoint : null,
      };
    } finally {
      process.off("SIGINT", onSigint);
      this.#progress?.close();
      this.#progress = null;
      this.model.train(wasTraining);
      optimizer.zeroGrad();
      optimizer.dispose();
    }
  }

  /** One optimizer step over `group` (gradientAccumulationSteps batches, fewer at the end of an epoch). */
  #trainingStep(group: DatasetBatch[], params: Tensor[], optimizer: optim.Optimizer<optim.AdamWOptions>): void {
    const step = this.state.globalStep + 1;
    this.model.train();
    let stepLoss = 0;
    const components: Record<string, number> = {};
    for (const batch of group) {
      const source = this.#train.find((s) => s.name === batch.dataset)!;
      source.loss.train();
      torch.scope(() => {
        const { features, labels } = collate(this.model, source.dataset, batch.indices, source.plan, this.model.device);
        const { total, parts } = combineLoss(source.loss.forward(features, labels));
        const value = total.item();
        if (!Number.isFinite(value)) throw this.#nonFinite("the loss", value, step, batch);
        for (const [name, part] of Object.entries(parts)) {
          const key = RESERVED_LOG_KEYS.has(name) ? `loss_${name}` : name;
          components[key] = (components[key] ?? 0) + part.item() / group.length;
        }
        backwardLoss(source.loss, group.length === 1 ? total : total.div(group.length));
        stepLoss += value / group.length;
      });
    }
    let gradNorm: number | null = null;
    if (this.args.maxGradNorm > 0) {
      gradNorm = optim.clipGradNorm(params, this.args.maxGradNorm);
      if (!Number.isFinite(gradNorm)) throw this.#nonFinite("the gradient norm", gradNorm, step, group.at(-1)!);
    }
    optimizer.step();
    const acc = this.#accumulators;
    acc.lossSum += stepLoss;
    acc.totalLossSum += stepLoss;
    acc.stepsSinceLog += 1;
    acc.lastGradNorm = gradNorm;
    for (const [name, value] of Object.entries(components)) {
      acc.componentSums[name] = (acc.componentSums[name] ?? 0) + value;
    }
  }

  #nonFinite(what: string, value: number, step: number, batch: DatasetBatch): NonFiniteLossError {
    const rows = batch.indices;
    const shown = rows.length > 16 ? `${rows.slice(0, 16).join(", ")}, ... (${rows.length} rows)` : rows.join(", ");
    return new NonFiniteLossError(
      `Training stopped at step ${step} (epoch ${this.state.epoch.toFixed(2)}): ${what} is ${value} on dataset '${batch.dataset}', ` +
        `batch of rows ${shown} (0-based). The weights are those after step ${step - 1}; nothing of step ${step} was saved. ` +
        "Check those rows, or lower the learning rate.",
      step,
      batch.dataset,
      rows,
    );
  }

  #logTraining(scheduler: optim.LRScheduler): void {
    const acc = this.#accumulators;
    if (acc.stepsSinceLog === 0) return;
    const entry: LogEntry = { loss: acc.lossSum / acc.stepsSinceLog };
    for (const [name, sum] of Object.entries(acc.componentSums)) entry[name] = sum / acc.stepsSinceLog;
    if (acc.lastGradNorm !== null) entry.grad_norm = acc.lastGradNorm;
    entry.learning_rate = scheduler.getLastLr()[0]!;
    entry.epoch = this.state.epoch;
    entry.step = this.state.globalStep;
    acc.lossSum = 0;
    acc.componentSums = {};
    acc.stepsSinceLog = 0;
    this.#record(entry);
  }

  /** Adds an entry to the history, the JSONL log and the progress output, and fires onLog. */
  #record(entry: LogEntry): void {
    this.state.logHistory.push(entry);
    appendTrainingLog(path.join(this.args.outputDir, TRAINING_LOG_FILE), entry);
    this.#progress?.entry(entry);
    this.#fire("onLog", { logs: entry });
  }

  // ---- evaluation -------------------------------------------------------------------------------

  /**
   * Computes the eval loss on evalDataset ("eval_loss", or "eval_<name>_loss" per named dataset, plus
   * each component of a loss that returns a record) and runs the evaluator (its metrics prefixed
   * "eval_"), with dropout off and without gradients. Logs the entry and fires onLog and onEvaluate.
   */
  evaluate(): Record<string, number> {
    this.#checkData();
    return this.#evaluateAndLog();
  }

  #evaluateAndLog(): Record<string, number> {
    const metrics = this.#evaluateMetrics();
    const entry: LogEntry = { ...metrics, epoch: this.state.epoch, step: this.state.globalStep };
    this.#record(entry);
    this.#fire("onEvaluate", { metrics });
    this.#updateBestMetric(metrics);
    return metrics;
  }

  #evaluateMetrics(): Record<string, number> {
    const model = this.model;
    const wasTraining = model.training;
    const metrics: Record<string, number> = {};
    const device = model.device;
    // Evaluation draws no random numbers from the training's generators (a loss may sample, e.g. nDimsPerStep).
    const fork = <T>(fn: () => T): T =>
      torch.forkRng(() => (device === "cpu" ? fn() : torch.forkRng(fn, device)), "cpu");
    fork(() => {
      model.eval();
      try {
        for (const source of this.#eval) {
          const prefix = this.#namedEval ? `eval_${source.name}_` : "eval_";
          Object.assign(metrics, this.#evalLoss(source, prefix));
        }
        if (this.evaluator !== null) {
          const start = performance.now();
          const results = this.evaluator.evaluate(model, { epoch: this.state.epoch, steps: this.state.globalStep });
          for (const [key, value] of Object.entries(results)) {
            metrics[key.startsWith("eval_") ? key : `eval_${key}`] = value;
          }
          metrics.eval_runtime = (performance.now() - start) / 1000;
          recordEvaluation(this.modelCardData, describeEvaluation(this.evaluator, results));
        }
      } finally {
        model.train(wasTraining);
      }
    });
    return metrics;
  }

  /** The eval loss of one dataset: the mean over its rows of the batch losses (batches weighted by size). */
  #evalLoss(source: Source, prefix: string): Record<string, number> {
    const { dataset, loss, plan } = source;
    const batches = createBatchSampler(this.args.batchSampler, dataset, {
      batchSize: this.args.perDeviceEvalBatchSize,
      seed: this.args.seed,
    }).batches(0);
    const wasTraining = loss.training;
    loss.eval();
    let rows = 0;
    let total = 0;
    const components: Record<string, number> = {};
    try {
      torch.noGrad(() => {
        for (const indices of batches) {
          torch.scope(() => {
            const { features, labels } = collate(this.model, dataset, indices, plan, this.model.device);
            const out = combineLoss(loss.forward(features, labels));
            total += out.total.item() * indices.length;
            for (const [name, part] of Object.entries(out.parts)) {
              const key = RESERVED_LOG_KEYS.has(name) ? `loss_${name}` : name;
              components[key] = (components[key] ?? 0) + part.item() * indices.length;
            }
            rows += indices.length;
          });
        }
      });
    } finally {
      loss.train(wasTraining);
    }
    const out: Record<string, number> = { [`${prefix}loss`]: total / rows };
    for (const [name, sum] of Object.entries(components)) out[`${prefix}${name}`] = sum / rows;
    return out;
  }

  #bestMetricSettings(): { metric: string | null; greaterIsBetter: boolean } {
    const args = this.args;
    let metric = args.metricForBestModel;
    if (metric === null && !args.loadBestModelAtEnd) return { metric: null, greaterIsBetter: false };
    if (args.loadBestModelAtEnd && args.evalStrategy === "steps" && args.saveSteps % args.evalSteps! !== 0) {
      throw new Error(
        `SentenceTransformerTrainer: loadBestModelAtEnd needs saveSteps (${args.saveSteps}) to be a multiple of evalSteps (${args.evalSteps})`,
      );
    }
    if (metric === null) {
      // As the reference, the eval loss; without an eval dataset, the evaluator's primary metric.
      if (this.#eval.length === 0 && this.evaluator !== null) {
        return { metric: `eval_${this.evaluator.primaryMetric}`, greaterIsBetter: this.evaluator.greaterIsBetter };
      }
      metric = "loss";
    }
    const key = metric.startsWith("eval_") ? metric : `eval_${metric}`;
    return { metric: key, greaterIsBetter: args.greaterIsBetter ?? !key.endsWith("loss") };
  }

  #updateBestMetric(metrics: Record<string, number>): void {
    const key = this.#metricForBestModel;
    if (key === null) return;
    const value = metrics[key];
    if (value === undefined) {
      throw new Error(
        `SentenceTransformerTrainer: metricForBestModel '${key}' is not among the eval metrics (${Object.keys(metrics).join(", ") || "none: give an evalDataset or an evaluator"})`,
      );
    }
    const best = this.state.bestMetric;
    if (best === null || (this.#greaterIsBetter ? value > best : value < best)) {
      this.state.bestMetric = value;
      this.#newBest = true;
    }
  }

  // ---- checkpoints ------------------------------------------------------------------------------

  #saveCheckpoint(parts: CheckpointParts): string {
    const folder = checkpointFolder(this.args.outputDir, this.state.globalStep);
    if (this.#newBest) {
      this.state.bestModelCheckpoint = folder;
      this.#newBest = false;
    }
    this.#fillModelCard();
    const saved = saveCheckpoint(
      this.args.outputDir,
      this.state.globalStep,
      parts,
      trainerStateToJson(this.state, this.#accumulators),
      this.args,
    );
    rotateCheckpoints(this.args.outputDir, this.args.saveTotalLimit, this.state.bestModelCheckpoint);
    this.#fire("onSave", { checkpoint: saved });
    return saved;
  }

  #checkpointToResume(resume: string | boolean | undefined): string | null {
    if (resume === undefined || resume === false) return null;
    if (resume === true) {
      const latest = latestCheckpoint(this.args.outputDir);
      if (latest === null) {
        throw new Error(`resumeFromCheckpoint: no checkpoint-N folder in outputDir ${this.args.outputDir}`);
      }
      return latest;
    }
    return resume;
  }

  #loadBestModel(parts: CheckpointParts): void {
    const best = this.state.bestModelCheckpoint;
    if (best === null) return;
    this.#say(`Loading the best model from ${best} (${this.#metricForBestModel} = ${this.state.bestMetric})`);
    loadCheckpointWeights(best, parts.model, parts.extraParameters);
    const match = /checkpoint-(\d+)$/.exec(best);
    if (match !== null) this.modelCardData.bestModelStep = Number(match[1]);
  }

  // ---- helpers ----------------------------------------------------------------------------------

  /** Checks every (dataset, loss) pair once (see checkTrainingData). */
  #checkData(): void {
    if (this.#dataChecked) return;
    const targets: DataCheckTarget[] = [
      ...this.#train.map((s) => ({ name: s.name, dataset: s.dataset, loss: s.loss, split: "train" as const })),
      ...this.#eval.map((s) => ({ name: s.name, dataset: s.dataset, loss: s.loss, split: "eval" as const })),
    ];
    checkTrainingData(targets, (line) => this.#say(line));
    this.#dataChecked = true;
  }

  /** The epoch's batches: each dataset's sampler (seeded per dataset and epoch), interleaved across datasets. */
  #trainBatches(epoch: number): DatasetBatch[] {
    const args = this.args;
    const perDataset = new Map(
      this.#train.map((source, i) => [
        source.name,
        createBatchSampler(args.batchSampler, source.dataset, {
          batchSize: args.perDeviceTrainBatchSize,
          dropLast: args.dataloaderDropLast,
          seed: args.seed + i,
          groupByLength: args.groupByLength,
          lengths: args.groupByLength ? this.#lengthsOf(source) : undefined,
        }).batches(epoch),
      ]),
    );
    if (this.#train.length === 1) {
      const [name, batches] = [...perDataset][0]!;
      return batches.map((indices) => ({ dataset: name, indices }));
    }
    return interleaveBatches(args.multiDatasetBatchSampler, perDataset, args.seed, epoch);
  }

  /**
   * The lengths groupByLength sorts a dataset's rows by: rowLengthKey over the token counts of each input
   * column as collate tokenizes it (prompt included, truncated at maxSeqLength), so batches group by the
   * padding they will really get. One tokenization pass, about 0.06 ms per row of an SNLI pair on 2 CPU cores.
   */
  #lengthsOf(source: Source): number[] {
    let lengths = this.#rowLengths.get(source);
    if (lengths === undefined) {
      lengths = rowLengthKey(source.plan.inputColumns.map((column) => this.#tokenCounts(source, column)));
      this.#rowLengths.set(source, lengths);
    }
    return lengths;
  }

  /** The tokens per row of one column, prompt included (textLengths). */
  #tokenCounts(source: Source, column: string): number[] {
    const prompt = source.plan.prompts.get(column) ?? "";
    const texts = source.dataset.column(column).map((value) => prompt + (value as string));
    return textLengths(this.model, texts).lengths;
  }

  /**
   * The trainable parameters of the model and the losses, each once: model parameters by their names,
   * the losses' own ones as "loss.<name>" (one loss) or "loss.<dataset>.<name>".
   */
  #namedParameters(): NamedParameter[] {
    const out: NamedParameter[] = [];
    const seen = new Set<Tensor>();
    const layerNorm = new Set<Tensor>();
    const modules: [string, nn.Module][] = [["", this.model]];
    const loss = this.#loss;
    if (loss instanceof Loss) modules.push(["loss.", loss]);
    else for (const [name, each] of Object.entries(loss)) modules.push([`loss.${name}.`, each]);
    for (const [, module] of modules) {
      for (const sub of module.modules()) {
        if (sub instanceof nn.LayerNorm) for (const p of sub.parameters()) layerNorm.add(p);
      }
    }
    for (const [prefix, module] of modules) {
      for (const [name, tensor] of module.namedParameters()) {
        if (seen.has(tensor) || !tensor.requiresGrad) continue;
        seen.add(tensor);
        const full = `${prefix}${name}`;
        const decay = !(/bias/i.test(full) || /layernorm|layer_norm|rmsnorm/i.test(full) || layerNorm.has(tensor));
        out.push({ name: full, tensor, decay });
      }
    }
    if (out.length === 0)
      throw new Error("SentenceTransformerTrainer: the model and losses have no trainable parameters");
    return out;
  }

  /** AdamW with one group per (learning rate, decay or not): HF's exclusions and learningRateMapping. */
  #createOptimizer(parameters: NamedParameter[]): optim.AdamW {
    const args = this.args;
    const mapping = Object.entries(args.learningRateMapping).map(([pattern, lr]) => ({ re: new RegExp(pattern), lr }));
    const groups = new Map<string, { params: Tensor[]; lr: number; weightDecay: number }>();
    for (const groupKey of ["default|1", "default|0"]) {
      groups.set(groupKey, {
        params: [],
        lr: args.learningRate,
        weightDecay: groupKey.endsWith("1") ? args.weightDecay : 0,
      });
    }
    for (const { name, tensor, decay } of parameters) {
      const index = mapping.findIndex(({ re }) => re.test(name));
      const key = `${index < 0 ? "default" : index}|${decay ? 1 : 0}`;
      let group = groups.get(key);
      if (group === undefined) {
        group = { params: [], lr: mapping[index]!.lr, weightDecay: decay ? args.weightDecay : 0 };
        groups.set(key, group);
      }
      group.params.push(tensor);
    }
    return new optim.AdamW(
      [...groups.values()].filter((g) => g.params.length > 0),
      {
        lr: args.learningRate,
        betas: [args.adamBeta1, args.adamBeta2],
        eps: args.adamEpsilon,
        weightDecay: args.weightDecay,
        fused: args.optim === "adamw_torch_fused",
      },
    );
  }

  /** Fills the model card with the datasets, losses, arguments and log (README.md of every save). */
  #fillModelCard(): void {
    const card = this.modelCardData;
    if (card.trainDatasets.length === 0) {
      card.trainDatasets = this.#train.map((s) => computeDatasetStats(this.model, s.dataset, { name: s.name }));
      card.evalDatasets = this.#eval.map((s) => computeDatasetStats(this.model, s.dataset, { name: s.name }));
    }
    card.losses = describeLosses(this.#loss);
    card.trainingArguments = nonDefaultTrainingArguments(this.args as TrainingArguments);
    const primary = this.evaluator === null ? undefined : [this.evaluator.primaryMetric];
    card.trainingLogs = trainingLogsFromHistory(this.state.logHistory, { primaryMetrics: primary });
  }

  #fire(
    event: TrainerEvent,
    extra: { logs?: LogEntry; metrics?: Record<string, number>; checkpoint?: string } = {},
  ): void {
    this.#callbacks.fire(event, { args: this.args, state: this.state, control: this.#control, ...extra });
  }

  #say(line: string): void {
    if (this.#progress !== null) this.#progress.message(line);
    else this.#log?.(line);
  }

  readonly #defaultLog = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
}

/** A loss output as the value to backpropagate (the sum of the components of a record) and its named parts. */
function combineLoss(output: LossOutput): { total: Tensor; parts: Record<string, Tensor> } {
  if (output instanceof torch.Tensor) return { total: output, parts: {} };
  const values = Object.values(output);
  if (values.length === 0) throw new Error("SentenceTransformerTrainer: the loss returned an empty record");
  return { total: values.reduce((sum, value) => sum.add(value)), parts: output };
}
