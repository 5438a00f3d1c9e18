// DenoisingAutoEncoderLoss (TSDAE) against the BERT parity fixtures (shared/parity/bert/README.md, TSDAE
// section), run through the loss class itself, plus its other paths and the word-deletion noise.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as torch from "@stts/torch";
import { optim, type Tensor } from "@stts/torch";
import { DenoisingAutoEncoderLoss } from "../src/losses/denoising-auto-encoder-loss.js";
import type { Features } from "../src/features.js";
import { BertModel } from "../src/models/bert.js";
import { createEncoder, saveEncoder } from "../src/models/registry.js";
import { Tokenizer } from "../src/models/tokenizer.js";
import { Pooling, type PoolingMode } from "../src/modules/pooling.js";
import { Transformer } from "../src/modules/transformer.js";
import { SentenceTransformer } from "../src/sentence-transformer.js";
import { SeededRandom } from "../src/training/samplers.js";
import { damage, denoisingAutoEncoderDataset, detokenize, wordTokenize } from "../src/util/noise.js";
import {
  assertClose,
  bertParityDir,
  bertUncasedTokenizerDir,
  handleCount,
  readJson,
  stsbSentences,
  tempFolder,
  tinyBertDir,
  values,
  type FixtureArray,
} from "./models-util.js";

type Json = Record<string, unknown>;

interface TsdaeCase {
  name: string;
  pooling: PoolingMode;
  texts: string[];
  damaged_texts: string[];
  source: Record<"input_ids" | "attention_mask" | "token_type_ids", FixtureArray>;
  target: Record<"input_ids" | "attention_mask" | "token_type_ids", FixtureArray>;
  expected: {
    sentence_embedding: FixtureArray;
    loss: FixtureArray;
    grad_norms: Record<string, number | null>;
    grads: Record<string, FixtureArray & { rows?: number[] }>;
  };
}

interface TsdaeSet {
  folder: string;
  encoderFolder: string;
  tied: Record<string, string>;
  cases: TsdaeCase[];
}

/** Every TSDAE set of the parity directory: subfolders whose cases.json names an `encoder_checkpoint`. */
function tsdaeSets(): TsdaeSet[] {
  return fs
    .readdirSync(bertParityDir)
    .sort()
    .map((name) => path.join(bertParityDir, name))
    .filter((folder) => fs.existsSync(path.join(folder, "cases.json")))
    .map((folder) => ({ folder, json: readJson(path.join(folder, "cases.json")) as Json }))
    .filter(({ json }) => typeof json.encoder_checkpoint === "string")
    .map(({ folder, json }) => ({
      folder,
      encoderFolder: path.join(bertParityDir, json.encoder_checkpoint as string),
      tied: json.tied_encoder_params as Record<string, string>,
      cases: json.cases as TsdaeCase[],
    }));
}

const tolerance = (readJson(path.join(bertParityDir, "manifest.json")) as Json).recommended_tolerance as {
  atol: number;
  rtol: number;
  grad_norm_atol: number;
  grad_norm_rtol: number;
};

/** The fixture's encoder checkpoint as a SentenceTransformer: its Transformer + Pooling(mode), in eval mode. */
function encoderModel(encoderFolder: string, mode: PoolingMode): SentenceTransformer {
  const transformer = Transformer.load(encoderFolder);
  const pooling = new Pooling(transformer.getWordEmbeddingDimension(), { poolingMode: mode });
  return new SentenceTransformer([transformer, pooling]).eval();
}

function bertOf(model: SentenceTransformer): BertModel {
  const first = model.moduleList[0];
  assert.ok(first instanceof Transformer && first.autoModel instanceof BertModel);
  return first.autoModel;
}

/** Asserts a tokenized batch equals the fixture's (every array of `expected`). */
function assertTokenized(features: Features, expected: TsdaeCase["source"], what: string): void {
  const pairs: [Tensor | undefined, FixtureArray][] = [
    [features.inputIds, expected.input_ids],
    [features.attentionMask, expected.attention_mask],
    [features.tokenTypeIds, expected.token_type_ids],
  ];
  for (const [actual, want] of pairs) {
    assert.ok(actual !== undefined, `${what}: missing tensor`);
    assert.deepEqual(actual.shape, want.shape, `${what}: shape`);
    assert.deepEqual(values(actual), want.data, `${what}: ids`);
  }
}

