import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as torch from "@stts/torch";
import { nn } from "@stts/torch";
import type { Features } from "../src/features.js";
import { SentenceEvaluator } from "../src/evaluation/evaluator.js";
import { CoSENTLoss } from "../src/losses/cosent-loss.js";
import { SoftmaxLoss } from "../src/losses/softmax-loss.js";
import { registerModuleType } from "../src/modules/module-registry.js";
import { SentenceTransformer } from "../src/sentence-transformer.js";
import type { TrainingArguments } from "../src/training/arguments.js";
import { listCheckpoints } from "../src/training/checkpoint.js";
import { SentenceTransformerTrainer } from "../src/training/trainer.js";
import { readTrainingLog } from "../src/training/training-log.js";
import type { LogEntry } from "../src/training/trainer-state.js";
import { tempFolder, tinyBertDir } from "./models-util.js";
import { snliTriples, stsbPairs, withTinyBert } from "./trainer-util.js";

/** Sends a SIGINT (as Ctrl+C would) at the end of step `step`. */
function interruptAt(step: number) {
  return {
    onStepEnd: ({ state }: { state: { globalStep: number } }) => {
      if (state.globalStep === step) process.emit("SIGINT");
    },
  };
}

/** The tiny BERT model with SoftmaxLoss (its classifier seeded) on SNLI and CoSENTLoss on STS-B. */
function setup() {
  const model = SentenceTransformer.loadFolder(tinyBertDir);
  torch.manualSeed(0);
  const loss = { stsb: new CoSENTLoss(model), nli: new SoftmaxLoss(model, { numLabels: 3 }) };
  return { model, loss };
}

function trainerFor(
  outputDir: string,
  args: Partial<TrainingArguments>,
  callbacks: ReturnType<typeof interruptAt>[] = [],
): { trainer: SentenceTransformerTrainer; model: SentenceTransformer; loss: ReturnType<typeof setup>["loss"] } {
  const { model, loss } = setup();
  const trainer = new SentenceTransformerTrainer({
    model,
    args: { outputDir, ...args },
    // stsb: 48 rows = 6 batches, nli: 32 rows = 4 batches; with 2 batches a step, 5 steps an epoch.
    trainDataset: { stsb: stsbPairs("train", 48), nli: snliTriples(32) },
    evalDataset: { stsb: stsbPairs("dev", 16), nli: snliTriples(48).take(16) },
    loss,
    callbacks,
    log: null,
  });
  return { trainer, model, loss };
}

const RESUME_ARGS: Partial<TrainingArguments> = {
  maxSteps: 12,
  perDeviceTrainBatchSize: 8,
  gradientAccumulationSteps: 2,
  learningRate: 1e-3,
  warmupSteps: 3,
  lrSchedulerType: "linear",
  weightDecay: 0.01,
  loggingSteps: 4,
  evalStrategy: "steps",
  evalSteps: 4,
  saveSteps: 100,
};

/** Log entries without the final summary (its runtime differs between runs). */
function trainingEntries(history: readonly LogEntry[]): LogEntry[] {
  return history.filter((entry) => !("train_runtime" in entry));
}

function weights(model: nn.Module): Map<string, number[]> {
  return torch.scope(
    () => new Map([...model.stateDict()].map(([key, t]) => [key, Array.from(t.toTypedArray() as Float32Array)])),
  );
}

