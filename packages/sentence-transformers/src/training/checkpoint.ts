// Checkpoints: outputDir/checkpoint-N/ with everything a run needs to continue exactly where it was.
//
//   (the model, sentence-transformers layout)    model.save()
//   loss.safetensors                             trainable tensors of the losses (SoftmaxLoss's classifier...)
//   optimizer.safetensors + optimizer.json       optim.optimizerStateToTensors
//   scheduler.json                               the LR scheduler's stateDict()
//   rng_state.safetensors                        torch.getRngState() per device
//   trainer_state.json                           TrainerState + the running loss sums (position in the epoch included)
//   training_args.json                           the TrainingArguments
//
// Written into a temporary folder next to it and renamed, so a crash or an exception while saving
// never leaves a half-written checkpoint-N.
import * as fs from "node:fs";
import * as path from "node:path";
import * as torch from "@stts/torch";
import { optim, type Tensor } from "@stts/torch";
import { SentenceTransformer } from "../sentence-transformer.js";
import type { TrainingArguments } from "./arguments.js";
import {
  trainerStateFromJson,
  type LossAccumulators,
  type TrainerState,
  type TrainerStateFile,
} from "./trainer-state.js";

export const CHECKPOINT_PREFIX = "checkpoint-";
export const TRAINER_STATE_FILE = "trainer_state.json";
const FILES = {
  loss: "loss.safetensors",
  optimizer: "optimizer.safetensors",
  optimizerMeta: "optimizer.json",
  scheduler: "scheduler.json",
  rng: "rng_state.safetensors",
  args: "training_args.json",
} as const;

/** What a checkpoint saves and restores. */
export interface CheckpointParts {
  model: SentenceTransformer;
  /** Trainable tensors outside the model (the losses' own parameters), by a stable name. */
  extraParameters: ReadonlyMap<string, Tensor>;
  optimizer: optim.Optimizer<optim.AdamWOptions>;
  scheduler: optim.LRScheduler;
  /** The devices whose random generator state is saved ("cpu" always). */
  devices: readonly string[];
}

/** The folder of the checkpoint at `step`. */
export function checkpointFolder(outputDir: string, step: number): string {
  return path.join(outputDir, `${CHECKPOINT_PREFIX}${step}`);
}

/**
 * Writes checkpoint-`step` into `outputDir` (replacing one of that name) and returns its path.
 * Everything goes to a temporary folder first, renamed into place once complete; on failure the
 * temporary folder is removed and the error rethrown.
 */
export function saveCheckpoint(
  outputDir: string,
  step: number,
  parts: CheckpointParts,
  state: TrainerStateFile,
  args: Readonly<TrainingArguments>,
): string {
  fs.mkdirSync(outputDir, { recursive: true });
  const target = checkpointFolder(outputDir, step);
  const temp = fs.mkdtempSync(path.join(outputDir, `.${CHECKPOINT_PREFIX}${step}.tmp-`));
  try {
    parts.model.save(temp); // the model's files at the checkpoint's root, as the reference's
    torch.saveSafetensorsSync(path.join(temp, FILES.loss), new Map(parts.extraParameters));
    const { tensors, meta } = optim.optimizerStateToTensors(parts.optimizer.stateDict());
    torch.saveSafetensorsSync(path.join(temp, FILES.optimizer), tensors);
    writeJson(path.join(temp, FILES.optimizerMeta), meta);
    writeJson(path.join(temp, FILES.scheduler), parts.scheduler.stateDict());
    torch.scope(() => {
      const states = new Map(parts.devices.map((device) => [device, torch.getRngState(device)]));
      torch.saveSafetensorsSync(path.join(temp, FILES.rng), states);
    });
    writeJson(path.join(temp, FILES.args), args);
    writeJson(path.join(temp, TRAINER_STATE_FILE), state); // last: its presence marks a complete checkpoint
    fs.chmodSync(temp, 0o755); // mkdtemp's folders are private
    publish(temp, target);
    return target;
  } finally {
    fs.rmSync(temp, { recursive: true, force: true });
  }
}

/**
 * Restores a checkpoint into `parts` (model weights, loss parameters, optimizer, scheduler, random
 * generators) and returns the trainer state it holds. Everything is read and checked before the
 * generators are set.
 */
