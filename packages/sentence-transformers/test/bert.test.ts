import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as torch from "@stts/torch";
import { functional as F, type Tensor } from "@stts/torch";
import { BertConfig } from "../src/models/bert-config.js";
import { BertModel, bertActivation, extendedAttentionMask } from "../src/models/bert.js";
import { BertForMaskedLM, BertLMHeadModel, tieEncoderDecoder } from "../src/models/bert-lm-head.js";
import {
  CheckpointError,
  createEncoder,
  loadEncoder,
  registerArchitecture,
  saveEncoder,
  supportedModelTypes,
  architectureFor,
} from "../src/models/registry.js";
import { assertClose, bertParityDir, handleCount, tempFolder, tidy, values } from "./bert-util.js";

const TINY = {
  model_type: "bert",
  vocab_size: 30,
  hidden_size: 8,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 16,
  max_position_embeddings: 12,
  type_vocab_size: 2,
};

function tinyModel(seed: number, extra: Record<string, unknown> = {}): BertModel {
  torch.manualSeed(seed);
  return createEncoder({ ...TINY, ...extra }) as BertModel;
}

/** Two rows, the second padded: ids [batch 2, seq 6]. */
function batch(): { inputIds: Tensor; attentionMask: Tensor; tokenTypeIds: Tensor } {
  return {
    inputIds: torch
      .tensor([
        [2, 5, 7, 9, 11, 3],
        [2, 4, 6, 3, 0, 0],
      ])
      .long(),
    attentionMask: torch
      .tensor([
        [1, 1, 1, 1, 1, 1],
        [1, 1, 1, 1, 0, 0],
      ])
      .long(),
    tokenTypeIds: torch
      .tensor([
        [0, 0, 0, 1, 1, 1],
        [0, 0, 1, 1, 0, 0],
      ])
      .long(),
  };
}

/** Writes folder/config.json and folder/model.safetensors from a state map. */
function writeCheckpoint(folder: string, config: Record<string, unknown>, state: Map<string, Tensor>): void {
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, "config.json"), JSON.stringify(config));
  torch.saveSafetensorsSync(path.join(folder, "model.safetensors"), state, { format: "pt" });
}

/** Expects `fn` to throw a CheckpointError whose message contains every string of `parts`. */
function throwsNaming(fn: () => unknown, parts: string[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof CheckpointError, `expected a CheckpointError, got ${String(error)}`);
    for (const part of parts) assert.ok(error.message.includes(part), `message lacks '${part}': ${error.message}`);
    return true;
  });
}

