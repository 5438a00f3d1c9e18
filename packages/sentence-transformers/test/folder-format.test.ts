import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as torch from "@stts/torch";
import { nn } from "@stts/torch";
import { Tokenizer } from "../src/models/tokenizer.js";
import { Dense } from "../src/modules/dense.js";
import { Normalize } from "../src/modules/normalize.js";
import { StaticEmbedding } from "../src/modules/static-embedding.js";
import type { Features } from "../src/features.js";
import { SentenceTransformer } from "../src/sentence-transformer.js";
import { cachedSnapshot, hubCacheDir, snapshotDownload } from "../src/hub/download.js";
import {
  assertClose,
  assertNoLeak,
  bertParityDir,
  fixtureCase,
  readJson,
  tempFolder,
  tinyBertDir,
} from "./models-util.js";

const sortedKeys = (value: unknown) => Object.keys(value as object).sort();
const flat = (rows: Float32Array[]) => rows.flatMap((r) => Array.from(r));
const texts = ["The cat sat on the mat.", "Hello, world", "A quick brown fox jumps over the lazy dog."];

/** A copy of the parity checkpoint folder to modify. */
function copyOfTinyBert(dir: string, name = "model"): string {
  const target = path.join(dir, name);
  fs.cpSync(tinyBertDir, target, { recursive: true });
  fs.rmSync(path.join(target, "cases.json"));
  return target;
}

