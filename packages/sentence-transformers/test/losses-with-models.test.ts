// Losses driven by a real SentenceTransformer (the BERT parity checkpoint): the model-dependent paths
// (clone for ContrastiveTension, every layer for AdaptiveLayerLoss, GradCache replay) end to end.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as torch from "@stts/torch";
import {
  AdaptiveLayerLoss,
  CachedMultipleNegativesRankingLoss,
  ContrastiveTensionLoss,
  MultipleNegativesRankingLoss,
  SentenceTransformer,
  Transformer,
  backwardLoss,
} from "../src/index.js";
import { handleCount, tinyBertDir, values } from "./models-util.js";

const anchors = ["a man is playing a guitar", "the cat sleeps", "children play football", "a woman cooks dinner"];
const positives = ["someone plays music", "a cat is asleep", "kids are playing a game", "dinner is being made"];

function trainableModel(): SentenceTransformer {
  return SentenceTransformer.loadFolder(tinyBertDir).train();
}

function gradNorms(model: SentenceTransformer): number[] {
  return torch.scope(() =>
    model.parameters().map((p) => {
      const g = p.grad;
      return g === null ? 0 : g.norm().item();
    }),
  );
}

describe("losses with a real SentenceTransformer", () => {
  it("clone() gives an independent copy with equal weights", () => {
    const model = trainableModel();
    const copy = model.clone();
    assert.equal(copy.training, true);
    const [a, b] = [model.parameters()[0]!, copy.parameters()[0]!];
    assert.ok(!a.sharesMemoryWith(b));
    assert.ok(a.equal(b));
    copy.dispose();
    model.dispose();
  });

  it("ContrastiveTensionLoss trains both copies", () => {
    const model = trainableModel();
    const loss = new ContrastiveTensionLoss(model);
    const before = handleCount();
    const value = torch.scope(() => {
      const features = [model.tokenize(anchors), model.tokenize(positives)];
      const out = loss.forward(features, torch.tensor([1, 0, 0, 0], { dtype: "int64" }));
      (out as torch.Tensor).backward();
      return (out as torch.Tensor).item();
    });
    assert.ok(Number.isFinite(value) && value > 0);
    assert.ok(
      gradNorms(model).some((n) => n > 0),
      "model2 (the original) gets gradients",
    );
    assert.equal(handleCount(), before, "no tensor handle leaked");
    loss.dispose();
    model.dispose();
  });

  it("AdaptiveLayerLoss runs every layer of the real BERT", () => {
    torch.manualSeed(0);
    const model = trainableModel();
    const loss = new AdaptiveLayerLoss(model, new MultipleNegativesRankingLoss(model), { nLayersPerStep: -1 });
    const value = torch.scope(() => {
      const out = loss.forward([model.tokenize(anchors), model.tokenize(positives)], null) as torch.Tensor;
      out.backward();
      return out.item();
    });
    assert.ok(Number.isFinite(value) && value > 0);
    assert.ok(gradNorms(model).some((n) => n > 0));
    model.dispose();
  });

  // With one mini-batch per column the cached loss draws dropout masks in the same order as the
  // plain loss, so the replayed backward must give the plain loss's gradients (smaller mini-batches
  // draw in another order on a multi-dropout BERT; losses-cached.test.ts covers those). Padded, as the
  // reference trains, and unpadded (Transformer.unpadInputs: dropout masks over the real tokens only).
  for (const unpadInputs of [false, true]) {
    it(`CachedMultipleNegativesRankingLoss replays dropout and matches the non-cached gradients (unpadInputs ${unpadInputs})`, () => {
      const run = (cached: boolean) => {
        torch.manualSeed(7);
        const model = trainableModel(); // dropout 0.1 on
        (model.at(0) as Transformer).unpadInputs = unpadInputs;
        const loss = cached
          ? new CachedMultipleNegativesRankingLoss(model, { miniBatchSize: anchors.length })
          : new MultipleNegativesRankingLoss(model);
        torch.manualSeed(11);
        const value = torch.scope(() => {
          const out = loss.forward([model.tokenize(anchors), model.tokenize(positives)], null) as torch.Tensor;
          backwardLoss(loss, out);
          return out.item();
        });
        const grads = torch.scope(() => values(model.parameters()[0]!.grad!));
        const padded = torch.noGrad(() =>
          torch.scope(() => {
            const features = model.forward(model.tokenize(anchors));
            const mask = features.attentionMask as torch.Tensor;
            return values((features.tokenEmbeddings as torch.Tensor).index([mask.eq(0)]));
          }),
        );
        model.dispose();
        return { value, grads, padded };
      };
      const plain = run(false);
      const cached = run(true);
      assert.ok(Math.abs(plain.value - cached.value) < 1e-5, `${plain.value} vs ${cached.value}`);
      assert.ok(plain.grads.some((g) => g !== 0));
      const worst = Math.max(...plain.grads.map((g, i) => Math.abs(g - cached.grads[i]!)));
      assert.ok(worst < 1e-5, `largest gradient difference ${worst}`);
      // the setting took effect: padded positions are zeros exactly when unpadded
      assert.ok(plain.padded.length > 0);
      assert.equal(
        plain.padded.every((v) => v === 0),
        unpadInputs,
      );
    });
  }
});
