import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import type { Tensor } from "@stts/torch";
import type { Features } from "../src/features.js";
import { CoSENTLoss } from "../src/losses/cosent-loss.js";
import type { Loss } from "../src/losses/loss.js";
import { MultipleNegativesRankingLoss } from "../src/losses/multiple-negatives-ranking-loss.js";
import { SoftmaxLoss } from "../src/losses/softmax-loss.js";
import { TripletLoss } from "../src/losses/triplet-loss.js";
import { SentenceTransformer } from "../src/sentence-transformer.js";
import { Dataset, type DatasetValue } from "../src/training/dataset.js";
import { TrainingDataError } from "../src/training/data-checks.js";
import { listCheckpoints } from "../src/training/checkpoint.js";
import { createBatchSampler } from "../src/training/samplers.js";
import { NonFiniteLossError, SentenceTransformerTrainer } from "../src/training/trainer.js";
import { tempFolder, tinyBertDir } from "./models-util.js";
import { stsbPairs, withTinyBert } from "./trainer-util.js";

const model = SentenceTransformer.loadFolder(tinyBertDir);

/** STS-B pairs with one cell replaced. */
function withCell(column: string, row: number, value: DatasetValue): Dataset {
  const base = stsbPairs("train", 32);
  const columns: Record<string, DatasetValue[]> = {};
  for (const name of base.columnNames) columns[name] = [...base.column(name)];
  columns[column]![row] = value;
  return new Dataset(columns, "stsb");
}

/**
 * Asserts that train() stops before the first step with exactly `message`: a TrainingDataError, and
 * nothing written (the output folder is not even created).
 */
async function assertStopsBeforeTraining(
  trainDataset: Dataset | Record<string, Dataset>,
  loss: Loss | Record<string, Loss>,
  message: string,
  evalDataset?: Dataset,
): Promise<void> {
  const { dir, cleanup } = tempFolder("stts-errors-");
  const outputDir = path.join(dir, "out");
  try {
    let steps = 0;
    const trainer = new SentenceTransformerTrainer({
      model,
      args: { outputDir, maxSteps: 2, perDeviceTrainBatchSize: 8 },
      trainDataset,
      evalDataset,
      loss,
      callbacks: [{ onStepEnd: () => void (steps += 1) }],
      log: null,
    });
    await assert.rejects(trainer.train(), (error: Error) => {
      assert.ok(error instanceof TrainingDataError, `${error.name}: ${error.message}`);
      assert.equal(error.message, message);
      return true;
    });
    assert.equal(steps, 0);
    assert.equal(fs.existsSync(outputDir), false);
  } finally {
    cleanup();
  }
}

/** CoSENTLoss whose value turns NaN at its `at`-th call (a custom loss gone wrong). */
class NaNAtCallLoss extends CoSENTLoss {
  calls = 0;
  constructor(
    model: SentenceTransformer,
    readonly at: number,
  ) {
    super(model);
  }
  override forward(features: Features[], labels: Tensor | null): Tensor {
    this.calls += 1;
    const value = super.forward(features, labels);
    return this.calls === this.at ? value.mul(Number.NaN) : value;
  }
}

