// Learning-rate schedules: a LambdaLR-style scheduler and Hugging Face transformers' named schedules.
import type { GroupOptions, Optimizer } from "./optimizer.js";
import { describe, libmPow } from "./optimizer.js";

/** A learning-rate multiplier as a function of the step (PyTorch's `lr_lambda`). */
export type LrLambda = (step: number) => number;

/** What a scheduler needs of an optimizer: its groups' lr (and the default lr, for "polynomial"). */
export type SchedulableOptimizer = Pick<Optimizer<GroupOptions>, "paramGroups" | "defaults">;

/** The JSON-able state of an LRScheduler. */
export interface LRSchedulerState {
  /** The step the current learning rates were computed for (0 after construction). */
  lastEpoch: number;
  /** Each group's initial learning rate, which the multipliers scale. */
  baseLrs: number[];
  /** The learning rates last applied to the groups. */
  lastLr: number[];
  /** How many times step() ran, the constructor's initial step included (PyTorch's `_step_count`). */
  stepCount: number;
}

/**
 * Sets each parameter group's learning rate to its initial learning rate times a multiplier of
 * the step, like torch.optim.lr_scheduler.LambdaLR: at construction each group's `initialLr` is
 * set to its current `lr` (unless already set), and the learning rates for step 0 are applied;
 * each `step()` (call it after `optimizer.step()`) advances `lastEpoch` by one and applies its rates.
 *
 * To resume, create the optimizer and the scheduler as before, then load the optimizer's state
 * (which holds lr and initialLr) and the scheduler's state (lastEpoch...), in that order.
 *
 * @example
 * const sched = new torch.optim.LRScheduler(opt, (step) => Math.min(1, (step + 1) / 100));
 * for (const batch of batches) { ...; opt.step(); sched.step(); }
 *
 * @param optimizer the optimizer whose groups' `lr` it sets
 * @param lrLambda  one multiplier function for all groups, or one per group
 * @param options   lastEpoch = -1: the last step done; -1 starts a new schedule, a value >= 0
 *                  resumes one (every group must then have `initialLr`)
 */
export class LRScheduler {
  readonly optimizer: SchedulableOptimizer;
  readonly lrLambdas: LrLambda[];
  /** Each group's initial learning rate. */
  baseLrs: number[];
  /** The step the current learning rates were computed for. */
  lastEpoch: number;
  /** How many times step() ran, the constructor's included. */
  stepCount = 0;
  #lastLr: number[] = [];

  constructor(optimizer: SchedulableOptimizer, lrLambda: LrLambda | LrLambda[], options: { lastEpoch?: number } = {}) {
    const groups = optimizer?.paramGroups;
    if (!Array.isArray(groups))
      throw new TypeError(`LRScheduler: optimizer must be an Optimizer, got ${describe(optimizer)}`);
    this.optimizer = optimizer;
    if (Array.isArray(lrLambda)) {
      if (lrLambda.length !== groups.length) {
        throw new RangeError(
          `LRScheduler: expected ${groups.length} lrLambdas (one per group), got ${lrLambda.length}`,
        );
      }
      this.lrLambdas = [...lrLambda];
    } else {
      this.lrLambdas = groups.map(() => lrLambda);
    }
    this.lrLambdas.forEach((fn, i) => {
      if (typeof fn !== "function")
        throw new TypeError(`LRScheduler: lrLambda ${i} is ${describe(fn)}, expected a function`);
    });
    const lastEpoch = options.lastEpoch ?? -1;
    if (!Number.isInteger(lastEpoch) || lastEpoch < -1) {
      throw new RangeError(`LRScheduler: lastEpoch must be an integer >= -1, got ${describe(lastEpoch)}`);
    }
    if (lastEpoch === -1) {
      for (const group of groups) group.initialLr ??= group.lr;
    } else {
      groups.forEach((group, i) => {
        if (group.initialLr === undefined) {
          throw new Error(
            `LRScheduler: paramGroups[${i}] has no initialLr, needed to resume with lastEpoch ${lastEpoch} ` +
              "(load the optimizer's state dict first)",
          );
        }
      });
    }
    this.baseLrs = groups.map((group) => group.initialLr!);
    this.lastEpoch = lastEpoch;
    this.step();
  }

