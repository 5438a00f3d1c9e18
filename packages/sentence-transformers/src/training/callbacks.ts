// Trainer callbacks: hooks called at fixed points of training (the reference's TrainerCallback, camelCase).
import type { TrainingArguments } from "./arguments.js";
import type { LogEntry, TrainerState } from "./trainer-state.js";

/** Flags a callback may set to steer training. */
export interface TrainerControl {
  /** Stop after the current step (the run then ends normally: final save, onTrainEnd). */
  shouldTrainingStop: boolean;
}

/** What every hook receives. */
export interface TrainerCallbackInfo {
  args: Readonly<TrainingArguments>;
  state: Readonly<TrainerState>;
  control: TrainerControl;
  /** onLog: the entry just logged. */
  logs?: Readonly<LogEntry>;
  /** onEvaluate: the eval metrics ("eval_" keys). */
  metrics?: Readonly<Record<string, number>>;
  /** onSave: the checkpoint folder just written. */
  checkpoint?: string;
}

/**
 * Hooks the trainer calls, in this order: onTrainBegin; per optimizer step onStepEnd, then onLog
 * (when a log entry is due), onLog + onEvaluate (when an evaluation is due), onSave (when a checkpoint
 * is written); onTrainEnd. Every hook is optional; an exception in a hook stops training.
 *
 * @example
 * const stopAt10: TrainerCallback = { onStepEnd: ({ state, control }) => { control.shouldTrainingStop = state.globalStep >= 10; } };
 * new SentenceTransformerTrainer({ model, args, trainDataset, loss, callbacks: [stopAt10] });
 */
export interface TrainerCallback {
  onTrainBegin?(info: TrainerCallbackInfo): void;
  onStepEnd?(info: TrainerCallbackInfo): void;
  onLog?(info: TrainerCallbackInfo): void;
  onEvaluate?(info: TrainerCallbackInfo): void;
  onSave?(info: TrainerCallbackInfo): void;
  onTrainEnd?(info: TrainerCallbackInfo): void;
}

export type TrainerEvent = keyof TrainerCallback;

/** Calls the callbacks' hooks in the order the callbacks were given. */
export class CallbackHandler {
  readonly callbacks: TrainerCallback[];

  constructor(callbacks: readonly TrainerCallback[] = []) {
    callbacks.forEach((callback, i) => {
      if (typeof callback !== "object" || callback === null) {
        throw new TypeError(`SentenceTransformerTrainer: callbacks[${i}] must be an object of hooks, got ${callback}`);
      }
    });
    this.callbacks = [...callbacks];
  }

  fire(event: TrainerEvent, info: TrainerCallbackInfo): void {
    for (const callback of this.callbacks) callback[event]?.(info);
  }
}