describe("BertConfig", () => {
  it("takes transformers' BertConfig defaults for missing fields", () => {
    const config = BertConfig.fromJson({});
    assert.equal(config.vocabSize, 30522);
    assert.equal(config.hiddenSize, 768);
    assert.equal(config.numHiddenLayers, 12);
    assert.equal(config.numAttentionHeads, 12);
    assert.equal(config.intermediateSize, 3072);
    assert.equal(config.hiddenAct, "gelu");
    assert.equal(config.hiddenDropoutProb, 0.1);
    assert.equal(config.attentionProbsDropoutProb, 0.1);
    assert.equal(config.maxPositionEmbeddings, 512);
    assert.equal(config.typeVocabSize, 2);
    assert.equal(config.layerNormEps, 1e-12);
    assert.equal(config.padTokenId, 0);
    assert.equal(config.positionEmbeddingType, "absolute");
    assert.equal(config.isDecoder, false);
    assert.equal(config.addCrossAttention, false);
    assert.equal(config.attentionHeadSize, 64);
  });

  it("reads config.json's snake_case fields into camelCase ones and keeps unknown fields", () => {
    const config = BertConfig.fromJson({ ...TINY, layer_norm_eps: 1e-7, transformers_version: "4.33.0" });
    assert.equal(config.hiddenSize, 8);
    assert.equal(config.intermediateSize, 16);
    assert.equal(config.layerNormEps, 1e-7);
    assert.equal(config.attentionHeadSize, 4);
    const json = config.toJson();
    assert.equal(json.transformers_version, "4.33.0");
    assert.equal(json.hidden_size, 8);
    assert.equal(json.model_type, "bert");
    assert.ok(!("is_decoder" in json), "generic fields at their default are not written");
    assert.deepEqual(Object.keys(json), [...Object.keys(json)].sort());
    assert.equal(BertConfig.fromJson({ ...TINY, is_decoder: true }).toJson().is_decoder, true);
  });

  it("names the field and the file for a value of the wrong type", () => {
    assert.throws(
      () => BertConfig.fromJson({ hidden_size: "32" }, "/models/x/config.json"),
      /\/models\/x\/config\.json.*'hidden_size' \(hiddenSize\) must be a positive integer, got "32"/,
    );
    assert.throws(() => BertConfig.fromJson({ hidden_dropout_prob: 1.5 }), /'hidden_dropout_prob'.*\[0, 1\]/);
    assert.throws(() => BertConfig.fromJson({ is_decoder: "yes" }), /'is_decoder'.*true or false/);
  });

  it("rejects a hidden size that is not a multiple of the number of heads", () => {
    assert.throws(
      () => new BertConfig({ hiddenSize: 10, numAttentionHeads: 4 }),
      /'hidden_size' \(10\) must be a multiple of 'num_attention_heads' \(4\)/,
    );
  });

  it("lists the supported activations for an unknown hidden_act", () => {
    assert.throws(
      () => BertConfig.fromJson({ hidden_act: "swish" }),
      /'hidden_act'.*"gelu", "gelu_new", "gelu_pytorch_tanh", "relu", got "swish"/,
    );
  });

  it("refuses relative position embeddings and cross-attention without is_decoder", () => {
    assert.throws(() => BertConfig.fromJson({ position_embedding_type: "relative_key" }), /'position_embedding_type'/);
    assert.throws(() => BertConfig.fromJson({ add_cross_attention: true }), /'add_cross_attention'.*'is_decoder'/);
  });
});

describe("architecture registry", () => {
  it("names the file and lists the supported model types for an unknown model_type", () => {
    assert.throws(
      () => createEncoder({ model_type: "roberta" }, "/models/r/config.json"),
      /\/models\/r\/config\.json has model_type "roberta".*supported model types: "bert"/,
    );
    assert.throws(() => createEncoder({ hidden_size: 8 }, "c.json"), /c\.json has no string 'model_type'.*"bert"/);
  });

  it("builds a registered architecture by model_type", () => {
    registerArchitecture("tiny-test-bert", { ...architectureFor({ model_type: "bert" }) });
    assert.ok(supportedModelTypes().includes("bert"));
    assert.ok(supportedModelTypes().includes("tiny-test-bert"));
    const model = createEncoder({ ...TINY, model_type: "tiny-test-bert" }, "x");
    assert.ok(model instanceof BertModel);
    assert.equal(model.hiddenSize, 8);
    assert.equal(model.numLayers, 2);
    model.dispose();
  });
});