/** The parameter a fixture gradient name refers to: "decoder.<name>" in the loss, "encoder.<name>" in the BERT encoder. */
function parameterOf(loss: DenoisingAutoEncoderLoss, encoder: BertModel, name: string): Tensor | undefined {
  if (name.startsWith("decoder.")) return loss.namedParameters().get(name);
  if (name.startsWith("encoder.")) return encoder.namedParameters().get(name.slice("encoder.".length));
  return undefined;
}

function decoderExtras(folder: string): Map<string, Tensor> {
  return torch.loadSafetensorsSync(path.join(folder, "decoder_extras.safetensors")).tensors;
}

describe("DenoisingAutoEncoderLoss: parity with the TSDAE fixtures", () => {
  const sets = tsdaeSets();

  it(`finds TSDAE cases in ${bertParityDir}`, () => {
    assert.ok(sets.length > 0, "no folder with an encoder_checkpoint cases.json");
    assert.ok(sets.every((set) => set.cases.length > 0));
  });

  for (const set of sets) {
    for (const c of set.cases) {
      it(`${path.basename(set.folder)}/${c.name}: loss, tying and every gradient through the loss class`, () => {
        const before = handleCount();
        const model = encoderModel(set.encoderFolder, c.pooling);
        const encoder = bertOf(model);
        const loss = new DenoisingAutoEncoderLoss(model);
        try {
          // The decoder the loss built from the encoder, with the fixture's decoder-only weights.
          torch.scope(() => {
            const { missingKeys, unexpectedKeys } = loss.decoder.loadStateDict(decoderExtras(set.folder), {
              strict: false,
            });
            assert.deepEqual(unexpectedKeys, []);
            assert.deepEqual(missingKeys.sort(), loss.tiedParameters.map((name) => `bert.${name}`).sort());
          });
          assert.deepEqual([...loss.tiedParameters].sort(), Object.keys(set.tied).sort());
          for (const [encoderKey, decoderKey] of Object.entries(set.tied)) {
            assert.ok(encoder.getParameter(encoderKey) === loss.decoder.getParameter(decoderKey), encoderKey);
          }
          assert.equal(loss.decoder.training, false, "the decoder follows the model's eval mode");

          torch.scope(() => {
            // The fixture's source/target batches are the model tokenizer's output for damaged_texts/texts.
            const source = model.tokenize(c.damaged_texts);
            const target = model.tokenize(c.texts);
            assertTokenized(source, c.source, "source");
            assertTokenized(target, c.target, "target");

            const value = loss.forward([source, target], null);
            value.backward();
            const { atol, rtol } = tolerance;
            assertClose(values(value), c.expected.loss.data, atol, rtol, "loss");
            const embedding = torch.noGrad(() => model.forward(model.tokenize(c.damaged_texts)).sentenceEmbedding!);
            assertClose(values(embedding), c.expected.sentence_embedding.data, atol, rtol, "sentence_embedding");

            const listed = new Set<Tensor>();
            for (const [name, norm] of Object.entries(c.expected.grad_norms)) {
              const parameter = parameterOf(loss, encoder, name);
              assert.ok(parameter !== undefined, `no parameter ${name}`);
              listed.add(parameter);
              const grad = parameter.grad;
              if (norm === null) {
                assert.equal(grad, null, `${name}: expected no gradient`);
                continue;
              }
              assert.ok(grad !== null, `${name}: no gradient`);
              const got = grad.double().norm().item();
              assertClose([got], [norm], tolerance.grad_norm_atol, tolerance.grad_norm_rtol, `grad_norms[${name}]`);
            }
            for (const name of loss.namedParameters().keys()) {
              assert.ok(listed.has(loss.getParameter(name)), `the fixture lists no gradient for ${name}`);
            }
            for (const [key, want] of Object.entries(c.expected.grads)) {
              const rows = /^(.*)\[rows\]$/.exec(key);
              const grad = parameterOf(loss, encoder, rows?.[1] ?? key)?.grad;
              assert.ok(grad != null, `grads[${key}]: no gradient`);
              const got = rows === null ? grad : grad.indexSelect(0, torch.tensor(want.rows ?? [], { dtype: "int64" }));
              assert.deepEqual(got.shape, want.shape, `grads[${key}]: shape`);
              assertClose(values(got), want.data, atol, rtol, `grads[${key}]`);
            }
          });
        } finally {
          loss.dispose();
          model.dispose();
        }
        assert.equal(handleCount(), before, "tensors leaked");
      });
    }
  }
});

