import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import * as torch from "@stts/torch";
import { Tokenizer } from "../src/models/tokenizer.js";
import { Dense } from "../src/modules/dense.js";
import { Normalize } from "../src/modules/normalize.js";
import { Pooling } from "../src/modules/pooling.js";
import { StaticEmbedding } from "../src/modules/static-embedding.js";
import { Transformer } from "../src/modules/transformer.js";
import { SentenceTransformer, SIMILARITY_FN_NAMES } from "../src/sentence-transformer.js";
import { assertClose, assertNoLeak, bertParityDir, fixtureCase, tinyBertDir, values } from "./models-util.js";

const tol = 1e-4; // manifest.json recommended_tolerance: atol = rtol = 1e-4

describe("SentenceTransformer on the parity checkpoint", () => {
  let model: SentenceTransformer;
  before(async () => {
    model = await SentenceTransformer.load(tinyBertDir);
  });
  after(() => model.dispose());

  it("loads Transformer + Pooling with the folder's settings", () => {
    assert.deepEqual(
      model.moduleList.map((m) => m.constructor.name),
      ["Transformer", "Pooling"],
    );
    assert.equal(model.maxSeqLength, 16); // sentence_bert_config.json
    assert.equal(model.getSentenceEmbeddingDimension(), 32);
    assert.equal(model.similarityFnName, "cosine");
    assert.equal((model.at(0) as Transformer).doLowerCase, false);
  });

  it("encodes the fixture texts to the real sentence-transformers mean pooling (texts_single)", async () => {
    const c = fixtureCase("bert-tiny-h32-l2", "texts_single");
    await assertNoLeak(() => {
      const rows = model.encode(c.texts!);
      assertClose(
        rows.flatMap((r) => Array.from(r)),
        c.expected.pooled.mean.data,
        tol,
        tol,
        "pooled.mean",
      );
    });
  });

  it("tokenizes and forwards text pairs to the fixture's pooled mean (texts_pair)", async () => {
    const c = fixtureCase("bert-tiny-h32-l2", "texts_pair");
    await assertNoLeak(() =>
      torch.noGrad(() =>
        torch.scope(() => {
          const features = model.tokenize(c.text_pairs!);
          assert.deepEqual(values(features.inputIds!), c.inputs.input_ids.data);
          const out = model.forward(features).sentenceEmbedding!;
          assertClose(values(out), c.expected.pooled.mean.data, tol, tol, "pooled.mean");
        }),
      ),
    );
  });

  it("adds every layer's hidden states when the Transformer is asked for them (AdaptiveLayerLoss)", async (t) => {
    const c = fixtureCase("bert-tiny-h32-l2", "texts_single") as ReturnType<typeof fixtureCase> & {
      expected: { hidden_states: { shape: number[]; data: number[] } };
    };
    const transformer = model.at(0) as Transformer;
    // The fixture holds every position, padded ones included, as transformers computes them: pad here too
    // (unpad-inputs.test.ts checks that unpadding changes only the padded positions).
    transformer.unpadInputs = false;
    t.after(() => {
      transformer.unpadInputs = null;
    });
    await assertNoLeak(() =>
      torch.noGrad(() =>
        torch.scope(() => {
          const features = transformer.tokenize(c.texts!);
          const out = transformer.forward(features, { outputHiddenStates: true });
          const layers = out.allLayerEmbeddings!;
          assert.equal(layers.length, 3); // embeddings output + 2 layers
          assertClose(
            layers.flatMap((t) => values(t)),
            c.expected.hidden_states.data,
            tol,
            tol,
            "hidden_states",
          );
          assertClose(values(out.tokenEmbeddings!), values(layers[2]!), 0);
          // numLayers 1: the token embeddings are layer 1's output
          transformer.numLayers = 1;
          try {
            assertClose(values(transformer.forward(features).tokenEmbeddings!), values(layers[1]!), 1e-6);
          } finally {
            transformer.numLayers = null;
          }
          assert.equal(transformer.forward(features).allLayerEmbeddings, undefined);
        }),
      ),
    );
  });

  it("exposes its layers to AdaptiveLayerLoss: outputHiddenStates and forwardFromTokenEmbeddings", async () => {
    assert.equal(model.outputHiddenStates, false);
    model.outputHiddenStates = true;
    try {
      await assertNoLeak(() =>
        torch.noGrad(() =>
          torch.scope(() => {
            const out = model.forward(model.tokenize(["The cat sat on the mat.", "Hello, world"]));
            const layers = out.allLayerEmbeddings!;
            assert.equal(layers.length, 3);
            // The modules after the Transformer, run on the last layer, give the model's own output.
            const again = model.forwardFromTokenEmbeddings({
              ...out,
              tokenEmbeddings: layers[2]!,
              sentenceEmbedding: undefined,
            });
            assertClose(values(again.sentenceEmbedding!), values(out.sentenceEmbedding!), 0);
          }),
        ),
      );
    } finally {
      model.outputHiddenStates = false;
    }
    const staticOnly = new SentenceTransformer([new Normalize()]);
    assert.equal(staticOnly.outputHiddenStates, false);
    assert.throws(
      () => (staticOnly.outputHiddenStates = true),
      /outputHiddenStates needs a Transformer as first module, got Normalize/,
    );
  });

  it("scores embeddings with the similarity function named by similarityFnName", async () => {
    const a = [[3, 4]];
    const b = [
      [3, 4],
      [0, 1],
    ];
    // cosine: [1, 4/5]; dot: [25, 4]; euclidean: -[0, sqrt(3² + 3²)]; manhattan: -[0, 3 + 3]
    const expected: Record<string, number[]> = {
      cosine: [1, 0.8],
      dot: [25, 4],
      euclidean: [0, -Math.sqrt(18)],
      manhattan: [0, -6],
    };
    // pairwise on ([3, 4], [1, 0]) vs ([0, 1], [1, 1]): cosine [0.8, 1/sqrt2], dot [4, 1],
    // euclidean -[sqrt(18), 1], manhattan -[6, 1]
    const pairwise: Record<string, number[]> = {
      cosine: [0.8, Math.SQRT1_2],
      dot: [4, 1],
      euclidean: [-Math.sqrt(18), -1],
      manhattan: [-6, -1],
    };
    await assertNoLeak(() => {
      for (const name of SIMILARITY_FN_NAMES) {
        model.similarityFnName = name;
        const scores = model.similarity(a, b);
        assert.deepEqual(scores.shape, [1, 2]);
        assertClose(values(scores), expected[name]!, 1e-5, 0, name);
        scores.dispose();
        const pairs = model.similarityPairwise(
          [
            [3, 4],
            [1, 0],
          ],
          [
            [0, 1],
            [1, 1],
          ],
        );
        assertClose(values(pairs), pairwise[name]!, 1e-5, 0, `pairwise ${name}`);
        pairs.dispose();
      }
      model.similarityFnName = null;
      // A single embedding (as encode(string) returns) counts as one row.
      const single = model.similarity(Float32Array.from([3, 4]), b);
      assertClose(values(single), expected.cosine!, 1e-5);
      single.dispose();
    });
    assert.equal(model.similarityFnName, "cosine");
    assert.throws(
      () => (model.similarityFnName = "cos" as "cosine"),
      /unknown similarityFnName 'cos' \(expected one of cosine, dot, euclidean, manhattan\)/,
    );
  });

  it("switches train() / eval() through every module", () => {
    model.train();
    assert.ok(model.modules().every((m) => m.training));
    model.eval();
    assert.ok(model.modules().every((m) => !m.training));
  });
});