describe("checkpoints", () => {
  it("resumes exactly: the losses logged after resuming equal an uninterrupted run's, bit for bit", async () => {
    const straight = tempFolder("stts-ckpt-");
    const resumed = tempFolder("stts-ckpt-");
    try {
      // The uninterrupted run: 12 steps over 3 epochs (dropout on, warmup + linear decay, 2 datasets).
      const a = trainerFor(straight.dir, RESUME_ARGS);
      await a.trainer.train();

      // Interrupted at step 6 (epoch 1, mid-way through both the epoch and a logging interval)...
      const b1 = trainerFor(resumed.dir, RESUME_ARGS, [interruptAt(6)]);
      const stopped = await b1.trainer.train();
      assert.equal(stopped.interrupted, true);
      assert.equal(stopped.checkpoint, path.join(resumed.dir, "checkpoint-6"));
      b1.model.dispose();
      b1.loss.nli.dispose();

      // ...then resumed by a fresh model and trainer, as a new process would.
      const b2 = trainerFor(resumed.dir, RESUME_ARGS);
      const output = await b2.trainer.train({ resumeFromCheckpoint: true });
      assert.equal(output.interrupted, false);
      assert.equal(output.globalStep, 12);

      const expected = trainingEntries(a.trainer.state.logHistory);
      assert.deepEqual(
        expected.map((entry) => [entry.step, "loss" in entry ? "train" : "eval"]),
        [4, 4, 8, 8, 12, 12].map((step, i) => [step, i % 2 === 0 ? "train" : "eval"]),
      );
      // deepStrictEqual compares numbers with Object.is: identical bits or a failure.
      assert.deepEqual(trainingEntries(b2.trainer.state.logHistory), expected);
      assert.deepEqual(trainingEntries(readTrainingLog(path.join(resumed.dir, "trainer_log.jsonl"))), expected);
      assert.deepEqual(weights(b2.model), weights(a.model));
      assert.deepEqual(weights(b2.loss.nli), weights(a.loss.nli), "SoftmaxLoss's classifier is trained and restored");
      assert.notDeepEqual(weights(b2.loss.nli), weights(setup().loss.nli), "the classifier changed during training");
    } finally {
      straight.cleanup();
      resumed.cleanup();
    }
  });

  it("on SIGINT saves a complete checkpoint at the current step and returns", async () => {
    const { dir, cleanup } = tempFolder("stts-ckpt-");
    try {
      const listeners = process.listenerCount("SIGINT");
      const { trainer, model } = trainerFor(dir, { maxSteps: 20, perDeviceTrainBatchSize: 8, saveSteps: 100 }, [
        interruptAt(3),
      ]);
      const output = await trainer.train();
      assert.equal(process.listenerCount("SIGINT"), listeners, "the SIGINT handler is removed");
      assert.equal(output.interrupted, true);
      assert.equal(output.globalStep, 3);
      assert.equal(output.checkpoint, path.join(dir, "checkpoint-3"));
      assert.deepEqual(fs.readdirSync(output.checkpoint).sort(), [
        "1_Pooling",
        "README.md",
        "config.json",
        "config_sentence_transformers.json",
        "loss.safetensors",
        "model.safetensors",
        "modules.json",
        "optimizer.json",
        "optimizer.safetensors",
        "rng_state.safetensors",
        "scheduler.json",
        "sentence_bert_config.json",
        "special_tokens_map.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "trainer_state.json",
        "training_args.json",
        "vocab.txt",
      ]);
      const saved = JSON.parse(fs.readFileSync(path.join(output.checkpoint, "trainer_state.json"), "utf8")) as {
        state: { globalStep: number; epochIndex: number; batchesDone: number };
      };
      // 10 batches an epoch (6 + 4): after 3 steps, batch 3 of epoch 0 comes next.
      assert.deepEqual([saved.state.globalStep, saved.state.epochIndex, saved.state.batchesDone], [3, 0, 3]);
      // Training did not finish: no final model in outputDir.
      assert.equal(fs.existsSync(path.join(dir, "modules.json")), false);
      model.dispose();
    } finally {
      cleanup();
    }
  });

  it("keeps at most saveTotalLimit checkpoints, the oldest removed first", async () => {
    const { dir, cleanup } = tempFolder("stts-ckpt-");
    try {
      const { trainer, model } = trainerFor(dir, {
        maxSteps: 10,
        perDeviceTrainBatchSize: 8,
        saveSteps: 2,
        saveTotalLimit: 2,
      });
      await trainer.train();
      assert.deepEqual(
        listCheckpoints(dir).map((c) => c.step),
        [8, 10],
      );
      model.dispose();
    } finally {
      cleanup();
    }
  });

  it("never removes the best checkpoint, and loads it at the end with loadBestModelAtEnd", async () => {
    /** Best at the first evaluation: the score falls with every step. */
    class FallingEvaluator extends SentenceEvaluator {
      constructor() {
        super("probe");
        this.primaryMetric = "probe_score";
      }
      override evaluate(_model: SentenceTransformer, options: { steps?: number } = {}): Record<string, number> {
        return { probe_score: -(options.steps ?? 0) };
      }
    }
    await withTinyBert(async (model, dir) => {
      const trainer = new SentenceTransformerTrainer({
        model,
        args: {
          outputDir: dir,
          maxSteps: 10,
          perDeviceTrainBatchSize: 8,
          learningRate: 1e-3,
          evalStrategy: "steps",
          evalSteps: 2,
          saveSteps: 2,
          saveTotalLimit: 1,
          loadBestModelAtEnd: true,
        },
        trainDataset: stsbPairs("train", 48),
        evaluator: new FallingEvaluator(),
        loss: new CoSENTLoss(model),
        log: null,
      });
      await trainer.train();
      // Without an eval dataset the metric is the evaluator's primary one (higher is better): best at step 2.
      assert.equal(trainer.state.bestMetric, -2);
      assert.equal(trainer.state.bestModelCheckpoint, path.join(dir, "checkpoint-2"));
      // With a limit of 1 and a best that is not the latest, the latest is kept too (to resume from).
      assert.deepEqual(
        listCheckpoints(dir).map((c) => c.step),
        [2, 10],
      );
      // The final model is the best checkpoint's.
      assert.deepEqual(
        fs.readFileSync(path.join(dir, "model.safetensors")),
        fs.readFileSync(path.join(dir, "checkpoint-2", "model.safetensors")),
      );
      assert.notDeepEqual(
        fs.readFileSync(path.join(dir, "model.safetensors")),
        fs.readFileSync(path.join(dir, "checkpoint-10", "model.safetensors")),
      );
      assert.equal(trainer.modelCardData.bestModelStep, 2);
    });
  });

  it("leaves no half-written checkpoint when saving throws", async () => {
    // A module whose save() writes a file and then fails on its second call, as a full disk would once some
    // of the checkpoint's files are written: checkpoint-2 is saved, checkpoint-4 fails midway.
    class SaveCounter extends nn.Module {
      saves = 0;
      override forward(features: Features): Features {
        return features;
      }
    }
    registerModuleType({
      className: "SaveCounter",
      typeName: "stts_tests.SaveCounter",
      matches: (module): module is SaveCounter => module instanceof SaveCounter,
      load: () => new SaveCounter(),
      save: (module, folder) => {
        module.saves += 1;
        fs.writeFileSync(path.join(folder, "partial.bin"), "x");
        if (module.saves === 2) throw new Error("ENOSPC: no space left on device (simulated)");
      },
    });
    const { dir, cleanup } = tempFolder("stts-ckpt-");
    try {
      const base = SentenceTransformer.loadFolder(tinyBertDir);
      const model = new SentenceTransformer([base.at(0), base.at(1), new SaveCounter()]);
      const listeners = process.listenerCount("SIGINT");
      const trainer = new SentenceTransformerTrainer({
        model,
        args: { outputDir: dir, maxSteps: 6, perDeviceTrainBatchSize: 8, saveSteps: 2 },
        trainDataset: stsbPairs("train", 48),
        loss: new CoSENTLoss(model),
        log: null,
      });
      await assert.rejects(trainer.train(), /ENOSPC: no space left on device \(simulated\)/);
      assert.equal(process.listenerCount("SIGINT"), listeners);
      // Only the complete checkpoint and the log: no checkpoint-4, no temporary folder.
      assert.deepEqual(fs.readdirSync(dir).sort(), ["checkpoint-2", "trainer_log.jsonl"]);
      assert.ok(fs.existsSync(path.join(dir, "checkpoint-2", "trainer_state.json")));
      model.dispose();
    } finally {
      cleanup();
    }
  });
});
