// The "Custom losses" example of the repository README.md, run as a test.
// KEEP IN SYNC: the class below is the README's example verbatim (only the imports differ: the README imports
// from "stts" and "@stts/torch"); change both together.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as torch from "@stts/torch";
import { optim } from "@stts/torch";
import {
  Dataset,
  Loss,
  SentenceTransformer,
  SentenceTransformerTrainer,
  cosSim,
  pairwiseCosSim,
  type ConfigValue,
  type EmbeddingModel,
  type Features,
  type InputColumns,
  type LabelKind,
} from "../src/index.js";
import { handleCount, repoRoot, tempFolder, tinyBertDir, values } from "./models-util.js";

// ---- the README example, verbatim -------------------------------------------------------------------------

/**
 * In-batch ranking (as MultipleNegativesRankingLoss) plus a pull of each anchor towards its positive.
 * Returns two named components: the trainer sums them for the backward pass and logs each one.
 *
 * @param model the model to train
 * @param scale multiplies the cosine similarities (default 20)
 * @param alignmentWeight weight of the alignment term (default 0.5)
 */
class RankingWithAlignmentLoss extends Loss {
  static readonly inputColumns: InputColumns = { min: 2, max: 2, roles: ["anchor", "positive"] };
  static readonly labelKind: LabelKind = "none";

  constructor(
    model: EmbeddingModel,
    readonly scale = 20,
    readonly alignmentWeight = 0.5,
  ) {
    super(model);
  }

  override forward(features: Features[], _labels: torch.Tensor | null): Record<string, torch.Tensor> {
    return torch.scope(() => {
      const [anchors, positives] = features.map((f) => this.embed(f)) as [torch.Tensor, torch.Tensor]; // [batch, dim]
      const scores = cosSim(anchors, positives).mul(this.scale); // [batch, batch]: the pairs on the diagonal
      const targets = torch.arange(0, scores.size(0), 1, { dtype: "int64" }); // row i's positive is column i
      const ranking = torch.functional.crossEntropy(scores, targets);
      const alignment = pairwiseCosSim(anchors, positives).neg().add(1).mean().mul(this.alignmentWeight);
      return { ranking, alignment };
    });
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return { scale: this.scale, alignmentWeight: this.alignmentWeight };
  }

  override get citation(): string | null {
    return null; // or the BibTeX of the paper the loss comes from
  }
}

// ---- the test ----------------------------------------------------------------------------------------------

/** A model whose features already hold the sentence embedding (to check the formula by hand). */
const given: EmbeddingModel = {
  forward: (features: Features) => features,
  getSentenceEmbeddingDimension: () => 2,
  training: false,
};

const anchors = ["a man is playing a guitar", "the cat sleeps", "children play football", "a woman cooks dinner"];
const positives = ["someone plays music", "a cat is asleep", "kids are playing a game", "dinner is being made"];

/** The example class as written in `file`: from its docstring to the closing brace at column 0. */
function exampleClass(file: string): string {
  const text = fs.readFileSync(file, "utf8");
  const start = text.indexOf("/**\n * In-batch ranking (as MultipleNegativesRankingLoss)");
  const end = text.indexOf("\n}\n", text.indexOf("class RankingWithAlignmentLoss", start));
  assert.ok(start >= 0 && end > start, `${file} has no RankingWithAlignmentLoss example`);
  return text.slice(start, end + 2);
}