export function loadCheckpoint(
  folder: string,
  parts: CheckpointParts,
): { state: TrainerState; accumulators: LossAccumulators } {
  const where = `resumeFromCheckpoint: ${folder}`;
  const stateFile = path.join(folder, TRAINER_STATE_FILE);
  if (!fs.existsSync(stateFile)) {
    throw new Error(`${where} is not a complete checkpoint (no ${TRAINER_STATE_FILE})`);
  }
  const restored = trainerStateFromJson(readJson(stateFile), stateFile);
  loadCheckpointWeights(folder, parts.model, parts.extraParameters);
  const optimizerTensors = torch.loadSafetensorsSync(path.join(folder, FILES.optimizer)).tensors;
  try {
    const dict = optim.optimizerStateFromTensors(
      Object.fromEntries(optimizerTensors),
      readJson(path.join(folder, FILES.optimizerMeta)),
    );
    parts.optimizer.loadStateDict(dict);
  } finally {
    for (const tensor of optimizerTensors.values()) tensor.dispose();
  }
  parts.scheduler.loadStateDict(readJson(path.join(folder, FILES.scheduler)) as optim.LRSchedulerState);
  const rng = torch.loadSafetensorsSync(path.join(folder, FILES.rng)).tensors;
  try {
    for (const device of parts.devices) {
      const state = rng.get(device);
      if (state === undefined) throw new Error(`${where}: ${FILES.rng} has no generator state for '${device}'`);
      torch.setRngState(state, device);
    }
  } finally {
    for (const tensor of rng.values()) tensor.dispose();
  }
  return restored;
}

/**
 * Copies a checkpoint's model weights and loss parameters into the live tensors (in place), leaving
 * the optimizer, scheduler and generators alone (loadBestModelAtEnd).
 */
export function loadCheckpointWeights(
  folder: string,
  model: SentenceTransformer,
  extraParameters: ReadonlyMap<string, Tensor>,
): void {
  const where = `checkpoint ${folder}`;
  const saved = SentenceTransformer.loadFolder(folder);
  try {
    torch.scope(() => model.loadStateDict(saved.stateDict()));
  } catch (error) {
    throw new Error(`${where}: its model does not match the trainer's (${(error as Error).message})`);
  } finally {
    saved.dispose();
  }
  const extras = torch.loadSafetensorsSync(path.join(folder, FILES.loss)).tensors;
  try {
    const missing = [...extraParameters.keys()].filter((name) => !extras.has(name));
    const unexpected = [...extras.keys()].filter((name) => !extraParameters.has(name));
    if (missing.length > 0 || unexpected.length > 0) {
      throw new Error(
        `${where}: ${FILES.loss} does not match the losses' parameters (missing: ${missing.join(", ") || "none"}; unexpected: ${unexpected.join(", ") || "none"})`,
      );
    }
    torch.noGrad(() => {
      for (const [name, tensor] of extraParameters) tensor.copy_(extras.get(name)!);
    });
  } finally {
    for (const tensor of extras.values()) tensor.dispose();
  }
}

/** The complete checkpoints in `outputDir` (those with a trainer_state.json), by step, ascending. */
export function listCheckpoints(outputDir: string): { step: number; folder: string }[] {
  if (!fs.existsSync(outputDir)) return [];
  return fs
    .readdirSync(outputDir)
    .map((name) => ({ name, match: /^checkpoint-(\d+)$/.exec(name) }))
    .filter(({ name, match }) => match !== null && fs.existsSync(path.join(outputDir, name, TRAINER_STATE_FILE)))
    .map(({ name, match }) => ({ step: Number(match![1]), folder: path.join(outputDir, name) }))
    .sort((a, b) => a.step - b.step);
}

/** The checkpoint with the highest step in `outputDir`, or null. */
export function latestCheckpoint(outputDir: string): string | null {
  return listCheckpoints(outputDir).at(-1)?.folder ?? null;
}

/**
 * Deletes the oldest checkpoints beyond `limit`, never `best` (as the reference: the best counts as
 * the newest, and with limit 1 and a best that is not the latest, two are kept). Returns the deleted folders.
 */
export function rotateCheckpoints(outputDir: string, limit: number | null, best: string | null): string[] {
  if (limit === null) return [];
  const folders = listCheckpoints(outputDir).map((c) => c.folder);
  const bestFolder = best === null ? null : path.resolve(best);
  const order = folders.filter((f) => path.resolve(f) !== bestFolder);
  const hasBest = order.length < folders.length;
  if (hasBest) order.push(folders.find((f) => path.resolve(f) === bestFolder)!);
  const keep = limit === 1 && hasBest && path.resolve(folders.at(-1)!) !== bestFolder ? 2 : limit;
  const doomed = order.slice(0, Math.max(0, order.length - keep));
  for (const folder of doomed) fs.rmSync(folder, { recursive: true, force: true });
  return doomed;
}

function publish(temp: string, target: string): void {
  if (fs.existsSync(target)) {
    if (!fs.statSync(target).isDirectory()) throw new Error(`saveCheckpoint: ${target} exists and is not a folder`);
    const aside = `${target}.old-${process.pid}-${Date.now()}`;
    fs.renameSync(target, aside);
    fs.renameSync(temp, target);
    fs.rmSync(aside, { recursive: true, force: true });
    return;
  }
  fs.renameSync(temp, target);
}

function writeJson(file: string, value: unknown): void {
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
}