describe("BertModel", () => {
  it("names its parameters like Hugging Face's BertModel", () => {
    const model = tinyModel(0);
    const names = [...model.namedParameters().keys()];
    assert.deepEqual(names.slice(0, 5), [
      "embeddings.word_embeddings.weight",
      "embeddings.position_embeddings.weight",
      "embeddings.token_type_embeddings.weight",
      "embeddings.LayerNorm.weight",
      "embeddings.LayerNorm.bias",
    ]);
    assert.deepEqual(names.slice(5, 21), [
      "encoder.layer.0.attention.self.query.weight",
      "encoder.layer.0.attention.self.query.bias",
      "encoder.layer.0.attention.self.key.weight",
      "encoder.layer.0.attention.self.key.bias",
      "encoder.layer.0.attention.self.value.weight",
      "encoder.layer.0.attention.self.value.bias",
      "encoder.layer.0.attention.output.dense.weight",
      "encoder.layer.0.attention.output.dense.bias",
      "encoder.layer.0.attention.output.LayerNorm.weight",
      "encoder.layer.0.attention.output.LayerNorm.bias",
      "encoder.layer.0.intermediate.dense.weight",
      "encoder.layer.0.intermediate.dense.bias",
      "encoder.layer.0.output.dense.weight",
      "encoder.layer.0.output.dense.bias",
      "encoder.layer.0.output.LayerNorm.weight",
      "encoder.layer.0.output.LayerNorm.bias",
    ]);
    assert.deepEqual(names.slice(-2), ["pooler.dense.weight", "pooler.dense.bias"]);
    assert.equal(names.length, 5 + 2 * 16 + 2);
    model.dispose();
  });

  it("numLayers k returns the output of layer k, which is hiddenStates[k] of a full run", () => {
    const model = tinyModel(1).eval();
    tidy(() => {
      const inputs = batch();
      const full = model.forward(inputs, { outputHiddenStates: true, outputAttentions: true });
      assert.equal(full.hiddenStates!.length, 3);
      assert.equal(full.attentions!.length, 2);
      assert.deepEqual(values(full.hiddenStates![2]!), values(full.lastHiddenState));
      const first = model.forward(inputs, { numLayers: 1, outputHiddenStates: true });
      assert.equal(first.hiddenStates!.length, 2);
      assert.deepEqual(values(first.lastHiddenState), values(full.hiddenStates![1]!));
      const none = model.forward(inputs, { numLayers: 0 });
      assert.deepEqual(values(none.lastHiddenState), values(full.hiddenStates![0]!));
    });
    tidy(() =>
      assert.throws(() => model.forward(batch(), { numLayers: 3 }), /numLayers must be an integer in \[0, 2\], got 3/),
    );
    model.dispose();
  });

  it("padding changes nothing for the real tokens, and attention gives padded keys probability 0", () => {
    const model = tinyModel(2).eval();
    tidy(() => {
      const inputs = batch();
      const padded = model.forward(inputs, { outputAttentions: true });
      // Row 1 alone, without its two [PAD] positions.
      const alone = model.forward({
        inputIds: inputs.inputIds.select(0, 1).narrow(0, 0, 4).unsqueeze(0),
        tokenTypeIds: inputs.tokenTypeIds.select(0, 1).narrow(0, 0, 4).unsqueeze(0),
      });
      const realTokens = padded.lastHiddenState.select(0, 1).narrow(0, 0, 4);
      assertClose(values(realTokens), values(alone.lastHiddenState.select(0, 0)), 1e-5, 1e-5);
      const probs = padded.attentions![0]!; // [batch, heads, seq, seq]
      assert.deepEqual(values(probs.select(0, 1).narrow(2, 4, 2)), new Array(2 * 6 * 2).fill(0));
      assertClose(values(probs.sum(-1)), new Array(2 * 2 * 6).fill(1), 1e-6);
    });
    model.dispose();
  });

  it("defaults token type ids to zeros and the attention mask to ones", () => {
    const model = tinyModel(3).eval();
    tidy(() => {
      const { inputIds } = batch();
      const implicit = model.forward({ inputIds });
      const explicit = model.forward({
        inputIds,
        tokenTypeIds: torch.zerosLike(inputIds),
        attentionMask: torch.onesLike(inputIds),
      });
      assert.deepEqual(values(implicit.lastHiddenState), values(explicit.lastHiddenState));
      assert.deepEqual(values(implicit.poolerOutput!), values(explicit.poolerOutput!));
    });
    model.dispose();
  });

  it("computes the pooler as tanh(dense(h[:, 0]))", () => {
    const model = tinyModel(4).eval();
    tidy(() => {
      const out = model.forward(batch());
      const dense = model.pooler!.dense;
      const manual = F.tanh(F.linear(out.lastHiddenState.select(1, 0), dense.weight, dense.bias));
      assertClose(values(out.poolerOutput!), values(manual), 1e-6);
    });
    model.dispose();
  });

  it("applies dropout only in training mode", () => {
    const model = tinyModel(5, { hidden_dropout_prob: 0.5, attention_probs_dropout_prob: 0.5 });
    tidy(() => {
      const inputs = batch();
      model.train();
      const a = values(model.forward(inputs).lastHiddenState);
      const b = values(model.forward(inputs).lastHiddenState);
      assert.notDeepEqual(a, b, "two training passes draw different dropout masks");
      model.eval();
      const c = values(model.forward(inputs).lastHiddenState);
      const d = values(model.forward(inputs).lastHiddenState);
      assert.deepEqual(c, d, "eval mode is deterministic");
      assert.notDeepEqual(a, c);
    });
    model.dispose();
  });

  it("masks future positions in a decoder", () => {
    const model = tinyModel(6, { is_decoder: true }).eval();
    tidy(() => {
      const ids = torch.tensor([[2, 5, 7, 9]]).long();
      const changed = torch.tensor([[2, 5, 7, 20]]).long();
      const a = model.forward({ inputIds: ids }).lastHiddenState.narrow(1, 0, 3);
      const b = model.forward({ inputIds: changed }).lastHiddenState.narrow(1, 0, 3);
      assert.deepEqual(values(a), values(b));
    });
    model.dispose();
  });

  it("builds the additive mask from the dtype's most negative value", () => {
    tidy(() => {
      const mask = torch.tensor([[1, 0]]).long();
      // (1 - mask) * torch.finfo(dtype).min: float32 min = -3.4028234663852886e38, float64 min = -1.7976931348623157e308;
      // kept positions are (1 - 1) * min = -0.0, as in transformers.
      assert.deepEqual(values(extendedAttentionMask(mask, "float32")), [-0, -3.4028234663852886e38]);
      assert.deepEqual(values(extendedAttentionMask(mask, "float64")), [-0, -1.7976931348623157e308]);
      const causal = extendedAttentionMask(torch.tensor([[1, 1]]).long(), "float32", true);
      assert.deepEqual(causal.shape, [1, 1, 2, 2]);
      assert.deepEqual(values(causal), [-0, -3.4028234663852886e38, -0, -0]);
    });
  });

  it("implements hidden_act gelu (erf), gelu_new / gelu_pytorch_tanh (tanh approximation) and relu", () => {
    tidy(() => {
      const x = torch.tensor([-1, 0.5, 1]);
      // 0.5 x (1 + erf(x / sqrt 2)): torch.nn.functional.gelu(torch.tensor([-1., .5, 1.], dtype=torch.float64))
      const erf = [-0.15865525393145707, 0.34573123063700656, 0.8413447460685429];
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): F.gelu(..., approximate="tanh") in float64
      const tanh = [-0.15880800939172324, 0.34571400982514394, 0.8411919906082768];
      assertClose(values(bertActivation("gelu", x)), erf, 1e-6);
      assertClose(values(bertActivation("gelu_new", x)), tanh, 1e-6);
      assertClose(values(bertActivation("gelu_pytorch_tanh", x)), tanh, 1e-6);
      assert.deepEqual(values(bertActivation("relu", x)), [0, 0.5, 1]);
    });
  });

  it("rejects inputs longer than max_position_embeddings and masks of another shape", () => {
    const model = tinyModel(7);
    tidy(() => {
      assert.throws(
        () => model.forward({ inputIds: torch.zeros([1, 13]).long() }),
        /13 tokens, more than max_position_embeddings \(12\)/,
      );
      assert.throws(
        () => model.forward({ inputIds: torch.zeros([2, 4]).long(), attentionMask: torch.ones([2, 5]).long() }),
        /attentionMask must have inputIds' shape \[2, 4\], got \[2, 5\]/,
      );
    });
    model.dispose();
  });

  it("frees every intermediate tensor of a forward and backward pass", () => {
    const model = tinyModel(8);
    tidy(() => {
      const out = model.forward(batch(), { outputHiddenStates: true, outputAttentions: true });
      out.lastHiddenState.mean().backward();
    });
    model.zeroGrad();
    const before = handleCount();
    model.dispose();
    assert.equal(handleCount(), before - model.namedParameters().size, "dispose frees the parameters");
  });
});