describe("the README's custom loss", () => {
  it("is the class of README.md's Custom losses section, verbatim", () => {
    const readme = exampleClass(path.join(repoRoot, "README.md"));
    const here = exampleClass(path.join(repoRoot, "packages/sentence-transformers/test/custom-loss.test.ts"));
    assert.equal(here, readme);
  });

  it("computes both components as derived by hand", () => {
    const loss = new RankingWithAlignmentLoss(given);
    torch.scope(() => {
      const a = {
        sentenceEmbedding: torch.tensor(
          [
            [1, 0],
            [0, 2],
          ],
          { dtype: "float64" },
        ),
      };
      // matched pairs: cos = I, scores = 20 I; ranking = log(1 + e^-20) per row; alignment = 0.5 (1 - 1) = 0
      const matched = loss.forward(
        [
          a,
          {
            sentenceEmbedding: torch.tensor(
              [
                [3, 0],
                [0, 1],
              ],
              { dtype: "float64" },
            ),
          },
        ],
        null,
      );
      assert.ok(Math.abs(matched.ranking!.item() - Math.log1p(Math.exp(-20))) < 1e-15);
      assert.equal(matched.alignment!.item(), 0);
      // swapped pairs: cos = [[0, 1], [1, 0]]; ranking = log(1 + e^20) = 20 + log(1 + e^-20); alignment = 0.5 (1 - 0)
      const swapped = loss.forward(
        [
          a,
          {
            sentenceEmbedding: torch.tensor(
              [
                [0, 1],
                [1, 0],
              ],
              { dtype: "float64" },
            ),
          },
        ],
        null,
      );
      assert.ok(Math.abs(swapped.ranking!.item() - (20 + Math.log1p(Math.exp(-20)))) < 1e-12);
      assert.equal(swapped.alignment!.item(), 0.5);
    });
    assert.deepEqual(loss.getConfigDict(), { scale: 20, alignmentWeight: 0.5 });
    assert.deepEqual(new RankingWithAlignmentLoss(given, 10, 1).getConfigDict(), { scale: 10, alignmentWeight: 1 });
    assert.equal(loss.citation, null);
    assert.deepEqual(RankingWithAlignmentLoss.inputColumns.roles, ["anchor", "positive"]);
    assert.equal(RankingWithAlignmentLoss.labelKind, "none");
  });

  it("trains the tiny BERT with AdamW: finite scalar components, the summed loss decreases", () => {
    const before = handleCount();
    torch.manualSeed(11);
    const model = SentenceTransformer.loadFolder(tinyBertDir).train();
    const loss = new RankingWithAlignmentLoss(model);
    const optimizer = new optim.AdamW(model.parameters(), { lr: 2e-3 });
    try {
      const totals: number[] = [];
      for (let step = 0; step < 8; step++) {
        totals.push(
          torch.scope(() => {
            optimizer.zeroGrad();
            const components = loss.forward([model.tokenize(anchors), model.tokenize(positives)], null);
            assert.deepEqual(Object.keys(components), ["ranking", "alignment"]);
            for (const [name, value] of Object.entries(components)) {
              assert.ok(value instanceof torch.Tensor, `${name} is a tensor`);
              assert.deepEqual(value.shape, [], `${name} is a scalar`);
              assert.ok(value.requiresGrad, `${name} carries the model's graph`);
              assert.ok(values(value).every(Number.isFinite), `${name} is finite`);
            }
            const total = components.ranking!.add(components.alignment!); // what the trainer backpropagates
            total.backward();
            optimizer.step();
            return total.item();
          }),
        );
      }
      assert.ok(totals.at(-1)! < totals[0]!, `the loss went from ${totals[0]} to ${totals.at(-1)}`);
    } finally {
      optimizer.dispose();
      model.dispose();
    }
    assert.equal(handleCount(), before, "tensors leaked");
  });

  it("trains with SentenceTransformerTrainer, which logs each component next to their sum", async () => {
    const model = SentenceTransformer.loadFolder(tinyBertDir);
    const loss = new RankingWithAlignmentLoss(model);
    const out = tempFolder("custom-loss-trainer-");
    try {
      const trainDataset = new Dataset({ anchor: anchors, positive: positives });
      const trainer = new SentenceTransformerTrainer({
        model,
        args: {
          outputDir: out.dir,
          maxSteps: 3,
          perDeviceTrainBatchSize: 2,
          loggingSteps: 1,
          learningRate: 1e-3,
          saveStrategy: "no",
        },
        trainDataset,
        loss,
        log: null,
      });
      await trainer.train();
      const steps = trainer.state.logHistory.filter((entry) => "loss" in entry);
      assert.equal(steps.length, 3, "one log entry per step (loggingSteps 1)");
      for (const entry of steps) {
        const { loss: total, ranking, alignment } = entry;
        assert.ok(
          Number.isFinite(ranking) && Number.isFinite(alignment),
          `components logged: ${JSON.stringify(entry)}`,
        );
        // loggingSteps 1: the logged loss is that step's sum of the two components
        assert.ok(Math.abs(total! - (ranking! + alignment!)) <= 1e-5 * Math.abs(total!), JSON.stringify(entry));
      }
    } finally {
      model.dispose();
      out.cleanup();
    }
  });
});