describe("Dense", () => {
  it("applies the activation to a linear map of the sentence embedding", async () => {
    await assertNoLeak(() =>
      torch.scope(() => {
        const x = torch.tensor([[1, 1]]);
        const initWeight = torch.tensor([[1, 2]]);
        const initBias = torch.tensor([0.5]);
        // 1·1 + 2·1 + 0.5 = 3.5; tanh(3.5) = 0.9981778976111987
        const tanh = new Dense(2, 1, { initWeight, initBias });
        assertClose(values(tanh.forward({ sentenceEmbedding: x }).sentenceEmbedding!), [0.9981778976111987], 1e-6);
        const identity = new Dense(2, 1, {
          initWeight,
          initBias,
          activationFunction: "torch.nn.modules.linear.Identity",
        });
        assertClose(values(identity.forward({ sentenceEmbedding: x }).sentenceEmbedding!), [3.5], 1e-6);
        assert.equal(tanh.getSentenceEmbeddingDimension(), 1);
        assert.deepEqual(tanh.getConfigDict(), {
          in_features: 2,
          out_features: 1,
          bias: true,
          activation_function: "torch.nn.modules.activation.Tanh",
        });
        assert.deepEqual([...tanh.namedParameters().keys()], ["linear.weight", "linear.bias"]);
        tanh.dispose();
        identity.dispose();
      }),
    );
  });

  it("accepts short activation names and rejects unknown ones", () => {
    const relu = new Dense(2, 2, { activationFunction: "ReLU" });
    assert.equal(relu.activationFunction, "torch.nn.modules.activation.ReLU");
    relu.dispose();
    assert.throws(() => new Dense(2, 2, { activationFunction: "Swish" }), /unknown activation function 'Swish'/);
  });
});