describe("SentenceTransformerTrainer: checks before the first step", () => {
  it("names the dataset, row and column of a missing (null) value", async () => {
    await assertStopsBeforeTraining(
      withCell("sentence2", 5, null),
      new CoSENTLoss(model),
      "dataset 'stsb', row 5, column 'sentence2' is missing (null)",
    );
  });

  it("names the dataset, row and column of a score that is not a number", async () => {
    await assertStopsBeforeTraining(
      withCell("score", 17, "high"),
      new CoSENTLoss(model),
      "dataset 'stsb', row 17, column 'score': 'high' is not a number",
    );
  });

  it("names an input column holding something other than text", async () => {
    await assertStopsBeforeTraining(
      withCell("sentence1", 3, 4.5),
      new CoSENTLoss(model),
      "dataset 'stsb', row 3, column 'sentence1': expected a text, got 4.5 (input columns hold texts; a label column must be named label, labels, score or scores)",
    );
  });

  it("refuses an empty dataset", async () => {
    await assertStopsBeforeTraining(
      { stsb: stsbPairs("train", 16), extra: new Dataset({ sentence1: [], sentence2: [], score: [] }, "extra") },
      new CoSENTLoss(model),
      "dataset 'extra' is empty (0 rows, columns: sentence1, sentence2, score): nothing to train on",
    );
  });

  it("refuses a dataset with more input columns than the loss takes", async () => {
    const base = stsbPairs("train", 16);
    const three = new Dataset(
      {
        sentence1: [...base.column("sentence1")],
        sentence2: [...base.column("sentence2")],
        sentence3: [...base.column("sentence1")],
        score: [...base.column("score")],
      },
      "stsb",
    );
    await assertStopsBeforeTraining(
      three,
      new CoSENTLoss(model),
      "CoSENTLoss expects 2 input columns (sentence A, sentence B) and float scores; dataset 'stsb' has columns sentence1, sentence2, sentence3 and float scores in 'score'. " +
        // three texts and one number per row: the shape of (query, positive, negative) with a teacher margin
        "Losses that fit this data: MarginMSELoss.",
    );
  });

  it("refuses scored pairs for MultipleNegativesRankingLoss, saying what each side has", async () => {
    await assertStopsBeforeTraining(
      stsbPairs("train", 16),
      new MultipleNegativesRankingLoss(model),
      "MultipleNegativesRankingLoss expects at least 2 input columns (anchor, positive, negative...) and no labels; " +
        "dataset 'stsb' has columns sentence1, sentence2 and float scores in 'score' " +
        '(remove the label column with dataset.removeColumns(["score"]) if the loss should ignore it). ' +
        "Losses that fit this data: CoSENTLoss, AnglELoss, CosineSimilarityLoss. " +
        "To use MultipleNegativesRankingLoss, convert the data: pairsAboveThreshold(dataset, threshold) gives (anchor, positive) pairs.",
    );
  });

  it("refuses scored pairs for TripletLoss", async () => {
    await assertStopsBeforeTraining(
      stsbPairs("train", 16),
      new TripletLoss(model),
      "TripletLoss expects 3 input columns (anchor, positive, negative) and no labels; " +
        "dataset 'stsb' has columns sentence1, sentence2 and float scores in 'score'. " +
        "Losses that fit this data: CoSENTLoss, AnglELoss, CosineSimilarityLoss. " +
        "To use TripletLoss, convert the data: pairsAboveThreshold(dataset, threshold), then mineHardNegatives(model, dataset) " +
        "gives (anchor, positive, negative) triplets.",
    );
  });

  it("refuses float scores for a loss that takes class labels", async () => {
    await assertStopsBeforeTraining(
      stsbPairs("train", 16),
      new SoftmaxLoss(model, { numLabels: 3 }),
      "SoftmaxLoss expects 2 input columns (sentence A, sentence B) and integer class labels; " +
        "dataset 'stsb' has columns sentence1, sentence2 and float scores in 'score'. " +
        "Losses that fit this data: CoSENTLoss, AnglELoss, CosineSimilarityLoss.",
    );
  });

  it("checks eval datasets too", async () => {
    await assertStopsBeforeTraining(
      stsbPairs("train", 16),
      new CoSENTLoss(model),
      "eval dataset 'dev', row 2, column 'score': 'n/a' is not a number",
      (() => {
        const dev = withCell("score", 2, "n/a");
        return new Dataset(Object.fromEntries(dev.columnNames.map((c) => [c, [...dev.column(c)]])), "dev");
      })(),
    );
  });

  it("needs a loss for every dataset of a record", () => {
    assert.throws(
      () =>
        new SentenceTransformerTrainer({
          model,
          args: { outputDir: "unused" },
          trainDataset: { stsb: stsbPairs("train", 8), other: stsbPairs("train", 8) },
          loss: { stsb: new CoSENTLoss(model) },
          log: null,
        }),
      /no loss for trainDataset dataset 'other' \(loss is given for: stsb\)/,
    );
  });
});

