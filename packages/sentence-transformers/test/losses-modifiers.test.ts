// Loss modifiers (MatryoshkaLoss, AdaptiveLayerLoss, Matryoshka2dLoss) and the classifier / two-model /
// guided losses (SoftmaxLoss, ContrastiveTension*, GISTEmbedLoss), on hand-derived small cases.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import * as torch from "@stts/torch";
import type { Tensor } from "@stts/torch";
import type { EmbeddingModel, Features } from "../src/features.js";
import { AdaptiveLayerLoss } from "../src/losses/adaptive-layer-loss.js";
import { CachedMultipleNegativesRankingLoss } from "../src/losses/cached-multiple-negatives-ranking-loss.js";
import {
  ContrastiveTensionLoss,
  ContrastiveTensionLossInBatchNegatives,
} from "../src/losses/contrastive-tension-loss.js";
import { GISTEmbedLoss } from "../src/losses/gist-embed-loss.js";
import { Loss } from "../src/losses/loss.js";
import { checkLossInputs, type InputColumns, type LabelKind } from "../src/losses/loss-inputs.js";
import { Matryoshka2dLoss } from "../src/losses/matryoshka-2d-loss.js";
import { MatryoshkaLoss } from "../src/losses/matryoshka-loss.js";
import { SoftmaxLoss } from "../src/losses/softmax-loss.js";
import { dotScore } from "../src/util/similarity.js";
import {
  assertClose,
  assertNoLeak,
  handleCount,
  disposeFeatures,
  parameterGrads,
  randomFeatures,
  TinyEmbeddingModel,
  TinyLayeredModel,
  values,
} from "./tiny-model.js";

const handlesAtStart = handleCount();
after(() => assert.equal(handleCount(), handlesAtStart, "a test in this file leaked tensor handles"));

/**
 * A small real loss for the modifiers: the mean over rows of a_i . b_i. It records the embedding
 * size and the first value of every call, so tests can see which dims and layers it was given.
 */
class RowDotLoss extends Loss {
  static readonly inputColumns: InputColumns = { min: 2, max: 2, roles: ["a", "b"] };
  static readonly labelKind: LabelKind = "none";
  readonly calls: { dim: number; first: number }[] = [];

  override forward(sentenceFeatures: Features[], labels: Tensor | null): Tensor {
    return torch.scope(() =>
      this.computeLossFromEmbeddings(
        sentenceFeatures.map((f) => this.embed(f)),
        labels,
      ),
    );
  }

  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null): Tensor {
    checkLossInputs("RowDotLoss", RowDotLoss, embeddings, labels);
    const [a, b] = embeddings as [Tensor, Tensor];
    this.calls.push({ dim: a.size(1), first: torch.scope(() => a.reshape([-1]).select(0, 0).item()) });
    return torch.scope(() => a.mul(b).sum(-1).mean());
  }
}

/** A real loss with only a forward: the modifiers cannot truncate what it embeds. */
class ForwardOnlyLoss extends Loss {
  override forward(sentenceFeatures: Features[]): Tensor {
    return torch.scope(() => this.embed(sentenceFeatures[0]!).sum());
  }
}

/** Leaves [batch, dim] in float64 from nested arrays. */
function leaves(...arrays: number[][][]): Tensor[] {
  return arrays.map((a) => torch.tensor(a, { dtype: "float64", requiresGrad: true }));
}

/** Runs `lossOf` on fresh leaves, backpropagates, and returns [loss, ...flattened input gradients]. */
function lossAndGrads(arrays: number[][][], lossOf: (inputs: Tensor[]) => Tensor): { loss: number; grads: number[][] } {
  return torch.scope(() => {
    const inputs = leaves(...arrays);
    const value = lossOf(inputs);
    value.backward();
    return { loss: value.item(), grads: inputs.map((t) => (t.grad === null ? [] : values(t.grad))) };
  });
}

const logSumExp = (xs: number[]): number => Math.log(xs.reduce((s, x) => s + Math.exp(x), 0));
const softmax = (xs: number[]): number[] => xs.map((x) => Math.exp(x - logSumExp(xs)));

