// The Cached* losses (GradCache): same loss and parameter gradients as the non-cached losses with
// dropout on, at every mini-batch size, and bounded memory between the two phases.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import * as torch from "@stts/torch";
import type { Tensor } from "@stts/torch";
import type { EmbeddingModel, Features } from "../src/features.js";
import { CachedGISTEmbedLoss } from "../src/losses/cached-gist-embed-loss.js";
import { chunks, CachedMultipleNegativesRankingLoss } from "../src/losses/cached-multiple-negatives-ranking-loss.js";
import { CachedMultipleNegativesSymmetricRankingLoss } from "../src/losses/cached-multiple-negatives-symmetric-ranking-loss.js";
import { GISTEmbedLoss } from "../src/losses/gist-embed-loss.js";
import { backwardLoss, GradCacheLoss, hasDeferredBackward, sliceFeatures } from "../src/losses/grad-cache.js";
import { MatryoshkaLoss } from "../src/losses/matryoshka-loss.js";
import { MultipleNegativesRankingLoss } from "../src/losses/multiple-negatives-ranking-loss.js";
import { MultipleNegativesSymmetricRankingLoss } from "../src/losses/multiple-negatives-symmetric-ranking-loss.js";
import { euclideanSim } from "../src/util/similarity.js";
import {
  assertClose,
  assertNoLeak,
  disposeFeatures,
  handleCount,
  parameterGrads,
  randomFeatures,
  TinyEmbeddingModel,
  values,
} from "./tiny-model.js";

const handlesAtStart = handleCount();
after(() => assert.equal(handleCount(), handlesAtStart, "a test in this file leaked tensor handles"));

const BATCH = 7; // 3 does not divide it: the last mini-batch is short

/** The outcome of one training step: the loss value, every parameter gradient, and the next random draw. */
interface Step {
  loss: number;
  grads: Map<string, number[]>;
  nextRandom: number;
}

/** Runs `step` from a fresh gradient state and seed, and records what it produced. */
function record(model: TinyEmbeddingModel, seed: number, step: () => Tensor): Step {
  model.zeroGrad();
  torch.manualSeed(seed);
  const loss = torch.scope(() => step().item());
  const grads = parameterGrads(model);
  const nextRandom = torch.scope(() => torch.rand([1], { dtype: "float64" }).item());
  model.zeroGrad();
  return { loss, grads, nextRandom };
}

/**
 * The non-cached reference: each column embedded with its graph, mini-batch after mini-batch in the
 * order GradCache's first phase uses (so dropout draws the same masks), then `lossOf` and backward.
 */
function referenceStep(
  model: EmbeddingModel,
  columns: Features[],
  miniBatchSize: number,
  lossOf: (embeddings: Tensor[]) => Tensor,
): Tensor {
  const embeddings = columns.map((features) =>
    torch.cat(
      chunks(BATCH, miniBatchSize).map(
        ({ start, length }) => model.forward(sliceFeatures(features, start, length)).sentenceEmbedding!,
      ),
    ),
  );
  const value = lossOf(embeddings);
  value.backward();
  return value;
}

/** One GradCache training step: forward, then value.backward() and the replay. */
function cachedStep(loss: GradCacheLoss | MatryoshkaLoss, columns: Features[]): () => Tensor {
  return () => {
    const value = loss.forward(columns, null);
    backwardLoss(loss, value);
    return value;
  };
}

function assertSameStep(cached: Step, reference: Step, what: string): void {
  assertClose([cached.loss], [reference.loss], 1e-12, 1e-12, `${what} loss`);
  for (const [name, expected] of reference.grads) {
    assertClose(cached.grads.get(name)!, expected, 1e-12, 1e-10, `${what} d loss / d ${name}`);
  }
  assert.equal(
    cached.nextRandom,
    reference.nextRandom,
    `${what}: the generator must end where the first phase left it`,
  );
}

/** A fresh seeded model (dropout 0.1, training mode) and random (anchor, positive, negative) features. */
function setUp(seed = 7): { model: TinyEmbeddingModel; columns: Features[] } {
  torch.manualSeed(seed);
  const model = new TinyEmbeddingModel({ dropout: 0.1 });
  return { model, columns: [randomFeatures(BATCH), randomFeatures(BATCH), randomFeatures(BATCH)] };
}