  /** Advances one step and sets each group's lr to baseLr * lrLambda(lastEpoch). */
  step(): void {
    this.stepCount += 1;
    this.lastEpoch += 1;
    const groups = this.optimizer.paramGroups;
    if (groups.length !== this.baseLrs.length) {
      throw new Error(
        `LRScheduler.step: the optimizer has ${groups.length} parameter groups, the scheduler ${this.baseLrs.length}`,
      );
    }
    const lrs = this.lrLambdas.map((fn, i) => this.baseLrs[i]! * fn(this.lastEpoch));
    groups.forEach((group, i) => (group.lr = lrs[i]!));
    this.#lastLr = groups.map((group) => group.lr);
  }

  /** The learning rates last set, one per group. */
  getLastLr(): number[] {
    return [...this.#lastLr];
  }

  /** The scheduler's state (JSON-able; the multiplier functions are not part of it). */
  stateDict(): LRSchedulerState {
    return {
      lastEpoch: this.lastEpoch,
      baseLrs: [...this.baseLrs],
      lastLr: [...this.#lastLr],
      stepCount: this.stepCount,
    };
  }

  /**
   * Restores a state from `stateDict()`. Like PyTorch, it does not change the optimizer's learning
   * rates: load the optimizer's state dict too (it holds them).
   */
  loadStateDict(state: LRSchedulerState): void {
    const where = "LRScheduler.loadStateDict";
    if (typeof state !== "object" || state === null)
      throw new TypeError(`${where}: expected an object, got ${describe(state)}`);
    const n = this.optimizer.paramGroups.length;
    if (!Number.isInteger(state.lastEpoch) || state.lastEpoch < 0) {
      throw new RangeError(`${where}: lastEpoch must be an integer >= 0, got ${describe(state.lastEpoch)}`);
    }
    if (!Number.isInteger(state.stepCount) || state.stepCount < 0) {
      throw new RangeError(`${where}: stepCount must be an integer >= 0, got ${describe(state.stepCount)}`);
    }
    for (const key of ["baseLrs", "lastLr"] as const) {
      const list: unknown = state[key];
      if (!Array.isArray(list) || list.length !== n || list.some((v) => typeof v !== "number" || !Number.isFinite(v))) {
        throw new RangeError(`${where}: ${key} must hold ${n} finite numbers (one per group), got ${describe(list)}`);
      }
    }
    this.lastEpoch = state.lastEpoch;
    this.stepCount = state.stepCount;
    this.baseLrs = [...state.baseLrs];
    this.#lastLr = [...state.lastLr];
  }
}

// ---- Hugging Face transformers' schedules (transformers/optimization.py) --------------------------
// Each multiplier is written with the same floating-point operations, in the same order, as the
// corresponding transformers lambda. Python's max(0.0, x) is `x > 0 ? x : 0`; Python's float ** is
// the C library's pow (libmPow). Math.cos is V8's, while CPython's math.cos is the C library's: the
// two differ in the last bit for about 2% of arguments, so "cosine" multipliers can differ from
// Python's by one unit in the last place (a relative 1e-16).

/** The schedules getScheduler knows (transformers' SchedulerType values). */
export const SCHEDULER_NAMES = [
  "constant",
  "constant_with_warmup",
  "linear",
  "cosine",
  "cosine_with_restarts",
  "polynomial",
] as const;

export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

/** transformers' get_constant_schedule: 1 at every step. */
export function constantLambda(): LrLambda {
  return () => 1;
}

/** transformers' get_constant_schedule_with_warmup: step / max(1, numWarmupSteps) during warmup, then 1. */
export function constantWithWarmupLambda(numWarmupSteps: number): LrLambda {
  checkSteps(numWarmupSteps, "numWarmupSteps", "constant_with_warmup");
  return (step) => (step < numWarmupSteps ? step / Math.max(1, numWarmupSteps) : 1);
}

/**
 * transformers' get_linear_schedule_with_warmup: linear warmup from 0 to 1, then linear decay to 0
 * at numTrainingSteps: max(0, (numTrainingSteps - step) / max(1, numTrainingSteps - numWarmupSteps)).
 */
export function linearWithWarmupLambda(numWarmupSteps: number, numTrainingSteps: number): LrLambda {
  checkSteps(numWarmupSteps, "numWarmupSteps", "linear");
  checkSteps(numTrainingSteps, "numTrainingSteps", "linear");
  return (step) => {
    if (step < numWarmupSteps) return step / Math.max(1, numWarmupSteps);
    return positive((numTrainingSteps - step) / Math.max(1, numTrainingSteps - numWarmupSteps));
  };
}

/**
 * transformers' get_cosine_schedule_with_warmup: linear warmup, then
 * max(0, 0.5 * (1 + cos(pi * numCycles * 2 * progress))) with
 * progress = (step - numWarmupSteps) / max(1, numTrainingSteps - numWarmupSteps).
 * numCycles = 0.5 (the default) is a half cosine from 1 down to 0.
 */
export function cosineWithWarmupLambda(numWarmupSteps: number, numTrainingSteps: number, numCycles = 0.5): LrLambda {
  checkSteps(numWarmupSteps, "numWarmupSteps", "cosine");
  checkSteps(numTrainingSteps, "numTrainingSteps", "cosine");
  checkFinite(numCycles, "numCycles", "cosine");
  return (step) => {
    if (step < numWarmupSteps) return step / Math.max(1, numWarmupSteps);
    const progress = (step - numWarmupSteps) / Math.max(1, numTrainingSteps - numWarmupSteps);
    return positive(0.5 * (1.0 + Math.cos(Math.PI * numCycles * 2.0 * progress)));
  };
}

/**
 * transformers' get_cosine_with_hard_restarts_schedule_with_warmup: linear warmup, then numCycles
 * (default 1) cosine decays from 1 to 0, each restarting at 1: 0.5 * (1 + cos(pi * ((numCycles *
 * progress) % 1))), and 0 from progress 1 on.
 */
export function cosineWithHardRestartsLambda(
  numWarmupSteps: number,
  numTrainingSteps: number,
  numCycles = 1,
): LrLambda {
  checkSteps(numWarmupSteps, "numWarmupSteps", "cosine_with_restarts");
  checkSteps(numTrainingSteps, "numTrainingSteps", "cosine_with_restarts");
  checkFinite(numCycles, "numCycles", "cosine_with_restarts");
  return (step) => {
    if (step < numWarmupSteps) return step / Math.max(1, numWarmupSteps);
    const progress = (step - numWarmupSteps) / Math.max(1, numTrainingSteps - numWarmupSteps);
    if (progress >= 1.0) return 0.0;
    return positive(0.5 * (1.0 + Math.cos(Math.PI * ((numCycles * progress) % 1.0))));
  };
}

/**
 * transformers' get_polynomial_decay_schedule_with_warmup: linear warmup, then a polynomial decay
 * from lrInit to lrEnd at numTrainingSteps, as a multiplier of lrInit (transformers passes the
 * optimizer's default lr): ((lrInit - lrEnd) * (1 - (step - numWarmupSteps) / (numTrainingSteps -
 * numWarmupSteps)) ** power + lrEnd) / lrInit, and lrEnd / lrInit after numTrainingSteps.
 */
export function polynomialDecayWithWarmupLambda(
  numWarmupSteps: number,
  numTrainingSteps: number,
  lrInit: number,
  lrEnd = 1e-7,
  power = 1.0,
): LrLambda {
  checkSteps(numWarmupSteps, "numWarmupSteps", "polynomial");
  checkSteps(numTrainingSteps, "numTrainingSteps", "polynomial");
  checkFinite(lrEnd, "lrEnd", "polynomial");
  checkFinite(power, "power", "polynomial");
  if (!(lrInit > lrEnd))
    throw new RangeError(`polynomial: lrEnd (${lrEnd}) must be smaller than the initial lr (${lrInit})`);
  if (numTrainingSteps === numWarmupSteps) {
    // transformers divides by numTrainingSteps - numWarmupSteps at step numTrainingSteps (ZeroDivisionError).
    throw new RangeError(`polynomial: numTrainingSteps (${numTrainingSteps}) must differ from numWarmupSteps`);
  }
  return (step) => {
    if (step < numWarmupSteps) return step / Math.max(1, numWarmupSteps);
    if (step > numTrainingSteps) return lrEnd / lrInit;
    const lrRange = lrInit - lrEnd;
    const decaySteps = numTrainingSteps - numWarmupSteps;
    const pctRemaining = 1 - (step - numWarmupSteps) / decaySteps;
    const decay = lrRange * (power === 1 ? pctRemaining : libmPow(pctRemaining, power)) + lrEnd;
    return decay / lrInit;
  };
}

/** Options of getScheduler (transformers' num_warmup_steps, num_training_steps and scheduler_specific_kwargs). */
export interface GetSchedulerOptions {
  /** Warmup steps: required by every schedule but "constant". */
  numWarmupSteps?: number;
  /** Total training steps: required by "linear", "cosine", "cosine_with_restarts" and "polynomial". */
  numTrainingSteps?: number;
  /** "cosine": number of waves (default 0.5); "cosine_with_restarts": number of restarts (default 1). */
  numCycles?: number;
  /** "polynomial": the final learning rate (default 1e-7). */
  lrEnd?: number;
  /** "polynomial": the power (default 1.0). */
  power?: number;
  /** The last step done (default -1: start a new schedule). */
  lastEpoch?: number;
}

/**
 * A scheduler by name, like transformers' get_scheduler: "constant", "constant_with_warmup",
 * "linear", "cosine", "cosine_with_restarts" or "polynomial".
 *
 * @example
 * const sched = torch.optim.getScheduler("linear", opt, { numWarmupSteps: 100, numTrainingSteps: 1000 });
 *
 * @param name      the schedule
 * @param optimizer the optimizer whose learning rates it sets
 * @param options   numWarmupSteps, numTrainingSteps (as the schedule needs), numCycles, lrEnd, power, lastEpoch
 */
export function getScheduler(
  name: SchedulerName,
  optimizer: SchedulableOptimizer,
  options: GetSchedulerOptions = {},
): LRScheduler {
  if (!(SCHEDULER_NAMES as readonly string[]).includes(name)) {
    throw new RangeError(`getScheduler: unknown scheduler '${String(name)}' (known: ${SCHEDULER_NAMES.join(", ")})`);
  }
  const known = ["numWarmupSteps", "numTrainingSteps", "numCycles", "lrEnd", "power", "lastEpoch"];
  for (const key of Object.keys(options)) {
    if (!known.includes(key))
      throw new TypeError(`getScheduler: unknown option '${key}' (options: ${known.join(", ")})`);
  }
  const specific: Record<SchedulerName, string[]> = {
    constant: [],
    constant_with_warmup: [],
    linear: [],
    cosine: ["numCycles"],
    cosine_with_restarts: ["numCycles"],
    polynomial: ["lrEnd", "power"],
  };
  for (const key of ["numCycles", "lrEnd", "power"]) {
    if ((options as Record<string, unknown>)[key] !== undefined && !specific[name].includes(key)) {
      throw new TypeError(`getScheduler: '${name}' does not take option '${key}'`);
    }
  }
  const schedulerOptions = { lastEpoch: options.lastEpoch };
  if (name === "constant") return new LRScheduler(optimizer, constantLambda(), schedulerOptions);
  const warmup = options.numWarmupSteps;
  if (warmup === undefined) throw new TypeError(`getScheduler: '${name}' requires numWarmupSteps`);
  if (name === "constant_with_warmup") {
    return new LRScheduler(optimizer, constantWithWarmupLambda(warmup), schedulerOptions);
  }
  const total = options.numTrainingSteps;
  if (total === undefined) throw new TypeError(`getScheduler: '${name}' requires numTrainingSteps`);
  let fn: LrLambda;
  switch (name) {
    case "linear":
      fn = linearWithWarmupLambda(warmup, total);
      break;
    case "cosine":
      fn = cosineWithWarmupLambda(warmup, total, options.numCycles ?? 0.5);
      break;
    case "cosine_with_restarts":
      fn = cosineWithHardRestartsLambda(warmup, total, options.numCycles ?? 1);
      break;
    case "polynomial":
      fn = polynomialDecayWithWarmupLambda(
        warmup,
        total,
        optimizer.defaults.lr,
        options.lrEnd ?? 1e-7,
        options.power ?? 1.0,
      );
      break;
  }
  return new LRScheduler(optimizer, fn, schedulerOptions);
}

/** Python's max(0.0, x): x when x > 0, else 0 (NaN included). */
function positive(x: number): number {
  return x > 0 ? x : 0;
}

function checkSteps(value: unknown, what: string, schedule: string): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new RangeError(`${schedule}: ${what} must be an integer >= 0, got ${describe(value)}`);
  }
}

function checkFinite(value: unknown, what: string, schedule: string): void {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new RangeError(`${schedule}: ${what} must be a finite number, got ${describe(value)}`);
  }
}