describe("MatryoshkaLoss", () => {
  it("sums the weighted inner losses over truncated, renormalised embeddings (hand-derived)", () => {
    assertNoLeak(() => {
      const model = new TinyEmbeddingModel({ out: 4 });
      const inner = new RowDotLoss(model);
      // dims and weights given unsorted: paired and sorted by dim, descending
      const loss = new MatryoshkaLoss(model, inner, { matryoshkaDims: [2, 4], matryoshkaWeights: [0.5, 1] });
      const { loss: value, grads } = lossAndGrads([[[3, 4, 0, 0]], [[3, 0, 4, 0]]], (e) =>
        loss.computeLossFromEmbeddings(e, null),
      );
      // dim 4: a^ = (.6, .8, 0, 0), b^ = (.6, 0, .8, 0): 0.36; dim 2: a^ = (.6, .8), b^ = (1, 0): 0.6
      assertClose([value], [1 * 0.36 + 0.5 * 0.6], 1e-15, 0, "loss");
      // d(a^.b^)/da = (b^ - (a^.b^) a^) / |a|: dim 4 -> (.0768, -.0576, .16, 0); dim 2 -> (.128, -.096) * 0.5
      assertClose(grads[0]!, [0.0768 + 0.064, -0.0576 - 0.048, 0.16, 0], 1e-15, 0, "d loss / d a");
      assert.deepEqual(
        inner.calls.map((c) => c.dim),
        [4, 2],
        "largest dim first",
      );
      assert.deepEqual(loss.getConfigDict(), {
        loss: "RowDotLoss",
        matryoshkaDims: [4, 2],
        matryoshkaWeights: [1, 0.5],
        nDimsPerStep: -1,
      });
      assert.match(loss.citation, /@misc\{kusupati2024matryoshka,/);
      model.dispose();
    });
  });

  it("runs the model once per column in forward and reuses the embeddings for every dim", () => {
    assertNoLeak(() => {
      torch.manualSeed(2);
      const model = new TinyEmbeddingModel({ out: 6 }).eval();
      const loss = new MatryoshkaLoss(model, new RowDotLoss(model), { matryoshkaDims: [6, 3] });
      const columns = [randomFeatures(4), randomFeatures(4)];
      const viaForward = torch.scope(() => loss.forward(columns, null).item());
      const direct = torch.scope(() =>
        loss
          .computeLossFromEmbeddings(
            columns.map((f) => model.forward(f).sentenceEmbedding!),
            null,
          )
          .item(),
      );
      assertClose([viaForward], [direct], 1e-15, 0, "forward = computeLossFromEmbeddings(model embeddings)");
      disposeFeatures(...columns);
      model.dispose();
    });
  });

  it("rejects dims that are empty, not positive, unpaired with their weights, or larger than the embeddings", () => {
    const model = new TinyEmbeddingModel({ out: 4 });
    const inner = new RowDotLoss(model);
    assert.throws(
      () => new MatryoshkaLoss(model, inner, { matryoshkaDims: [] }),
      /MatryoshkaLoss: matryoshkaDims must be a non-empty array/,
    );
    assert.throws(
      () => new MatryoshkaLoss(model, inner, { matryoshkaDims: [4, 0] }),
      /every matryoshkaDims entry must be a positive integer, got 0/,
    );
    assert.throws(
      () => new MatryoshkaLoss(model, inner, { matryoshkaDims: [4, 2], matryoshkaWeights: [1] }),
      /matryoshkaWeights must be null or one number per dim \(2\), got \[1\]/,
    );
    assert.throws(
      () => new MatryoshkaLoss(model, inner, { matryoshkaDims: [8, 4] }),
      /MatryoshkaLoss: matryoshkaDims \[8\] exceed the model's embedding dimension 4/,
    );
    // a model that does not know its dimension: the check happens on the embeddings
    const unknown = new TinyEmbeddingModel({ out: 4, reportDimension: false });
    const loss = new MatryoshkaLoss(unknown, new RowDotLoss(unknown), { matryoshkaDims: [8, 4] });
    assertNoLeak(() =>
      assert.throws(
        () => lossAndGrads([[[1, 2, 3, 4]], [[1, 0, 0, 0]]], (e) => loss.computeLossFromEmbeddings(e, null)),
        /MatryoshkaLoss: dimension 8 in matryoshkaDims exceeds the embedding dimension 4/,
      ),
    );
    assert.throws(
      () => new MatryoshkaLoss(model, new ForwardOnlyLoss(model), { matryoshkaDims: [4] }),
      /MatryoshkaLoss wraps a loss that can be computed from embeddings \(a Loss with computeLossFromEmbeddings\), got ForwardOnlyLoss/,
    );
    model.dispose();
    unknown.dispose();
  });

  it("samples nDimsPerStep dims from the engine's generator: reproducible under manualSeed", () => {
    assertNoLeak(() => {
      const model = new TinyEmbeddingModel({ out: 8 });
      const inner = new RowDotLoss(model);
      const loss = new MatryoshkaLoss(model, inner, { matryoshkaDims: [2, 8, 4, 6], nDimsPerStep: 2 });
      const dimsUsed = (seed: number): number[] => {
        inner.calls.length = 0;
        torch.manualSeed(seed);
        lossAndGrads([[[1, 2, 3, 4, 5, 6, 7, 8]], [[8, 7, 6, 5, 4, 3, 2, 1]]], (e) =>
          loss.computeLossFromEmbeddings(e, null),
        );
        return inner.calls.map((c) => c.dim);
      };
      const subsets = new Set<string>();
      for (let seed = 0; seed < 8; seed++) {
        const first = dimsUsed(seed);
        assert.deepEqual(dimsUsed(seed), first, `seed ${seed} reproduces its dims`);
        assert.equal(first.length, 2);
        assert.ok(first[0]! > first[1]!, "largest sampled dim first");
        assert.ok(first.every((d) => [8, 6, 4, 2].includes(d)));
        subsets.add(first.join(","));
      }
      assert.ok(subsets.size > 1, `different seeds draw different dims, got ${[...subsets].join(" | ")}`);
      model.dispose();
    });
  });
});

describe("AdaptiveLayerLoss", () => {
  // column a, column b; layers 1..3 (3 = final), batch 1, dim 2
  const layerA = [[[1, 0]], [[1, 1]], [[2, 0]]];
  const layerB = [[[0, 1]], [[1, 0]], [[1, 1]]];

  function layered(
    loss: AdaptiveLayerLoss,
    columns: number[][][][] = [layerA, layerB],
  ): { loss: number; grads: number[][][] } {
    return torch.scope(() => {
      const inputs = columns.map((column) => leaves(...column));
      const value = loss.computeLossFromLayerEmbeddings(inputs, null);
      value.backward();
      return {
        loss: value.item(),
        grads: inputs.map((column) => column.map((t) => (t.grad === null ? [] : values(t.grad)))),
      };
    });
  }

  it("weights the final layer and each earlier layer l by 1 / l / layers (no KL at temperature 0; hand-derived)", () => {
    assertNoLeak(() => {
      const model = new TinyEmbeddingModel({ out: 2 });
      const loss = new AdaptiveLayerLoss(model, new RowDotLoss(model), {
        nLayersPerStep: -1,
        lastLayerWeight: 2,
        priorLayersWeight: 3,
        klTemperature: 0,
      });
      const { loss: value, grads } = layered(loss);
      // inner: layer 1 -> 0, layer 2 -> 1, final -> 2; loss = 2 * 2 + 0 / 1 / 2 * 3 + 1 / 2 / 2 * 3
      assertClose([value], [4 + 0 + 0.75], 1e-15, 0, "loss");
      // d/da of a.b is b: final 2 * (1, 1); layer 2: 3 / 2 / 2 * (1, 0); layer 1: 3 / 1 / 2 * (0, 1)
      assertClose(grads[0]!.flat(), [0, 1.5, 0.75, 0, 2, 2], 1e-15, 0, "d loss / d column a");
      model.dispose();
    });
  });

  it("adds KL(softmax(final / T) || softmax(layer / T)) * T * klDivWeight per earlier layer, rows of all columns stacked", () => {
    assertNoLeak(() => {
      const model = new TinyEmbeddingModel({ out: 2 });
      const [T, klWeight] = [0.5, 0.7];
      const loss = new AdaptiveLayerLoss(model, new RowDotLoss(model), {
        nLayersPerStep: -1,
        klDivWeight: klWeight,
        klTemperature: T,
      });
      const { loss: value } = layered(loss);
      const finalRows = [layerA[2]![0]!, layerB[2]![0]!];
      const kl = (layer: number): number => {
        const rows = [layerA[layer]![0]!, layerB[layer]![0]!];
        let total = 0;
        rows.forEach((row, r) => {
          const p = softmax(finalRows[r]!.map((x) => x / T));
          const q = softmax(row.map((x) => x / T));
          total += p.reduce((s, pi, i) => s + pi * (Math.log(pi) - Math.log(q[i]!)), 0);
        });
        return total / rows.length; // "batchmean": over the stacked rows
      };
      const expected = 2 + 0 / 1 / 2 + 1 / 2 / 2 + (kl(0) + kl(1)) * T * klWeight;
      assertClose([value], [expected], 1e-14, 0, "loss with KL terms");
      model.dispose();
    });
  });

  it("embeds every layer through the model in forward (outputHiddenStates, then pooling per layer)", () => {
    assertNoLeak(() => {
      torch.manualSeed(4);
      const model = new TinyLayeredModel({ layers: 3 });
      const loss = new AdaptiveLayerLoss(model, new RowDotLoss(model), { nLayersPerStep: -1 });
      const columns = [randomFeatures(3), randomFeatures(3)];
      model.zeroGrad();
      const viaForward = torch.scope(() => {
        const value = loss.forward(columns, null);
        value.backward();
        return value.item();
      });
      assert.equal(model.outputHiddenStates, false, "restored after forward");
      const forwardGrads = parameterGrads(model);
      model.zeroGrad();
      const direct = torch.scope(() => {
        // [column][layer]: hidden states 1..3 pooled with the attention mask
        const layers = columns.map((f) =>
          model
            .hiddenStates(f.inputIds!)
            .slice(1)
            .map((h) => model.forwardFromTokenEmbeddings({ ...f, tokenEmbeddings: h }).sentenceEmbedding!),
        );
        const value = loss.computeLossFromLayerEmbeddings(layers, null);
        value.backward();
        return value.item();
      });
      assertClose([viaForward], [direct], 1e-14, 0, "loss");
      for (const [name, expected] of parameterGrads(model))
        assertClose(forwardGrads.get(name)!, expected, 1e-14, 1e-12, name);
      model.zeroGrad();
      disposeFeatures(...columns);
      model.dispose();
    });
  });

  it("samples nLayersPerStep earlier layers from the engine's generator, always with the final layer", () => {
    assertNoLeak(() => {
      const model = new TinyEmbeddingModel({ out: 2 });
      const inner = new RowDotLoss(model);
      const loss = new AdaptiveLayerLoss(model, inner, { nLayersPerStep: 2, klTemperature: 0 });
      // layer l of column a is filled with l: the first value tells which layer the inner loss saw
      const columns = [[1, 2, 3, 4, 5].map((l) => [[l, l]]), [1, 2, 3, 4, 5].map(() => [[1, 1]])];
      const layersUsed = (seed: number): number[] => {
        inner.calls.length = 0;
        torch.manualSeed(seed);
        layered(loss, columns);
        return inner.calls.map((c) => c.first);
      };
      for (let seed = 0; seed < 5; seed++) {
        const used = layersUsed(seed);
        assert.deepEqual(layersUsed(seed), used, `seed ${seed} reproduces its layers`);
        assert.equal(used.length, 3);
        assert.equal(used[0], 5, "the final layer first");
        assert.ok(used[1]! < used[2]! && used[2]! < 5, `two distinct earlier layers, got ${used.join(", ")}`);
      }
      model.dispose();
    });
  });

  it("rejects cached inner losses and models that do not expose their layers", () => {
    const model = new TinyEmbeddingModel();
    const cached = new CachedMultipleNegativesRankingLoss(model);
    assert.throws(
      () => new AdaptiveLayerLoss(model, cached),
      /AdaptiveLayerLoss does not support CachedMultipleNegativesRankingLoss \(GradCache\)/,
    );
    assert.throws(
      () => new Matryoshka2dLoss(model, cached, { matryoshkaDims: [6] }),
      /Matryoshka2dLoss does not support CachedMultipleNegativesRankingLoss/,
    );
    const loss = new AdaptiveLayerLoss(model, new RowDotLoss(model));
    const columns = [randomFeatures(2), randomFeatures(2)];
    assert.throws(
      () => loss.forward(columns, null),
      /AdaptiveLayerLoss needs a model exposing its layers \(outputHiddenStates and forwardFromTokenEmbeddings/,
    );
    assert.deepEqual(loss.getConfigDict(), {
      loss: "RowDotLoss",
      nLayersPerStep: 1,
      lastLayerWeight: 1,
      priorLayersWeight: 1,
      klDivWeight: 1,
      klTemperature: 0.3,
    });
    disposeFeatures(...columns);
    model.dispose();
  });
});

describe("Matryoshka2dLoss", () => {
  it("is AdaptiveLayerLoss around MatryoshkaLoss: Matryoshka sums per layer, KL on the full embeddings", () => {
    assertNoLeak(() => {
      const model = new TinyEmbeddingModel({ out: 4 });
      const options = { matryoshkaDims: [4, 2], nLayersPerStep: -1, nDimsPerStep: -1, klTemperature: 0.5 };
      const loss = new Matryoshka2dLoss(model, new RowDotLoss(model), options);
      const composed = new AdaptiveLayerLoss(model, new MatryoshkaLoss(model, new RowDotLoss(model), options), options);
      const columns = [
        [[[1, 2, 0, 1]], [[0, 1, 3, 1]], [[2, 2, 1, 0]]],
        [[[1, 0, 0, 2]], [[1, 1, 1, 1]], [[0, 3, 1, 1]]],
      ];
      const run = (l: AdaptiveLayerLoss) =>
        torch.scope(() => {
          const inputs = columns.map((column) => leaves(...column));
          const value = l.computeLossFromLayerEmbeddings(inputs, null);
          value.backward();
          return [value.item(), ...inputs.flat().flatMap((t) => values(t.grad!))];
        });
      assertClose(run(loss), run(composed), 1e-15, 0, "Matryoshka2dLoss = AdaptiveLayerLoss(MatryoshkaLoss)");
      assert.deepEqual(loss.getConfigDict(), {
        loss: "RowDotLoss",
        nLayersPerStep: -1,
        lastLayerWeight: 1,
        priorLayersWeight: 1,
        klDivWeight: 1,
        klTemperature: 0.5,
        matryoshkaDims: [4, 2],
        matryoshkaWeights: [1, 1],
        nDimsPerStep: -1,
      });
      const defaults = new Matryoshka2dLoss(model, new RowDotLoss(model), { matryoshkaDims: [4] }).getConfigDict();
      assert.equal(defaults.nLayersPerStep, 1, "2DMSE default: one earlier layer per step");
      assert.equal(defaults.nDimsPerStep, 1, "2DMSE default: one dim per step");
      assert.match(loss.citation, /@misc\{li20242d,/);
      model.dispose();
    });
  });
});

describe("SoftmaxLoss", () => {
  function softmaxLoss(model: EmbeddingModel): SoftmaxLoss {
    const loss = new SoftmaxLoss(model, { sentenceEmbeddingDimension: 1, numLabels: 2 }).to("float64");
    torch.noGrad(() =>
      torch.scope(() => {
        loss.classifier.weight.copy_(
          torch.tensor(
            [
              [1, 0, 0],
              [0, 1, 1],
            ],
            { dtype: "float64" },
          ),
        );
        loss.classifier.bias!.zero_();
      }),
    );
    return loss;
  }

  it("classifies [u, v, |u - v|] with its linear layer and takes the cross-entropy (hand-derived)", () => {
    assertNoLeak(() => {
      const model = new TinyEmbeddingModel({ out: 1 });
      const loss = softmaxLoss(model);
      const { loss: value, grads } = torch.scope(() => {
        const [u, v] = leaves([[2], [0]], [[1], [3]]);
        const labels = torch.tensor([0, 1], { dtype: "int64" });
        const out = loss.computeLossFromEmbeddings([u!, v!], labels);
        out.backward();
        return { loss: out.item(), grads: [values(u!.grad!), values(v!.grad!)] };
      });
      // row 1: features (2, 1, 1) -> logits (2, 2), class 0: log 2; row 2: (0, 3, 3) -> (0, 6), class 1: log(1 + e^-6)
      assertClose([value], [(Math.log(2) + Math.log(1 + Math.exp(-6))) / 2], 1e-15, 0, "loss");
      // row 1: d logits = (-1/4, 1/4) -> d features (-1/4, 1/4, 1/4) -> du = -1/4 + 1/4 = 0, dv = 1/4 - 1/4 = 0
      // row 2: s = sigmoid(-6) / 2, d features (s, -s, -s), u - v < 0 -> du = s + s, dv = -s - s
      const s = 1 / (1 + Math.exp(6)) / 2;
      assertClose(grads[0]!, [0, 2 * s], 1e-15, 0, "d loss / d u");
      assertClose(grads[1]!, [0, -2 * s], 1e-15, 0, "d loss / d v");
      assert.deepEqual([...loss.namedParameters().keys()], ["classifier.weight", "classifier.bias"]);
      assert.deepEqual(loss.getConfigDict(), {
        sentenceEmbeddingDimension: 1,
        numLabels: 2,
        concatenationSentRep: true,
        concatenationSentDifference: true,
        concatenationSentMultiplication: false,
        lossFct: "CrossEntropyLoss",
      });
      loss.dispose();
      model.dispose();
    });
  });

  it("rejects wrong columns, labels and dtypes, naming what it expects", () => {
    const model = new TinyEmbeddingModel({ out: 1 });
    const loss = softmaxLoss(model);
    assertNoLeak(() =>
      torch.scope(() => {
        const [u, v] = leaves([[2], [0]], [[1], [3]]);
        const ok = torch.tensor([0, 1], { dtype: "int64" });
        assert.throws(
          () => loss.computeLossFromEmbeddings([u!, v!, u!], ok),
          /SoftmaxLoss expects 2 input columns \(sentence A, sentence B\) and integer class labels, got 3 columns/,
        );
        assert.throws(() => loss.computeLossFromEmbeddings([u!, v!], null), /SoftmaxLoss expects .* got no labels/);
        assert.throws(
          () => loss.computeLossFromEmbeddings([u!, v!], torch.tensor([0, 2], { dtype: "int64" })),
          /labels must be class ids in \[0, 2\), got 2/,
        );
        assert.throws(
          () => loss.computeLossFromEmbeddings([u!, v!], torch.tensor([0.5, 1], { dtype: "float64" })),
          /integer class labels of shape \[batch\], got labels of dtype float64/,
        );
        const float32 = new SoftmaxLoss(model, { sentenceEmbeddingDimension: 1, numLabels: 2 });
        assert.throws(
          () => float32.computeLossFromEmbeddings([u!, v!], ok),
          /the embeddings are float64 but the classifier is float32; convert the loss with loss.to\("float64"\)/,
        );
        float32.dispose();
      }),
    );
    assert.throws(() => new SoftmaxLoss(model, {}), /SoftmaxLoss: numLabels must be a positive integer/);
    const unknown = new TinyEmbeddingModel({ reportDimension: false });
    assert.throws(
      () => new SoftmaxLoss(unknown, { numLabels: 3 }),
      /sentenceEmbeddingDimension must be a positive integer, got null/,
    );
    assert.throws(
      () => new SoftmaxLoss(model, { numLabels: 3, concatenationSentRep: false, concatenationSentDifference: false }),
      /at least one of the concatenation flags must be true/,
    );
    const fromModel = new SoftmaxLoss(model, { numLabels: 3 });
    assert.equal(fromModel.classifier.inFeatures, 3, "dimension from the model: 3 vectors of 1");
    fromModel.dispose();
    loss.dispose();
    unknown.dispose();
    model.dispose();
  });
});

describe("ContrastiveTensionLoss", () => {
  it("sums the binary cross-entropy of u_i . v_i with 0/1 labels (hand-derived)", () => {
    assertNoLeak(() => {
      const model = new TinyEmbeddingModel({ out: 2 });
      const loss = new ContrastiveTensionLoss(model);
      const { loss: value, grads } = torch.scope(() => {
        const [u, v] = leaves(
          [
            [1, 2],
            [0, 1],
          ],
          [
            [3, -1],
            [1, 1],
          ],
        );
        const out = loss.computeLossFromEmbeddings([u!, v!], torch.tensor([1, 0], { dtype: "int64" }));
        out.backward();
        return { loss: out.item(), grads: [values(u!.grad!), values(v!.grad!)] };
      });
      const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
      // both dot products are 1: label 1 -> log(1 + e^-1), label 0 -> log(1 + e^1); summed
      assertClose([value], [Math.log(1 + Math.exp(-1)) + Math.log(1 + Math.exp(1))], 1e-15, 0, "loss");
      // d/du_i = (sigmoid(s_i) - y_i) v_i
      const [g1, g2] = [sigmoid(1) - 1, sigmoid(1)];
      assertClose(grads[0]!, [3 * g1, -1 * g1, 1 * g2, 1 * g2], 1e-15, 0, "d loss / d u");
      loss.dispose();
      model.dispose();
    });
  });

  it("embeds column 0 with an independent, registered copy of the model and column 1 with the model", () => {
    assertNoLeak(() => {
      torch.manualSeed(8);
      const model = new TinyEmbeddingModel({ out: 3 }).eval();
      const loss = new ContrastiveTensionLoss(model);
      assert.ok(loss.model1 !== model && loss.model2 === model);
      assert.ok(loss.model1 instanceof TinyEmbeddingModel);
      assert.ok(
        [...loss.namedParameters().keys()].includes("model1.dense.weight"),
        "the copy trains too, as in the reference",
      );
      assert.notEqual(loss.model1.dense.weight, model.dense.weight, "own tensors");
      assert.deepEqual(values(loss.model1.dense.weight), values(model.dense.weight), "same values");
      const columns = [randomFeatures(3), randomFeatures(3)];
      torch.scope(() => {
        const labels = torch.tensor([1, 0, 0], { dtype: "int64" });
        const viaForward = loss.forward(columns, labels).item();
        const u = loss.model1.forward(columns[0]!).sentenceEmbedding!;
        const v = model.forward(columns[1]!).sentenceEmbedding!;
        assertClose([viaForward], [loss.computeLossFromEmbeddings([u, v], labels).item()], 1e-15, 0, "forward");
        assert.throws(
          () => loss.computeLossFromEmbeddings([u, v], torch.tensor([1, 2, 0], { dtype: "int64" })),
          /ContrastiveTensionLoss: labels must be 0 or 1 \(1 = identical sentences\), got 2/,
        );
        assert.throws(
          () => loss.forward(columns.slice(0, 1), labels),
          /ContrastiveTensionLoss expects 2 input columns/,
        );
      });
      disposeFeatures(...columns);
      loss.dispose(); // frees model1's tensors with the loss's
      model.dispose();
    });
  });

  it("needs a model that can clone itself", () => {
    const model = new TinyLayeredModel();
    assert.throws(
      () => new ContrastiveTensionLoss(model),
      /ContrastiveTensionLoss needs an independent copy of the model: give the model a clone\(\) method/,
    );
    model.dispose();
  });
});

describe("ContrastiveTensionLossInBatchNegatives", () => {
  it("averages the row and column cross-entropies of sim(u, v) * exp(logitScale) (hand-derived)", () => {
    assertNoLeak(() => {
      const model = new TinyEmbeddingModel({ out: 2 });
      const loss = new ContrastiveTensionLossInBatchNegatives(model, { scale: 1, similarityFct: dotScore });
      const { loss: value, scaleGrad } = torch.scope(() => {
        const [u, v] = leaves(
          [
            [1, 0],
            [0, 1],
          ],
          [
            [1, 0],
            [0, 2],
          ],
        );
        const out = loss.computeLossFromEmbeddings([u!, v!], null);
        out.backward();
        return { loss: out.item(), scaleGrad: loss.logitScale.grad!.item() };
      });
      // S = u v^T = [[1, 0], [0, 2]] (symmetric), exp(log 1) = 1: rows and columns give the same cross-entropy
      const rows = [
        [1, 0],
        [0, 2],
      ];
      const ce = rows.map((row, i) => logSumExp(row) - row[i]!);
      assertClose([value], [(ce[0]! + ce[1]!) / 2], 1e-15, 0, "loss");
      // d loss / d logitScale = sum_ij dL/dS_ij * S_ij, with dL/dS = (softmax(row) - onehot) / batch for both terms
      const grad = rows.reduce(
        (total, row, i) => total + softmax(row).reduce((s, p, j) => s + ((p - (i === j ? 1 : 0)) / 2) * row[j]!, 0),
        0,
      );
      assertClose([scaleGrad], [grad], 1e-15, 0, "d loss / d logitScale");
      loss.dispose();
      model.dispose();
    });
  });

  it("holds logitScale = log(scale) exactly (float64) and reports its options", () => {
    const model = new TinyEmbeddingModel();
    const loss = new ContrastiveTensionLossInBatchNegatives(model);
    assert.equal(loss.logitScale.dtype, "float64");
    assert.equal(loss.logitScale.item(), Math.log(20));
    assert.deepEqual(loss.getConfigDict(), { scale: 20, similarityFct: "cosSim" });
    assert.throws(
      () => new ContrastiveTensionLossInBatchNegatives(model, { scale: 0 }),
      /scale must be positive, got 0/,
    );
    loss.dispose();
    model.dispose();
  });
});

describe("GISTEmbedLoss", () => {
  // anchors a1 = (1, 0), a2 = (0, 1); positives p1 = (3, 4), p2 = (0, 1); the guide agrees with the model
  const anchors = [
    [1, 0],
    [0, 1],
  ];
  const positives = [
    [3, 4],
    [0, 1],
  ];

  function gist(
    options: {
      contrastAnchors?: boolean;
      contrastPositives?: boolean;
      marginStrategy?: "absolute" | "relative";
      margin?: number;
    } = {},
  ) {
    const model = new TinyEmbeddingModel({ out: 2 });
    const loss = new GISTEmbedLoss(model, { guide: model, temperature: 0.5, margin: 0.1, ...options });
    const result = torch.scope(() => {
      const inputs = leaves(anchors, positives);
      const guides = inputs.map((t) => t.detach());
      const out = loss.computeLossFromEmbeddings(inputs, null, guides);
      out.backward();
      return { loss: out.item(), grads: inputs.map((t) => values(t.grad!)) };
    });
    model.dispose();
    return result;
  }

  it("drops in-batch candidates the guide finds closer than the positive minus the margin (hand-derived)", () => {
    assertNoLeak(() => {
      // cosines: a1.p1 = .6, a1.p2 = 0, a2.p1 = .8, a2.p2 = 1; thresholds .6 - .1 = .5 and 1 - .1 = .9
      // row 1: ap (.6, 0), aa (1 > .5 dropped, 0), pp (1 and .8 > .5 dropped); logits = cos / 0.5
      const row1 = Math.log(Math.exp(1.2) + 1 + 1) - 1.2;
      // row 2: ap (.8, 1: the positive, kept), aa (0, 1 > .9 dropped), pp (.8, 1 > .9 dropped)
      const row2 = Math.log(Math.exp(1.6) + Math.exp(2) + 1 + Math.exp(1.6)) - 2;
      assertClose([gist().loss], [(row1 + row2) / 2], 1e-14, 0, "absolute margin");
      // relative: thresholds .6 * .9 = .54 and .9: the same candidates go
      assertClose([gist({ marginStrategy: "relative" }).loss], [(row1 + row2) / 2], 1e-14, 0, "relative margin");
      // without the anchor-anchor and positive-positive blocks only ap remains
      const apOnly = (Math.log(Math.exp(1.2) + 1) - 1.2 + Math.log(Math.exp(1.6) + Math.exp(2)) - 2) / 2;
      assertClose([gist({ contrastAnchors: false, contrastPositives: false }).loss], [apOnly], 1e-14, 0, "ap only");
    });
  });

  it("rejects a missing guide, too many columns and missing guide embeddings", () => {
    const model = new TinyEmbeddingModel({ out: 2 });
    assert.throws(
      () => new GISTEmbedLoss(model),
      /GISTEmbedLoss needs a guide model: pass \{ guide: someEmbeddingModel \}/,
    );
    assert.throws(
      () => new GISTEmbedLoss(model, { guide: model, marginStrategy: "percent" as "absolute" }),
      /marginStrategy must be 'absolute' or 'relative', got 'percent'/,
    );
    const loss = new GISTEmbedLoss(model, { guide: model });
    assertNoLeak(() =>
      torch.scope(() => {
        const inputs = leaves(anchors, positives, anchors, positives);
        assert.throws(
          () => loss.computeLossFromEmbeddings(inputs, null, inputs),
          /GISTEmbedLoss expects 2 to 3 input columns \(anchor, positive, negative\) and no labels, got 4 columns/,
        );
        assert.throws(
          () => loss.computeLossFromEmbeddings(inputs.slice(0, 2), null, inputs.slice(0, 1)),
          /expected guide embeddings for each of the 2 columns, got 1/,
        );
      }),
    );
    assert.equal(loss.getConfigDict().guide, "TinyEmbeddingModel");
    model.dispose();
  });
});