describe("CachedMultipleNegativesRankingLoss", () => {
  it("replays dropout exactly: loss and parameter gradients equal MultipleNegativesRankingLoss's at mini-batch sizes 1, 3 and the batch", () => {
    assertNoLeak(() => {
      const { model, columns } = setUp();
      const plain = new MultipleNegativesRankingLoss(model);
      for (const miniBatchSize of [1, 3, BATCH]) {
        const loss = new CachedMultipleNegativesRankingLoss(model, { miniBatchSize });
        const cached = record(model, 11, cachedStep(loss, columns));
        const reference = record(model, 11, () =>
          referenceStep(model, columns, miniBatchSize, (e) => plain.computeLossFromEmbeddings(e, null)),
        );
        assertSameStep(cached, reference, `miniBatchSize ${miniBatchSize}`);
        if (miniBatchSize === BATCH) {
          // one forward per column is exactly what the non-cached loss does
          const direct = record(model, 11, () => {
            const value = plain.forward(columns, null);
            value.backward();
            return value;
          });
          assertSameStep(cached, direct, "MultipleNegativesRankingLoss.forward");
        }
      }
      // dropout is on and matters: another seed draws other masks and gives another loss
      const loss = new CachedMultipleNegativesRankingLoss(model, { miniBatchSize: 3 });
      const other = record(model, 12, cachedStep(loss, columns));
      const first = record(model, 11, cachedStep(loss, columns));
      assert.ok(
        Math.abs(other.loss - first.loss) > 1e-6,
        `dropout should change the loss: ${other.loss} vs ${first.loss}`,
      );
      disposeFeatures(...columns);
      model.dispose();
    });
  });

  it("scales the replayed gradients by the gradient reaching the loss (e.g. 1 / accumulation steps)", () => {
    assertNoLeak(() => {
      const { model, columns } = setUp(3);
      const loss = new CachedMultipleNegativesRankingLoss(model, { miniBatchSize: 2 });
      const full = record(model, 5, cachedStep(loss, columns));
      const scaled = record(model, 5, () => {
        const value = loss.forward(columns, null);
        torch.scope(() => backwardLoss(loss, value, torch.scalarTensor(0.25, { dtype: "float64" })));
        return value;
      });
      // a loss used inside a larger expression: d(3 * loss)/d loss = 3 reaches the leaf
      const tripled = record(model, 5, () => {
        const value = loss.forward(columns, null);
        torch.scope(() => value.mul(3).backward());
        loss.runDeferredBackward();
        return value;
      });
      for (const [name, g] of full.grads) {
        assertClose(
          scaled.grads.get(name)!,
          g.map((x) => x * 0.25),
          1e-14,
          1e-12,
          `0.25 * d loss / d ${name}`,
        );
        assertClose(
          tripled.grads.get(name)!,
          g.map((x) => x * 3),
          1e-14,
          1e-12,
          `3 * d loss / d ${name}`,
        );
      }
      disposeFeatures(...columns);
      model.dispose();
    });
  });

  it("holds only its cache between the phases and frees every mini-batch graph", () => {
    const { model, columns } = setUp(4);
    const miniBatchSize = 3;
    const loss = new CachedMultipleNegativesRankingLoss(model, { miniBatchSize });
    torch.manualSeed(1);
    torch.scope(() => backwardLoss(loss, loss.forward(columns, null))); // warm-up: parameter gradients now exist
    const before = handleCount();
    const value = loss.forward(columns, null);
    assert.equal(loss.hasPendingBackward, true);
    // pending: per column one cache [batch, dim] and one generator state per mini-batch
    const pending = columns.length * (1 + chunks(BATCH, miniBatchSize).length);
    assert.equal(handleCount(), before + 1 + pending, "after forward: the value plus the cache");
    value.backward();
    assert.equal(loss.runDeferredBackward(), true);
    assert.equal(loss.hasPendingBackward, false);
    assert.equal(handleCount(), before + 1, "after the replay only the returned value is left");
    value.dispose();
    assert.equal(handleCount(), before);
    assert.equal(loss.runDeferredBackward(), false, "nothing pending any more");
    disposeFeatures(...columns);
    model.dispose();
  });

  it("under noGrad returns the loss and defers nothing", () => {
    assertNoLeak(() => {
      const { model, columns } = setUp(5);
      model.eval();
      const loss = new CachedMultipleNegativesRankingLoss(model, { miniBatchSize: 2 });
      const plain = new MultipleNegativesRankingLoss(model);
      torch.scope(() => {
        const value = torch.noGrad(() => loss.forward(columns, null));
        assert.equal(value.requiresGrad, false);
        assert.equal(loss.hasPendingBackward, false);
        const expected = torch.noGrad(() => plain.forward(columns, null));
        assertClose([value.item()], [expected.item()], 1e-12, 1e-12, "evaluation loss");
      });
      disposeFeatures(...columns);
      model.dispose();
    });
  });

  it("throws when a backpropagated value's deferred backward was skipped, or the value was disposed first", () => {
    assertNoLeak(() => {
      const { model, columns } = setUp(6);
      const loss = new CachedMultipleNegativesRankingLoss(model, { miniBatchSize: 4 });
      torch.scope(() => {
        loss.forward(columns, null).backward();
        assert.throws(() => loss.forward(columns, null), /runDeferredBackward\(\) was never called/);
      });
      const value = loss.forward(columns, null);
      value.dispose();
      assert.throws(() => loss.runDeferredBackward(), /disposed before runDeferredBackward/);
      assert.equal(loss.hasPendingBackward, false, "the failed replay dropped its cache");
      // a value that was never backpropagated (e.g. only logged) has nothing to replay
      torch.scope(() => {
        loss.forward(columns, null);
        assert.equal(loss.runDeferredBackward(), false, "never backpropagated: nothing to replay");
      });
      // and a disposed, never-backpropagated value is dropped silently by the next forward
      torch.scope(() => void loss.forward(columns, null));
      torch.scope(() => void loss.forward(columns, null));
      assert.equal(loss.hasPendingBackward, true);
      loss.dispose();
      assert.equal(loss.hasPendingBackward, false, "dispose() frees the cache");
      disposeFeatures(...columns);
      model.dispose();
    });
  });

  it("computes the non-cached numbers and gradients from given embeddings, for any mini-batch size", () => {
    assertNoLeak(() => {
      torch.manualSeed(21);
      const model = new TinyEmbeddingModel();
      const base = [0, 1, 2].map(() => torch.randn([5, 4], { dtype: "float64" }));
      const run = (lossOf: (e: Tensor[]) => Tensor) =>
        torch.scope(() => {
          const leaves = base.map((t) => t.detach().requiresGrad_(true));
          const value = lossOf(leaves);
          value.backward();
          return [value.item(), ...leaves.flatMap((leaf) => values(leaf.grad!))];
        });
      const expected = run((e) =>
        new MultipleNegativesRankingLoss(model, { scale: 1, similarityFct: euclideanSim }).computeLossFromEmbeddings(
          e,
          null,
        ),
      );
      for (const miniBatchSize of [1, 2, 5, 32]) {
        const cached = new CachedMultipleNegativesRankingLoss(model, {
          scale: 1,
          similarityFct: euclideanSim,
          miniBatchSize,
        });
        assertClose(
          run((e) => cached.computeLossFromEmbeddings(e, null)),
          expected,
          1e-13,
          1e-12,
          `miniBatchSize ${miniBatchSize}`,
        );
      }
      base.forEach((t) => t.dispose());
      model.dispose();
    });
  });

  it("rejects a single column and bad options, naming the loss and what it takes; frees everything when the model throws", () => {
    const { model, columns } = setUp(8);
    const loss = new CachedMultipleNegativesRankingLoss(model);
    assert.throws(
      () => loss.forward(columns.slice(0, 1), null),
      /CachedMultipleNegativesRankingLoss expects at least 2 input columns \(anchor, positive, negative\.\.\.\).*got 1 column/,
    );
    assertNoLeak(() =>
      assert.throws(
        () => loss.forward([columns[0]!, { inputIds: columns[1]!.inputIds }], null),
        /TinyEmbeddingModel: needs inputIds and attentionMask/,
        "a model error mid-forward frees the saved states and embeddings",
      ),
    );
    assert.equal(loss.hasPendingBackward, false);
    assert.throws(
      () => new CachedMultipleNegativesRankingLoss(model, { miniBatchSize: 0 }),
      /miniBatchSize must be a positive integer, got 0/,
    );
    assert.throws(
      () => new CachedMultipleNegativesRankingLoss(model, { gatherAcrossDevices: true }),
      /gatherAcrossDevices is not supported/,
    );
    assert.deepEqual(loss.getConfigDict(), {
      scale: 20,
      similarityFct: "cosSim",
      miniBatchSize: 32,
      gatherAcrossDevices: false,
    });
    assert.equal(hasDeferredBackward(loss), true);
    assert.match(loss.citation, /@misc\{gao2021scaling,/);
    disposeFeatures(...columns);
    model.dispose();
  });
});

describe("CachedMultipleNegativesSymmetricRankingLoss", () => {
  it("replays dropout exactly: equals MultipleNegativesSymmetricRankingLoss at mini-batch sizes 1, 3 and the batch", () => {
    assertNoLeak(() => {
      const { model, columns } = setUp(9);
      const pairs = columns.slice(0, 2);
      const plain = new MultipleNegativesSymmetricRankingLoss(model, { scale: 10 });
      for (const miniBatchSize of [1, 3, BATCH]) {
        const loss = new CachedMultipleNegativesSymmetricRankingLoss(model, { scale: 10, miniBatchSize });
        const cached = record(model, 13, cachedStep(loss, pairs));
        const reference = record(model, 13, () =>
          referenceStep(model, pairs, miniBatchSize, (e) => plain.computeLossFromEmbeddings(e, null)),
        );
        assertSameStep(cached, reference, `miniBatchSize ${miniBatchSize}`);
      }
      disposeFeatures(...columns);
      model.dispose();
    });
  });
});

describe("CachedGISTEmbedLoss", () => {
  it("replays dropout exactly: equals GISTEmbedLoss (guide in eval mode) at mini-batch sizes 1, 3 and the batch", () => {
    assertNoLeak(() => {
      const { model, columns } = setUp(10);
      const guide = new TinyEmbeddingModel({ out: 5 }).eval();
      const options = { guide, temperature: 0.05, margin: 0.05 };
      const plain = new GISTEmbedLoss(model, options);
      const guides = torch.scope(() => torch.noGrad(() => columns.map((f) => guide.forward(f).sentenceEmbedding!)));
      for (const miniBatchSize of [1, 3, BATCH]) {
        const loss = new CachedGISTEmbedLoss(model, { ...options, miniBatchSize });
        const cached = record(model, 17, cachedStep(loss, columns));
        const reference = record(model, 17, () =>
          referenceStep(model, columns, miniBatchSize, (e) => plain.computeLossFromEmbeddings(e, null, guides)),
        );
        assertSameStep(cached, reference, `miniBatchSize ${miniBatchSize}`);
      }
      guides.forEach((g) => g.dispose());
      guide.dispose();
      disposeFeatures(...columns);
      model.dispose();
    });
  });

  it("needs a guide model", () => {
    const model = new TinyEmbeddingModel();
    assert.throws(() => new CachedGISTEmbedLoss(model), /CachedGISTEmbedLoss needs a guide model: pass \{ guide/);
    model.dispose();
  });
});

describe("MatryoshkaLoss around a cached loss", () => {
  it("truncates inside the cached loss and forwards runDeferredBackward: equals MatryoshkaLoss(MultipleNegativesRankingLoss)", () => {
    assertNoLeak(() => {
      const { model, columns } = setUp(14);
      const options = { matryoshkaDims: [6, 3], matryoshkaWeights: [1, 0.5] };
      const plain = new MatryoshkaLoss(model, new MultipleNegativesRankingLoss(model), options);
      for (const miniBatchSize of [2, BATCH]) {
        const loss = new MatryoshkaLoss(
          model,
          new CachedMultipleNegativesRankingLoss(model, { miniBatchSize }),
          options,
        );
        assert.ok(loss.loss instanceof GradCacheLoss);
        const cached = record(model, 19, () => {
          const value = loss.forward(columns, null);
          assert.equal(loss.hasPendingBackward, true);
          backwardLoss(loss, value);
          return value;
        });
        const reference = record(model, 19, () =>
          referenceStep(model, columns, miniBatchSize, (e) => plain.computeLossFromEmbeddings(e, null)),
        );
        assertSameStep(cached, reference, `miniBatchSize ${miniBatchSize}`);
      }
      disposeFeatures(...columns);
      model.dispose();
    });
  });
});