describe("SentenceTransformer folder format", () => {
  let model: SentenceTransformer;
  let temp: { dir: string; cleanup: () => void };
  before(async () => {
    temp = tempFolder();
    const base = await SentenceTransformer.load(tinyBertDir);
    torch.manualSeed(3);
    const [transformer, pooling] = base.moduleList;
    model = new SentenceTransformer([transformer!, pooling!, new Dense(32, 8), new Normalize()], {
      prompts: { query: "query: ", document: "" },
      similarityFnName: "dot",
    });
    model.eval();
  });
  after(() => {
    model.dispose();
    temp.cleanup();
  });

  it("saves and loads back a model that gives identical embeddings", async () => {
    const folder = path.join(temp.dir, "roundtrip");
    model.save(folder);
    const loaded = await SentenceTransformer.load(folder);
    try {
      assert.deepEqual(
        loaded.moduleList.map((m) => m.constructor.name),
        ["Transformer", "Pooling", "Dense", "Normalize"],
      );
      assertClose(flat(loaded.encode(texts)), flat(model.encode(texts)), 0, 0, "embeddings");
      assert.deepEqual(loaded.prompts, { query: "query: ", document: "" });
      assert.equal(loaded.similarityFnName, "dot");
      assert.equal(loaded.maxSeqLength, 16);
      assert.equal(loaded.getSentenceEmbeddingDimension(), 8);
      assert.equal(loaded.training, false);
    } finally {
      loaded.dispose();
    }
  });

  it("writes the reference's files and JSON keys", async () => {
    const folder = path.join(temp.dir, "layout");
    model.save(folder);
    const list = (sub: string) => fs.readdirSync(path.join(folder, sub)).sort();
    assert.deepEqual(list(""), [
      "1_Pooling",
      "2_Dense",
      "3_Normalize",
      "README.md", // the model card, as the reference writes it
      "config.json",
      "config_sentence_transformers.json",
      "model.safetensors",
      "modules.json",
      "sentence_bert_config.json",
      "special_tokens_map.json",
      "tokenizer.json",
      "tokenizer_config.json",
      "vocab.txt",
    ]);
    assert.deepEqual(list("1_Pooling"), ["config.json"]);
    assert.deepEqual(list("2_Dense"), ["config.json", "model.safetensors"]);
    assert.deepEqual(list("3_Normalize"), []);

    const modules = readJson(path.join(folder, "modules.json")) as Record<string, unknown>[];
    assert.deepEqual(modules, [
      { idx: 0, name: "0", path: "", type: "sentence_transformers.models.Transformer" },
      { idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.models.Pooling" },
      { idx: 2, name: "2", path: "2_Dense", type: "sentence_transformers.models.Dense" },
      { idx: 3, name: "3", path: "3_Normalize", type: "sentence_transformers.models.Normalize" },
    ]);
    for (const entry of modules) assert.deepEqual(Object.keys(entry), ["idx", "name", "path", "type"]);

    const config = readJson(path.join(folder, "config_sentence_transformers.json")) as Record<string, unknown>;
    assert.deepEqual(Object.keys(config), [
      "model_type",
      "__version__",
      "prompts",
      "default_prompt_name",
      "similarity_fn_name",
    ]);
    assert.equal(config.model_type, "SentenceTransformer");
    assert.deepEqual(Object.keys(config.__version__ as object), ["sentence_transformers", "transformers", "pytorch"]);
    assert.deepEqual(config.prompts, { query: "query: ", document: "" });
    assert.equal(config.default_prompt_name, null);
    assert.equal(config.similarity_fn_name, "dot");

    assert.deepEqual(readJson(path.join(folder, "sentence_bert_config.json")), {
      max_seq_length: 16,
      do_lower_case: false,
    });
    // 1_Pooling/config.json: exactly the keys of the checkpoint written by Python sentence-transformers
    const pooling = readJson(path.join(folder, "1_Pooling", "config.json"));
    assert.deepEqual(sortedKeys(pooling), sortedKeys(readJson(path.join(tinyBertDir, "1_Pooling", "config.json"))));
    assert.deepEqual(pooling, readJson(path.join(tinyBertDir, "1_Pooling", "config.json")));
    assert.deepEqual(readJson(path.join(folder, "2_Dense", "config.json")), {
      in_features: 32,
      out_features: 8,
      bias: true,
      activation_function: "torch.nn.modules.activation.Tanh",
    });
    const dense = await torch.readSafetensorsHeader(path.join(folder, "2_Dense", "model.safetensors"));
    assert.deepEqual(dense.tensors.map((t) => t.name).sort(), ["linear.bias", "linear.weight"]);
    assert.deepEqual(dense.metadata, { format: "pt" });
    // The encoder's weights keep BertModel's names (no "auto_model." prefix), as save_pretrained writes them.
    const encoder = await torch.readSafetensorsHeader(path.join(folder, "model.safetensors"));
    assert.deepEqual(
      encoder.tensors.map((t) => t.name).sort(),
      (await torch.readSafetensorsHeader(path.join(tinyBertDir, "model.safetensors"))).tensors
        .map((t) => t.name)
        .sort(),
    );
    // The tokenizer files are the ones it was loaded with.
    for (const name of ["tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"]) {
      assert.deepEqual(readJsonOrText(path.join(folder, name)), readJsonOrText(path.join(tinyBertDir, name)), name);
    }
  });

  it("replaces a saved model in place, keeping other files and leaving no temporary folder", () => {
    const folder = path.join(temp.dir, "again");
    model.save(folder);
    fs.writeFileSync(path.join(folder, "notes.txt"), "mine");
    model.save(folder);
    assert.equal(fs.readFileSync(path.join(folder, "notes.txt"), "utf8"), "mine");
    assert.deepEqual(
      fs.readdirSync(temp.dir).filter((name) => name.includes(".tmp-")),
      [],
    );
    assert.deepEqual(
      fs.readdirSync(folder).filter((name) => name.includes(".old-")),
      [],
    );
  });

  it("writes nothing when saving fails half-way", () => {
    class Custom extends nn.Module {
      override forward(features: Features): Features {
        return features;
      }
    }
    const broken = new SentenceTransformer([...model.moduleList, new Custom()]);
    const folder = path.join(temp.dir, "broken");
    assert.throws(() => broken.save(folder), /no module type is registered for Custom/);
    assert.equal(fs.existsSync(folder), false);
    assert.deepEqual(
      fs.readdirSync(temp.dir).filter((name) => name.startsWith(".broken")),
      [],
    );
  });

  it("loads legacy type names and the pooling_mode form of the Pooling config", async () => {
    const folder = copyOfTinyBert(temp.dir, "legacy");
    fs.writeFileSync(
      path.join(folder, "modules.json"),
      JSON.stringify([
        { idx: 0, name: "0", path: "", type: "sentence_transformers.models.Transformer.Transformer" },
        { idx: 1, name: "1", path: "1_Pooling", type: "Pooling" },
      ]),
    );
    fs.writeFileSync(
      path.join(folder, "1_Pooling", "config.json"),
      JSON.stringify({ word_embedding_dimension: 32, pooling_mode: "mean" }),
    );
    fs.renameSync(path.join(folder, "sentence_bert_config.json"), path.join(folder, "sentence_distilbert_config.json"));
    const loaded = await SentenceTransformer.load(folder);
    try {
      const c = fixtureCase("bert-tiny-h32-l2", "texts_single");
      assert.equal(loaded.maxSeqLength, 16);
      assertClose(flat(loaded.encode(c.texts!)), c.expected.pooled.mean.data, 1e-4, 1e-4);
    } finally {
      loaded.dispose();
    }
  });

  it("loads a plain Hugging Face folder as Transformer + mean Pooling, with a note", async () => {
    const folder = copyOfTinyBert(temp.dir, "plain");
    for (const name of ["modules.json", "sentence_bert_config.json", "1_Pooling"])
      fs.rmSync(path.join(folder, name), { recursive: true });
    const notes: string[] = [];
    const loaded = await SentenceTransformer.load(folder, { log: (message) => notes.push(message) });
    try {
      assert.deepEqual(notes, [
        `No sentence-transformers model found with name ${folder}. Creating a new one with mean pooling.`,
      ]);
      assert.deepEqual(
        loaded.moduleList.map((m) => m.constructor.name),
        ["Transformer", "Pooling"],
      );
      // max_seq_length inferred as min(max_position_embeddings 64, model_max_length 64)
      assert.equal(loaded.maxSeqLength, 64);
      // Rows 0 and 2 of texts_single are not truncated at 16 tokens: same mean pooling.
      const c = fixtureCase("bert-tiny-h32-l2", "texts_single");
      const rows = loaded.encode([c.texts![0]!, c.texts![2]!]);
      const expected = c.expected.pooled.mean.data;
      assertClose(flat(rows), [...expected.slice(0, 32), ...expected.slice(64, 96)], 1e-4, 1e-4);
    } finally {
      loaded.dispose();
    }
  });

  it("saves a StaticEmbedding model as the reference: in the root folder, embedding.weight and tokenizer.json", async () => {
    torch.manualSeed(5);
    const staticModel = new SentenceTransformer([
      new StaticEmbedding(Tokenizer.fromFolder(path.join(bertParityDir, "tokenizer")), { embeddingDim: 6 }),
    ]);
    const folder = path.join(temp.dir, "static");
    staticModel.save(folder);
    // sentence-transformers v4+ saves a first input module (InputModule.save_in_root) in the root folder.
    assert.deepEqual(readJson(path.join(folder, "modules.json")), [
      { idx: 0, name: "0", path: "", type: "sentence_transformers.models.StaticEmbedding" },
    ]);
    assert.deepEqual(fs.readdirSync(folder).sort(), [
      "README.md",
      "config_sentence_transformers.json",
      "model.safetensors",
      "modules.json",
      "tokenizer.json",
    ]);
    const header = await torch.readSafetensorsHeader(path.join(folder, "model.safetensors"));
    assert.deepEqual(
      header.tensors.map((t) => [t.name, t.shape]),
      [["embedding.weight", [1200, 6]]],
    );
    const loaded = await SentenceTransformer.load(folder);
    assertClose(flat(loaded.encode(texts)), flat(staticModel.encode(texts)), 0);
    loaded.dispose();
    staticModel.dispose();
  });

  it("leaks no tensor handle through save and load", async () => {
    const folder = path.join(temp.dir, "leak");
    await assertNoLeak(async () => {
      model.save(folder);
      const loaded = await SentenceTransformer.load(folder);
      loaded.encode(texts);
      loaded.dispose();
    });
  });
});

describe("SentenceTransformer.load errors", () => {
  let temp: { dir: string; cleanup: () => void };
  before(() => {
    temp = tempFolder();
  });
  after(() => temp.cleanup());

  it("names a missing module file", async () => {
    const folder = copyOfTinyBert(temp.dir, "missing");
    fs.rmSync(path.join(folder, "1_Pooling", "config.json"));
    await assert.rejects(SentenceTransformer.load(folder), (error: Error) => {
      assert.match(error.message, /1_Pooling/);
      assert.match(error.message, /config\.json/);
      return true;
    });
  });

  it("names the file and key of a wrongly typed config field", async () => {
    const folder = copyOfTinyBert(temp.dir, "wrong-type");
    fs.writeFileSync(
      path.join(folder, "sentence_bert_config.json"),
      JSON.stringify({ max_seq_length: "long", do_lower_case: false }),
    );
    await assert.rejects(
      SentenceTransformer.load(folder),
      new RegExp(
        `Transformer: ${escape(path.join(folder, "sentence_bert_config.json"))}: 'max_seq_length' must be an integer >= 1, got "long"`,
      ),
    );
    const other = copyOfTinyBert(temp.dir, "wrong-similarity");
    fs.writeFileSync(
      path.join(other, "config_sentence_transformers.json"),
      JSON.stringify({ similarity_fn_name: "cos" }),
    );
    await assert.rejects(
      SentenceTransformer.load(other),
      /config_sentence_transformers\.json: 'similarity_fn_name' must be one of cosine, dot, euclidean, manhattan, got "cos"/,
    );
  });

  it("names an unknown module type and the modules.json entry", async () => {
    const folder = copyOfTinyBert(temp.dir, "unknown-type");
    const modules = readJson(path.join(folder, "modules.json")) as Record<string, unknown>[];
    modules[1]!.type = "my_package.FancyPooling";
    fs.writeFileSync(path.join(folder, "modules.json"), JSON.stringify(modules));
    await assert.rejects(SentenceTransformer.load(folder), (error: Error) => {
      assert.match(error.message, /modules\.json: entry 1/);
      assert.match(
        error.message,
        /unknown module type 'my_package\.FancyPooling' \(known: sentence_transformers\.models\.Transformer/,
      );
      return true;
    });
    modules[1]!.type = 3;
    fs.writeFileSync(path.join(folder, "modules.json"), JSON.stringify(modules));
    await assert.rejects(SentenceTransformer.load(folder), /modules\.json: entry 1: 'type' must be a string, got 3/);
  });

  it("says when a folder is not a model and when a Dense activation is unknown", async () => {
    const empty = path.join(temp.dir, "empty");
    fs.mkdirSync(empty);
    await assert.rejects(SentenceTransformer.load(empty), /has neither modules\.json .* nor config\.json/);
    const dense = path.join(temp.dir, "dense");
    fs.mkdirSync(dense);
    fs.writeFileSync(
      path.join(dense, "config.json"),
      JSON.stringify({ in_features: 2, out_features: 2, activation_function: "my.Swish" }),
    );
    assert.throws(
      () => Dense.load(dense),
      /Dense: .*config\.json: 'activation_function' must be one of torch\.nn\.modules\.activation\.Tanh, .*got "my\.Swish"/,
    );
    fs.writeFileSync(path.join(dense, "config.json"), JSON.stringify({ in_features: 2, out_features: 2 }));
    assert.throws(() => Dense.load(dense), /Dense: missing file .*model\.safetensors/);
  });
});

describe("Hub loading", () => {
  let temp: { dir: string; cleanup: () => void };
  const saved = {
    HF_HOME: process.env.HF_HOME,
    HF_HUB_OFFLINE: process.env.HF_HUB_OFFLINE,
    HF_HUB_CACHE: process.env.HF_HUB_CACHE,
  };
  before(() => {
    temp = tempFolder();
    process.env.HF_HOME = temp.dir;
    process.env.HF_HUB_OFFLINE = "1";
    delete process.env.HF_HUB_CACHE;
  });
  after(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    temp.cleanup();
  });

  it("reads a model from the cache in huggingface_hub's layout when offline", async () => {
    assert.equal(hubCacheDir(), path.join(temp.dir, "hub"));
    const commit = "0123456789abcdef0123456789abcdef01234567";
    const repo = path.join(temp.dir, "hub", "models--stts-test--bert-tiny");
    copyOfTinyBert(path.join(repo, "snapshots"), commit);
    fs.mkdirSync(path.join(repo, "refs"), { recursive: true });
    fs.writeFileSync(path.join(repo, "refs", "main"), commit);
    const snapshot = path.join(repo, "snapshots", commit);
    assert.equal(await snapshotDownload("stts-test/bert-tiny"), snapshot);
    assert.equal(cachedSnapshot("stts-test/bert-tiny", { revision: commit }), snapshot);
    const model = await SentenceTransformer.load("stts-test/bert-tiny");
    try {
      const c = fixtureCase("bert-tiny-h32-l2", "texts_single");
      assertClose(flat(model.encode(c.texts!)), c.expected.pooled.mean.data, 1e-4, 1e-4);
    } finally {
      model.dispose();
    }
  });

  it("says clearly that an uncached model cannot be loaded offline", async () => {
    await assert.rejects(
      SentenceTransformer.load("stts-test/not-downloaded"),
      new RegExp(
        `'stts-test/not-downloaded' \\(revision main\\) is not in the Hugging Face cache at ${escape(path.join(temp.dir, "hub", "models--stts-test--not-downloaded"))}, and HF_HUB_OFFLINE is set`,
      ),
    );
    await assert.rejects(
      SentenceTransformer.load("not a/valid//id"),
      /is neither an existing folder nor a Hugging Face Hub id/,
    );
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function readJsonOrText(file: string): unknown {
  const text = fs.readFileSync(file, "utf8");
  return file.endsWith(".json") ? JSON.parse(text) : text;
}