describe("loadEncoder and saveEncoder", () => {
  it("round-trips a model through save and load with identical outputs", () => {
    const folder = tempFolder("bert-roundtrip");
    const model = tinyModel(10).eval();
    saveEncoder(model, folder);
    const loaded = loadEncoder(folder);
    assert.equal(loaded.training, false, "loadEncoder returns eval mode, like from_pretrained");
    tidy(() => {
      const a = model.forward(batch());
      const b = loaded.forward(batch());
      assert.deepEqual(values(b.lastHiddenState), values(a.lastHiddenState));
      assert.deepEqual(values(b.poolerOutput!), values(a.poolerOutput!));
    });
    const config = JSON.parse(fs.readFileSync(path.join(folder, "config.json"), "utf8")) as Record<string, unknown>;
    assert.deepEqual(config.architectures, ["BertModel"]);
    assert.equal(config.model_type, "bert");
    assert.equal(config.num_hidden_layers, 2);
    assert.deepEqual(Object.keys(config), [...Object.keys(config)].sort());
    const saved = torch.scope(() => {
      const { tensors, metadata } = torch.loadSafetensorsSync(path.join(folder, "model.safetensors"));
      return { keys: [...tensors.keys()].sort(), metadata };
    });
    assert.deepEqual(saved.metadata, { format: "pt" });
    assert.deepEqual(saved.keys, [...model.namedParameters().keys()].sort());
    model.dispose();
    loaded.dispose();
  });

  it("loads a BertForMaskedLM-style checkpoint: strips 'bert.', ignores 'cls.*', builds no pooler", () => {
    const folder = tempFolder("bert-prefixed");
    const model = tinyModel(11).eval();
    torch.scope(() => {
      const state = new Map<string, Tensor>();
      for (const [key, value] of model.stateDict()) if (!key.startsWith("pooler.")) state.set(`bert.${key}`, value);
      state.set("bert.embeddings.position_ids", torch.arange(0, 12).unsqueeze(0));
      state.set("cls.predictions.bias", torch.zeros([30]));
      state.set("cls.predictions.transform.dense.weight", torch.zeros([8, 8]));
      writeCheckpoint(folder, TINY, state);
    });
    const loaded = loadEncoder(folder) as BertModel;
    assert.equal(loaded.pooler, null);
    assert.ok(![...loaded.namedParameters().keys()].some((key) => key.startsWith("pooler.")));
    tidy(() => {
      const out = loaded.forward(batch());
      assert.equal(out.poolerOutput, null);
      assert.deepEqual(values(out.lastHiddenState), values(model.forward(batch()).lastHiddenState));
    });
    model.dispose();
    loaded.dispose();
  });

  it("names the folder, the file and the key for a missing, an unexpected and a wrongly shaped weight", () => {
    const model = tinyModel(12);
    const root = tempFolder("bert-broken");
    const variants: [string, (state: Map<string, Tensor>) => void, string[]][] = [
      [
        "missing",
        (state) => state.delete("encoder.layer.1.output.dense.weight"),
        ["lacks 1 weight", "'encoder.layer.1.output.dense.weight'"],
      ],
      [
        "unexpected",
        (state) => state.set("encoder.layer.2.output.dense.weight", torch.zeros([8, 16])),
        ["does not", "'encoder.layer.2.output.dense.weight'"],
      ],
      [
        "shape",
        (state) => state.set("embeddings.word_embeddings.weight", torch.zeros([31, 8])),
        ["'embeddings.word_embeddings.weight' has shape [31, 8]", "[30, 8]"],
      ],
    ];
    for (const [name, edit, parts] of variants) {
      const folder = path.join(root, name);
      torch.scope(() => {
        const state = model.stateDict();
        edit(state);
        writeCheckpoint(folder, TINY, state);
      });
      const before = handleCount();
      throwsNaming(() => loadEncoder(folder), [folder, "model.safetensors", ...parts]);
      assert.equal(handleCount(), before, `${name}: a failed load frees everything`);
    }
    model.dispose();
  });

  it("names the folder and file when config.json or model.safetensors is missing or config.json is wrong", () => {
    const root = tempFolder("bert-files");
    const empty = path.join(root, "empty");
    fs.mkdirSync(empty);
    throwsNaming(() => loadEncoder(empty), [empty, "config.json"]);
    const pickled = path.join(root, "pickled");
    fs.mkdirSync(pickled);
    fs.writeFileSync(path.join(pickled, "config.json"), JSON.stringify(TINY));
    fs.writeFileSync(path.join(pickled, "pytorch_model.bin"), "not read");
    throwsNaming(() => loadEncoder(pickled), [pickled, "model.safetensors", "pytorch_model.bin"]);
    const wrongType = path.join(root, "wrong-type");
    const model = tinyModel(13);
    torch.scope(() => writeCheckpoint(wrongType, { ...TINY, num_hidden_layers: "2" }, model.stateDict()));
    assert.throws(
      () => loadEncoder(wrongType),
      new RegExp(`${path.join(wrongType, "config.json").replace(/[/.-]/g, "\\$&")}.*'num_hidden_layers'.*got "2"`),
    );
    model.dispose();
  });

  it("re-saving a Hugging Face BertModel checkpoint reproduces its model.safetensors byte for byte", () => {
    const folders = fs
      .readdirSync(bertParityDir)
      .map((name) => path.join(bertParityDir, name))
      .filter((folder) => {
        const cases = path.join(folder, "cases.json");
        return (
          fs.existsSync(cases) &&
          (JSON.parse(fs.readFileSync(cases, "utf8")) as { layout?: string }).layout === "BertModel"
        );
      });
    assert.ok(folders.length > 0, `no BertModel-layout checkpoint in ${bertParityDir}`);
    for (const folder of folders) {
      const model = loadEncoder(folder);
      const out = tempFolder("bert-resave");
      saveEncoder(model, out);
      model.dispose();
      const original = fs.readFileSync(path.join(folder, "model.safetensors"));
      assert.ok(original.equals(fs.readFileSync(path.join(out, "model.safetensors"))), `${folder}: bytes differ`);
      const a = JSON.parse(fs.readFileSync(path.join(folder, "config.json"), "utf8")) as Record<string, unknown>;
      const b = JSON.parse(fs.readFileSync(path.join(out, "config.json"), "utf8")) as Record<string, unknown>;
      for (const [key, value] of Object.entries(a)) assert.deepEqual(b[key], value, `config.json '${key}'`);
    }
  });
});