describe("Normalize", () => {
  it("divides each sentence embedding by its L2 norm", () => {
    torch.scope(() => {
      const out = new Normalize().forward({
        sentenceEmbedding: torch.tensor([
          [3, 4],
          [0, 0],
        ]),
      }).sentenceEmbedding!;
      // [3, 4] / 5; a zero row stays zero (eps 1e-12)
      assertClose(values(out), [0.6, 0.8, 0, 0], 1e-6);
    });
  });
});

describe("StaticEmbedding", () => {
  const tokenizer = () => Tokenizer.fromFolder(path.join(bertParityDir, "tokenizer"));

  it("averages the vectors of each text's tokens, without special tokens; an empty text gives zeros", async () => {
    const tok = tokenizer();
    const vocab = tok.vocabSize;
    // Row i of the table is [i, 2i]: the mean of ids is then easy to derive.
    const weights = torch.stack([torch.arange(0, vocab), torch.arange(0, vocab).mul(2)], 1);
    const staticEmbedding = new StaticEmbedding(tok, { embeddingWeights: weights });
    weights.dispose();
    await assertNoLeak(() =>
      torch.scope(() => {
        const features = staticEmbedding.tokenize(["the cat", "hello , world", ""]);
        assert.deepEqual(Object.keys(features), ["inputIds", "attentionMask"]);
        const ids = [
          tok.encodeIds("the cat", { addSpecialTokens: false }).ids,
          tok.encodeIds("hello , world", { addSpecialTokens: false }).ids,
        ];
        assert.ok(!ids[0]!.includes(tok.tokenToId("[CLS]")!), "no special tokens");
        const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
        const out = staticEmbedding.forward(features).sentenceEmbedding!;
        assertClose(values(out), [mean(ids[0]!), 2 * mean(ids[0]!), mean(ids[1]!), 2 * mean(ids[1]!), 0, 0], 1e-4);
      }),
    );
    assert.equal(staticEmbedding.getSentenceEmbeddingDimension(), 2);
    staticEmbedding.dispose();
  });

  it("trains from scratch: only the used rows get gradient, 1/n per occurrence as EmbeddingBag mean", () => {
    torch.manualSeed(0);
    const tok = tokenizer();
    const staticEmbedding = new StaticEmbedding(tok, { embeddingDim: 4 });
    assert.deepEqual(staticEmbedding.embedding.weight.shape, [tok.vocabSize, 4]);
    torch.scope(() => {
      const features = staticEmbedding.tokenize(["the cat", "cat"]);
      staticEmbedding.forward(features).sentenceEmbedding!.sum().backward();
      const grad = staticEmbedding.embedding.weight.grad!;
      const [the, cat] = tok.encodeIds("the cat", { addSpecialTokens: false }).ids as [number, number];
      // d/dw of mean(w_the, w_cat) + w_cat: 1/2 for "the", 1/2 + 1 for "cat", 0 elsewhere (padding included)
      assertClose(values(grad.select(0, the)), [0.5, 0.5, 0.5, 0.5], 1e-6);
      assertClose(values(grad.select(0, cat)), [1.5, 1.5, 1.5, 1.5], 1e-6);
      assertClose([grad.abs().sum().item()], [4 * 2], 1e-5);
    });
    staticEmbedding.dispose();
  });

  it("encodes inside a SentenceTransformer", () => {
    torch.manualSeed(1);
    const model = new SentenceTransformer([new StaticEmbedding(tokenizer(), { embeddingDim: 8 })]);
    const rows = model.encode(["the cat sat", "hello"]);
    assert.deepEqual(
      rows.map((r) => r.length),
      [8, 8],
    );
    assert.equal(model.getSentenceEmbeddingDimension(), 8);
    assert.equal(model.maxSeqLength, Infinity);
    model.dispose();
  });
});

describe("SentenceTransformer construction", () => {
  it("needs a module and an input module to tokenize", () => {
    assert.throws(() => new SentenceTransformer([]), /expected at least one module/);
    const model = new SentenceTransformer([new Normalize()]);
    assert.throws(() => model.tokenize(["a"]), /first module \(Normalize\) has no tokenize method/);
    assert.equal(model.getSentenceEmbeddingDimension(), null);
  });

  it("checks the default prompt against the prompts", () => {
    const pooling = new Pooling(4);
    assert.throws(
      () => new SentenceTransformer([pooling], { prompts: { query: "q: " }, defaultPromptName: "doc" }),
      /default prompt name 'doc' not found in the configured prompts \(keys: query\)/,
    );
    const model = new SentenceTransformer([pooling], { truncateDim: 2 });
    assert.deepEqual(model.prompts, { query: "", document: "" });
    assert.equal(model.getSentenceEmbeddingDimension(), 2);
  });
});