describe("DenoisingAutoEncoderLoss", () => {
  it("declares its columns, labels, config and citation", () => {
    assert.deepEqual(DenoisingAutoEncoderLoss.inputColumns, { min: 2, max: 2, roles: ["damaged", "original"] });
    assert.equal(DenoisingAutoEncoderLoss.labelKind, "none");
    const model = SentenceTransformer.loadFolder(tinyBertDir);
    const loss = new DenoisingAutoEncoderLoss(model);
    try {
      assert.deepEqual(loss.getConfigDict(), { decoderNameOrPath: null, tieEncoderDecoder: true });
      assert.match(loss.citation, /@inproceedings\{wang-2021-TSDAE,/);
      assert.match(loss.citation, /arxiv\.org\/abs\/2104\.06979/);
      // decoder-only parts start as transformers initialises them: N(0, 0.02) weights, zero biases, unit gains
      const transform = loss.decoder.cls.predictions.transform;
      const weights = values(transform.dense.weight);
      const std = Math.sqrt(weights.reduce((s, w) => s + w * w, 0) / weights.length);
      assert.ok(Math.abs(std - 0.02) < 0.002, `LM-head transform weight std ${std}, expected about 0.02`);
      assert.ok(values(transform.dense.bias!).every((b) => b === 0));
      assert.ok(values(transform.layerNorm.weight!).every((g) => g === 1));
      assert.ok(values(loss.decoder.cls.predictions.bias).every((b) => b === 0));
      assert.throws(() => loss.forward([model.tokenize(["only one column"])], null), /expects 2 input columns/);
    } finally {
      loss.dispose();
      model.dispose();
    }
  });

  it("needs a decoder folder when untied, and a decoder as wide as the sentence embeddings", () => {
    const model = SentenceTransformer.loadFolder(tinyBertDir);
    try {
      assert.throws(
        () => new DenoisingAutoEncoderLoss(model, { tieEncoderDecoder: false }),
        /decoderNameOrPath \(a model folder\) is required when tieEncoderDecoder is false/,
      );
      const wider = path.join(bertParityDir, "bert-tiny-h48-l3-mlm");
      assert.throws(
        () => new DenoisingAutoEncoderLoss(model, { decoderNameOrPath: wider, tieEncoderDecoder: false }),
        /hidden sizes differ: encoder 32, decoder 48/,
      );
      assert.ok(
        model.parameters().every((p) => !p.isDisposed),
        "a failed construction leaves the model intact",
      );
      const poolingOnly = new SentenceTransformer([new Pooling(32)]);
      assert.throws(
        () => new DenoisingAutoEncoderLoss(poolingOnly),
        /first module must be a Transformer over a BERT encoder \(the decoder is a BertLMHeadModel\), got Pooling/,
      );
    } finally {
      model.dispose();
    }
  });

  it("untied: loads the decoder from a folder, shares nothing, and disposes all of it", () => {
    const before = handleCount();
    const model = SentenceTransformer.loadFolder(tinyBertDir);
    const loss = new DenoisingAutoEncoderLoss(model, { decoderNameOrPath: tinyBertDir, tieEncoderDecoder: false });
    try {
      assert.deepEqual(loss.tiedParameters, []);
      assert.deepEqual(loss.getConfigDict(), { decoderNameOrPath: tinyBertDir, tieEncoderDecoder: false });
      const encoder = bertOf(model);
      const ownTensors = new Set(model.parameters());
      for (const [name, parameter] of encoder.namedParameters()) {
        if (name.startsWith("pooler.")) continue;
        const decoderParameter = loss.decoder.getParameter(`bert.${name}`);
        assert.ok(!ownTensors.has(decoderParameter), `${name} must not be shared`);
        assert.ok(decoderParameter.equal(parameter), `${name}: the decoder starts from the checkpoint's weights`);
      }
      const value = torch.scope(() => {
        const v = loss.forward([model.tokenize(["man the to"]), model.tokenize(["The man went to the city."])], null);
        v.backward();
        return v.item();
      });
      assert.ok(Number.isFinite(value) && value > 0);
      const encoderHasGradients = torch.scope(() => model.parameters().some((p) => p.grad !== null)); // grad: a new handle
      assert.ok(encoderHasGradients, "the encoder gets gradients through the embedding");
    } finally {
      loss.dispose();
      model.dispose();
    }
    assert.equal(handleCount(), before, "tensors leaked");
  });

  it("untied with another vocabulary: re-tokenizes the original texts with the decoder's tokenizer", () => {
    const dir = tempFolder("tsdae-decoder-");
    const model = SentenceTransformer.loadFolder(tinyBertDir).eval();
    const encoderConfig = bertOf(model).configJson;
    const random = createEncoder({ ...encoderConfig, vocab_size: 30522, num_hidden_layers: 1 });
    try {
      saveEncoder(random, dir.dir);
      for (const file of ["tokenizer.json", "tokenizer_config.json", "vocab.txt"]) {
        fs.copyFileSync(path.join(bertUncasedTokenizerDir, file), path.join(dir.dir, file));
      }
      const loss = new DenoisingAutoEncoderLoss(model, { decoderNameOrPath: dir.dir, tieEncoderDecoder: false });
      try {
        const damaged = ["man the to", "born"];
        const texts = ["The man went to the city to find work.", "She was born in a small town."];
        torch.scope(() => {
          const got = loss.forward([model.tokenize(damaged), model.tokenize(texts)], null).item();
          // by hand: the decoder's own tokenizer (bert-base-uncased ids) on the texts, then TSDAE's cross-entropy
          const ids = Tokenizer.fromFolder(bertUncasedTokenizerDir).encodeBatch(texts).inputIds!; // [batch, seq]
          const length = ids.size(1);
          const embedding = model.forward(model.tokenize(damaged)).sentenceEmbedding!; // [batch, 32]
          const logits = loss.decoder.forward({
            inputIds: ids.narrow(1, 0, length - 1),
            encoderHiddenStates: embedding.unsqueeze(1),
          }); // [batch, seq - 1, 30522]
          const labels = ids.narrow(1, 1, length - 1).reshape([-1]);
          const want = torch.functional.crossEntropy(logits.reshape([-1, 30522]), labels, { ignoreIndex: 0 }).item();
          assertClose([got], [want], 1e-6, 1e-6, "re-tokenized loss");
          assert.ok(
            values(ids).some((id) => id >= 1200),
            "the decoder ids are bert-base-uncased ids, outside the tiny vocab",
          );
        });
      } finally {
        loss.dispose();
      }
    } finally {
      random.dispose();
      model.dispose();
      dir.cleanup();
    }
  });

  it("trains: AdamW on a fixed TSDAE batch lowers the loss, and encoder and decoder stay tied", () => {
    const before = handleCount();
    torch.manualSeed(7);
    const model = SentenceTransformer.loadFolder(tinyBertDir).train();
    const loss = new DenoisingAutoEncoderLoss(model);
    const parameters = [...new Set([...model.parameters(), ...loss.parameters()])];
    const optimizer = new optim.AdamW(parameters, { lr: 3e-3, weightDecay: 0 });
    try {
      assert.ok(loss.decoder.training, "the decoder follows the model's training mode");
      const data = denoisingAutoEncoderDataset(stsbSentences(8), { seed: 3 });
      const damaged = data.column("damaged") as string[];
      const original = data.column("original") as string[];
      const losses: number[] = [];
      for (let step = 0; step < 12; step++) {
        losses.push(
          torch.scope(() => {
            optimizer.zeroGrad();
            const value = loss.forward([model.tokenize(damaged), model.tokenize(original)], null);
            value.backward();
            optimizer.step();
            return value.item();
          }),
        );
      }
      assert.ok(losses.every(Number.isFinite));
      assert.ok(losses.at(-1)! < losses[0]! * 0.9, `loss went from ${losses[0]} to ${losses.at(-1)}`);
      const encoder = bertOf(model);
      for (const name of loss.tiedParameters) {
        assert.ok(encoder.getParameter(name) === loss.decoder.getParameter(`bert.${name}`), `${name} still tied`);
      }
    } finally {
      optimizer.dispose();
      loss.dispose();
      model.dispose();
    }
    assert.equal(handleCount(), before, "tensors leaked");
  });
});

describe("damage (TSDAE word deletion)", () => {
  /** An rng returning the given numbers in order. */
  const sequence = (xs: number[]) => {
    let i = 0;
    return () => xs[i++]!;
  };

  it("keeps a word when its draw exceeds delRatio", () => {
    // draws 0.5 0.7 0.1 0.9 vs 0.6: keep b and d
    assert.equal(damage("a b c d", { delRatio: 0.6 }, sequence([0.5, 0.7, 0.1, 0.9])), "b d");
  });

  it("keeps one word at random when every word was deleted", () => {
    // draws 0.1 0.2 0.3 delete all three; the extra draw 0.5 picks index floor(0.5 * 3) = 1
    assert.equal(damage("x y z", { delRatio: 0.6 }, sequence([0.1, 0.2, 0.3, 0.5])), "y");
  });

  it("splits punctuation off and joins it back", () => {
    assert.deepEqual(wordTokenize("The man, who was tired, went home (early)."), [
      "The",
      "man",
      ",",
      "who",
      "was",
      "tired",
      ",",
      "went",
      "home",
      "(",
      "early",
      ")",
      ".",
    ]);
    assert.deepEqual(wordTokenize("Don't pay $3.50 for e-mail!"), ["Don't", "pay", "$", "3.50", "for", "e-mail", "!"]);
    for (const text of [
      "The man, who was tired, went home (early).",
      "Don't pay $3.50 for e-mail!",
      'He said "yes".',
    ]) {
      assert.equal(damage(text, { delRatio: 0 }, new SeededRandom(1)), text);
      assert.equal(detokenize(wordTokenize(text)), text);
    }
    assert.equal(damage("   ", {}, new SeededRandom(1)), "   ", "text without words is returned as is");
  });

  it("is deterministic for a seed and deletes about delRatio of the words", () => {
    const text = Array.from({ length: 5000 }, (_, i) => `w${i}`).join(" ");
    const a = damage(text, {}, new SeededRandom(5));
    assert.equal(damage(text, {}, new SeededRandom(5)), a);
    assert.notEqual(damage(text, {}, new SeededRandom(6)), a);
    const kept = a.split(" ").length / 5000;
    assert.ok(Math.abs(kept - 0.4) < 0.02, `kept ${kept} of the words, expected about 1 - 0.6`);
    assert.equal(damage(text, { delRatio: 1 }, new SeededRandom(5)).split(" ").length, 1);
    assert.throws(() => damage(text, { delRatio: 1.5 }, new SeededRandom(5)), /delRatio must be a number in \[0, 1\]/);
  });

  it("denoisingAutoEncoderDataset pairs each sentence with its damaged copy", () => {
    const sentences = ["The man went to the city to find work.", "She was born in a small town."];
    const data = denoisingAutoEncoderDataset(sentences, { seed: 9 });
    assert.deepEqual(data.columnNames, ["damaged", "original"]);
    assert.deepEqual(data.column("original"), sentences);
    const rng = new SeededRandom(9);
    assert.deepEqual(
      data.column("damaged"),
      sentences.map((s) => damage(s, {}, rng)),
    );
  });
});