describe("SentenceTransformerTrainer: construction", () => {
  it("refuses a loss built for another model", async () => {
    await withTinyBert(async (other) => {
      assert.throws(
        () =>
          new SentenceTransformerTrainer({
            model,
            args: { outputDir: "unused" },
            trainDataset: stsbPairs("train", 8),
            loss: new CoSENTLoss(other),
            log: null,
          }),
        /CoSENTLoss \(loss\) was built for another model; construct it with the trainer's model/,
      );
    });
  });

  it("refuses an evalStrategy with nothing to evaluate", () => {
    assert.throws(
      () =>
        new SentenceTransformerTrainer({
          model,
          args: { outputDir: "unused", evalStrategy: "epoch" },
          trainDataset: stsbPairs("train", 8),
          loss: new CoSENTLoss(model),
          log: null,
        }),
      /evalStrategy is "epoch" but there is nothing to evaluate: give an evalDataset or an evaluator/,
    );
  });
});

describe("SentenceTransformerTrainer: NaN and infinite losses", () => {
  it("stops at the step whose loss is NaN, naming the dataset and the batch's rows, without saving it", async () => {
    await withTinyBert(async (fresh, dir) => {
      const train = stsbPairs("train", 64);
      const trainer = new SentenceTransformerTrainer({
        model: fresh,
        args: { outputDir: dir, maxSteps: 6, perDeviceTrainBatchSize: 8, saveSteps: 1 },
        trainDataset: train,
        loss: new NaNAtCallLoss(fresh, 3),
        log: null,
      });
      // The rows of step 3: the third batch of epoch 0 (the single dataset is sampled with the seed, 42).
      const rows = createBatchSampler("batch_sampler", train, { batchSize: 8, seed: 42 }).batches(0)[2]!;
      await assert.rejects(trainer.train(), (error: Error) => {
        assert.ok(error instanceof NonFiniteLossError);
        assert.equal(error.step, 3);
        assert.equal(error.dataset, "stsb");
        assert.deepEqual(error.rows, rows);
        assert.equal(
          error.message,
          `Training stopped at step 3 (epoch 0.25): the loss is NaN on dataset 'stsb', batch of rows ${rows.join(", ")} (0-based). ` +
            "The weights are those after step 2; nothing of step 3 was saved. Check those rows, or lower the learning rate.",
        );
        return true;
      });
      // Steps 1 and 2 were saved, the bad step 3 and the final model were not.
      assert.deepEqual(
        listCheckpoints(dir).map((c) => c.step),
        [1, 2],
      );
      assert.equal(fs.existsSync(path.join(dir, "modules.json")), false);
    });
  });

  it("stops when a huge learning rate makes the loss (or its gradient) non-finite", async () => {
    await withTinyBert(async (fresh, dir) => {
      const trainer = new SentenceTransformerTrainer({
        model: fresh,
        args: { outputDir: dir, maxSteps: 20, perDeviceTrainBatchSize: 8, learningRate: 1e30, saveStrategy: "no" },
        trainDataset: stsbPairs("train", 64),
        loss: new CoSENTLoss(fresh),
        log: null,
      });
      await assert.rejects(
        trainer.train(),
        /^NonFiniteLossError: Training stopped at step \d+ \(epoch [\d.]+\): the (loss|gradient norm) is (NaN|-?Infinity) on dataset 'stsb', batch of rows [\d, ]+ \(0-based\)/,
      );
      assert.equal(fs.existsSync(path.join(dir, "modules.json")), false);
    });
  });
});