describe("BertLMHeadModel, BertForMaskedLM and tieEncoderDecoder", () => {
  const DECODER = { ...TINY, is_decoder: true, add_cross_attention: true };

  it("ties every encoder weight to the decoder's except the pooler; cross-attention stays decoder-only", () => {
    const encoder = tinyModel(20);
    torch.manualSeed(21);
    const decoder = new BertLMHeadModel(DECODER);
    const encoderNames = [...encoder.namedParameters().keys()];
    const tied = tieEncoderDecoder(encoder, decoder);
    assert.deepEqual(
      tied,
      encoderNames.filter((name) => !name.startsWith("pooler.")),
    );
    for (const name of tied) assert.equal(encoder.getParameter(name), decoder.getParameter(`bert.${name}`), name);
    assert.notEqual(encoder.getParameter("pooler.dense.weight"), undefined);
    const decoderNames = [...decoder.namedParameters().keys()];
    assert.ok(decoderNames.includes("bert.encoder.layer.0.crossattention.self.query.weight"));
    assert.ok(!decoderNames.some((name) => name.startsWith("bert.pooler.")));
    assert.deepEqual(decoderNames.slice(-5), [
      "cls.predictions.bias",
      "cls.predictions.transform.dense.weight",
      "cls.predictions.transform.dense.bias",
      "cls.predictions.transform.LayerNorm.weight",
      "cls.predictions.transform.LayerNorm.bias",
    ]);
    assert.equal(decoder.cls.predictions.outputWeight, decoder.bert.embeddings.wordEmbeddings.weight);
    decoder.dispose();
    encoder.dispose();
  });

  it("adds up the gradients an encoder loss and a decoder loss send to a tied weight", () => {
    const encoder = tinyModel(22).eval();
    torch.manualSeed(23);
    const decoder = new BertLMHeadModel(DECODER).eval();
    tieEncoderDecoder(encoder, decoder);
    const shared = encoder.getParameter("encoder.layer.0.intermediate.dense.weight");
    const encoderLoss = () => encoder.forward(batch()).lastHiddenState.pow(2).mean();
    const decoderLoss = () => {
      const memory = torch.ones([1, 1, 8]);
      return decoder
        .forward({ inputIds: torch.tensor([[2, 5, 7]]).long(), encoderHiddenStates: memory })
        .logsumexp(-1)
        .mean();
    };
    const gradOf = (loss: () => Tensor) =>
      torch.scope(() => {
        encoder.zeroGrad();
        loss().backward();
        return values(shared.grad!);
      });
    const a = gradOf(encoderLoss);
    const b = gradOf(decoderLoss);
    const both = gradOf(() => encoderLoss().add(decoderLoss()));
    assertClose(
      both,
      a.map((x, i) => x + b[i]!),
      1e-6,
      1e-5,
    );
    encoder.zeroGrad();
    decoder.dispose();
    encoder.dispose();
  });

  it("computes LM logits as transform(h) · word_embeddingsᵀ + cls.predictions.bias", () => {
    torch.manualSeed(24);
    const decoder = new BertLMHeadModel({ ...TINY, is_decoder: true }).eval();
    tidy(() => {
      const inputIds = torch.tensor([[2, 5, 7]]).long();
      const logits = decoder.forward({ inputIds });
      assert.deepEqual(logits.shape, [1, 3, 30]);
      const h = decoder.bert.forward({ inputIds }).lastHiddenState;
      const head = decoder.cls.predictions;
      const manual = F.linear(head.transform.forward(h), decoder.bert.embeddings.wordEmbeddings.weight, head.bias);
      assert.deepEqual(values(logits), values(manual));
    });
    decoder.dispose();
  });

  it("BertForMaskedLM.fromPretrained loads 'bert.*' + 'cls.predictions.*' without the tied decoder weight", () => {
    torch.manualSeed(25);
    const source = new BertForMaskedLM(TINY);
    torch.noGrad(() => source.cls.predictions.bias.normal_());
    const folder = tempFolder("bert-mlm");
    torch.scope(() => writeCheckpoint(folder, { ...TINY, architectures: ["BertForMaskedLM"] }, source.stateDict()));
    const loaded = BertForMaskedLM.fromPretrained(folder);
    tidy(() => {
      const inputs = batch();
      assert.deepEqual(values(loaded.forward(inputs)), values(source.eval().forward(inputs)));
    });
    torch.scope(() => {
      const state = source.stateDict();
      state.delete("cls.predictions.bias");
      writeCheckpoint(folder, TINY, state);
    });
    throwsNaming(() => BertForMaskedLM.fromPretrained(folder), [folder, "model.safetensors", "'cls.predictions.bias'"]);
    source.dispose();
    loaded.dispose();
  });
});
