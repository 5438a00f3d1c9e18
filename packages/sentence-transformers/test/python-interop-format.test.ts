// The folder format as the Python sentence-transformers writes and reads it, learned by running
// scripts/check-python-interop.py against sentence-transformers 6.0.1 (transformers 5.18.0, torch 2.13) and
// by reading v5.1.2's source. The JSON constants below are what Python wrote, pasted; the folders are built
// at test time from the tiny BERT parity checkpoint (no Python here: CI has none).
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as torch from "@stts/torch";
import { Tokenizer } from "../src/models/tokenizer.js";
import { Dense } from "../src/modules/dense.js";
import { findModuleType } from "../src/modules/module-registry.js";
import { Normalize } from "../src/modules/normalize.js";
import { Pooling } from "../src/modules/pooling.js";
import { StaticEmbedding } from "../src/modules/static-embedding.js";
import { Transformer } from "../src/modules/transformer.js";
import { SentenceTransformer } from "../src/sentence-transformer.js";
import {
  assertClose,
  assertNoLeak,
  bertParityDir,
  fixtureCase,
  readJson,
  tempFolder,
  tinyBertDir,
  values,
} from "./models-util.js";

type Json = Record<string, unknown>;

/** The JSON type of every value (objects recursively), to compare layouts without the values. */
function typesOf(value: unknown): unknown {
  if (value === null) return "null";
  if (Array.isArray(value)) return value.map(typesOf);
  if (typeof value === "object") {
    return Object.fromEntries(Object.entries(value as Json).map(([key, v]) => [key, typesOf(v)]));
  }
  return Number.isInteger(value) ? "integer" : typeof value;
}

const flat = (rows: ArrayLike<number>[]) => rows.flatMap((r) => Array.from(r));
const writeJson = (file: string, value: unknown) => fs.writeFileSync(file, JSON.stringify(value, null, 4));

// ---- what sentence-transformers 6.0.1 wrote for Transformer(tiny) + Pooling(32, "mean") + Dense + Normalize ----
const V6_MODULES = [
  { idx: 0, name: "0", path: "", type: "sentence_transformers.base.modules.transformer.Transformer" },
  { idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.sentence_transformer.modules.pooling.Pooling" },
  { idx: 2, name: "2", path: "2_Dense", type: "sentence_transformers.base.modules.dense.Dense" },
  { idx: 3, name: "3", path: "3_Normalize", type: "sentence_transformers.base.modules.normalize.Normalize" },
];
/** json.dump(indent=2, sort_keys=True) in v6; same keys (unsorted) in v5. */
const V6_CONFIG_SENTENCE_TRANSFORMERS = {
  __version__: { pytorch: "2.13.0+cpu", sentence_transformers: "6.0.1", transformers: "5.18.0" },
  default_prompt_name: "query",
  model_type: "SentenceTransformer",
  prompts: { classification: "Classify: ", document: "passage: ", query: "query: " },
  similarity_fn_name: "dot",
};
/** v6 no longer writes max_seq_length / do_lower_case here: they live in tokenizer_config.json. */
const V6_SENTENCE_BERT_CONFIG = {
  transformer_task: "feature-extraction",
  modality_config: { text: { method: "forward", method_output_name: "last_hidden_state" } },
  module_output_name: "token_embeddings",
};
const V6_POOLING = { embedding_dimension: 32, pooling_mode: "mean", include_prompt: true };
const V6_DENSE = {
  in_features: 32,
  out_features: 32,
  bias: false,
  activation_function: "torch.nn.modules.linear.Identity",
  module_input_name: "sentence_embedding",
  module_output_name: "sentence_embedding",
};
const V6_NORMALIZE = { module_input_name: "sentence_embedding", module_output_name: "sentence_embedding" };
/** transformers 5.18.0's BertConfig.save_pretrained (model_max_length: what Python set max_seq_length to). */
const TRANSFORMERS_5_CONFIG = {
  add_cross_attention: false,
  architectures: ["BertModel"],
  attention_probs_dropout_prob: 0.1,
  bos_token_id: null,
  classifier_dropout: null,
  dtype: "float32",
  eos_token_id: null,
  hidden_act: "gelu",
  hidden_dropout_prob: 0.1,
  hidden_size: 32,
  initializer_range: 0.02,
  intermediate_size: 64,
  is_decoder: false,
  layer_norm_eps: 1e-12,
  max_position_embeddings: 64,
  model_type: "bert",
  num_attention_heads: 2,
  num_hidden_layers: 2,
  pad_token_id: 0,
  position_embedding_type: "absolute",
  tie_word_embeddings: true,
  transformers_version: "5.18.0",
  type_vocab_size: 2,
  use_cache: true,
  vocab_size: 1200,
};
const TRANSFORMERS_5_TOKENIZER_CONFIG = {
  backend: "tokenizers",
  clean_up_tokenization_spaces: true,
  cls_token: "[CLS]",
  do_lower_case: true,
  is_local: true,
  local_files_only: false,
  mask_token: "[MASK]",
  model_max_length: 16,
  pad_token: "[PAD]",
  sep_token: "[SEP]",
  strip_accents: null,
  tokenize_chinese_chars: true,
  tokenizer_class: "BertTokenizer",
  unk_token: "[UNK]",
};

/** The tiny checkpoint rewritten in v6's layout (files as transformers 5 / sentence-transformers 6 write them). */
function v6Folder(dir: string, name: string, files: Record<string, unknown> = {}): string {
  const folder = path.join(dir, name);
  fs.mkdirSync(folder, { recursive: true });
  for (const file of ["model.safetensors", "tokenizer.json"])
    fs.copyFileSync(path.join(tinyBertDir, file), path.join(folder, file));
  const all: Record<string, unknown> = {
    "modules.json": V6_MODULES.slice(0, 2),
    "config_sentence_transformers.json": {
      ...V6_CONFIG_SENTENCE_TRANSFORMERS,
      prompts: { document: "", query: "" },
      default_prompt_name: null,
      similarity_fn_name: "cosine",
    },
    "sentence_bert_config.json": V6_SENTENCE_BERT_CONFIG,
    "config.json": TRANSFORMERS_5_CONFIG,
    "tokenizer_config.json": TRANSFORMERS_5_TOKENIZER_CONFIG,
    "1_Pooling/config.json": V6_POOLING,
    ...files,
  };
  for (const [file, value] of Object.entries(all)) {
    fs.mkdirSync(path.dirname(path.join(folder, file)), { recursive: true });
    writeJson(path.join(folder, file), value);
  }
  return folder;
}

describe("folders as sentence-transformers v5.1.2 writes them (what stts saves)", () => {
  let temp: { dir: string; cleanup: () => void };
  let folder: string;
  before(() => {
    temp = tempFolder();
    const base = SentenceTransformer.loadFolder(tinyBertDir);
    const [transformer, pooling] = base.moduleList;
    torch.manualSeed(11);
    const model = new SentenceTransformer([transformer!, pooling!, new Dense(32, 8), new Normalize()], {
      prompts: { query: "query: ", document: "" },
      defaultPromptName: "query",
    });
    folder = path.join(temp.dir, "model");
    model.save(folder);
    model.dispose();
  });
  after(() => temp.cleanup());

  it("has the reference's file names and module folders", () => {
    const files = (sub: string) => fs.readdirSync(path.join(folder, sub)).sort();
    // The reference writes README.md, config_sentence_transformers.json, modules.json, the Transformer's
    // files (save_pretrained's config.json + model.safetensors, the tokenizer's, sentence_bert_config.json)
    // in the root, and "<idx>_<Class>" folders: 1_Pooling/config.json, 2_Dense/{config.json,model.safetensors},
    // 3_Normalize/ (empty in v5; v6 adds a config.json there).
    for (const name of [
      "README.md",
      "config.json",
      "config_sentence_transformers.json",
      "model.safetensors",
      "modules.json",
      "sentence_bert_config.json",
      "tokenizer.json",
      "tokenizer_config.json",
    ]) {
      assert.ok(files("").includes(name), `missing ${name}`);
    }
    assert.deepEqual(files("1_Pooling"), ["config.json"]);
    assert.deepEqual(files("2_Dense"), ["config.json", "model.safetensors"]);
    assert.deepEqual(files("3_Normalize"), []);
  });

  it("writes config_sentence_transformers.json with v5's keys and value types", () => {
    const config = readJson(path.join(folder, "config_sentence_transformers.json")) as Json;
    assert.deepEqual(Object.keys(config), [
      "model_type",
      "__version__",
      "prompts",
      "default_prompt_name",
      "similarity_fn_name",
    ]);
    assert.deepEqual(typesOf(config), {
      model_type: "string",
      __version__: { sentence_transformers: "string", transformers: "string", pytorch: "string" },
      prompts: { query: "string", document: "string" },
      default_prompt_name: "string",
      similarity_fn_name: "string",
    });
    // v6 writes the same keys and types (sorted): the file is interchangeable.
    assert.deepEqual(Object.keys(config).sort(), Object.keys(V6_CONFIG_SENTENCE_TRANSFORMERS).sort());
    assert.deepEqual(typesOf(config.__version__), typesOf(V6_CONFIG_SENTENCE_TRANSFORMERS.__version__));
    assert.equal(config.model_type, "SentenceTransformer");
    assert.equal(config.similarity_fn_name, "cosine"); // written even when never set, as the reference
  });

  it("writes modules.json with v5's type names (which v6 maps to its own) and paths", () => {
    assert.deepEqual(readJson(path.join(folder, "modules.json")), [
      { idx: 0, name: "0", path: "", type: "sentence_transformers.models.Transformer" },
      { idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.models.Pooling" },
      { idx: 2, name: "2", path: "2_Dense", type: "sentence_transformers.models.Dense" },
      { idx: 3, name: "3", path: "3_Normalize", type: "sentence_transformers.models.Normalize" },
    ]);
    // Same keys and value types as v6's entries.
    for (const entry of readJson(path.join(folder, "modules.json")) as Json[]) {
      assert.deepEqual(typesOf(entry), typesOf(V6_MODULES[0]));
    }
  });

  it("writes the module configs with v5's keys and value types", () => {
    assert.deepEqual(typesOf(readJson(path.join(folder, "sentence_bert_config.json"))), {
      max_seq_length: "integer",
      do_lower_case: "boolean",
    });
    assert.deepEqual(typesOf(readJson(path.join(folder, "1_Pooling", "config.json"))), {
      word_embedding_dimension: "integer",
      pooling_mode_cls_token: "boolean",
      pooling_mode_mean_tokens: "boolean",
      pooling_mode_max_tokens: "boolean",
      pooling_mode_mean_sqrt_len_tokens: "boolean",
      pooling_mode_weightedmean_tokens: "boolean",
      pooling_mode_lasttoken: "boolean",
      include_prompt: "boolean",
    });
    // module_input_name / module_output_name only when not the default: v6 writes them always, but then
    // a Dense without them (<= v5.0) could not load the folder; v6 defaults them on load.
    assert.deepEqual(readJson(path.join(folder, "2_Dense", "config.json")), {
      in_features: 32,
      out_features: 8,
      bias: true,
      activation_function: "torch.nn.modules.activation.Tanh",
    });
    // Every key stts writes is one v6 writes, with the same type.
    const dense = typesOf(readJson(path.join(folder, "2_Dense", "config.json"))) as Json;
    const v6 = typesOf({ ...V6_DENSE, bias: true }) as Json;
    for (const [key, type] of Object.entries(dense)) assert.equal(type, v6[key], key);
  });

  it("names the safetensors tensors as the reference's state dicts", async () => {
    const dense = await torch.readSafetensorsHeader(path.join(folder, "2_Dense", "model.safetensors"));
    assert.deepEqual(dense.tensors.map((t) => [t.name, t.dtype, t.shape]).sort(), [
      ["linear.bias", "float32", [8]],
      ["linear.weight", "float32", [8, 32]],
    ]);
    const encoder = await torch.readSafetensorsHeader(path.join(folder, "model.safetensors"));
    assert.deepEqual(encoder.metadata, { format: "pt" }); // transformers' from_pretrained requires it
    assert.ok(encoder.tensors.some((t) => t.name === "encoder.layer.1.output.LayerNorm.weight"));
    assert.ok(encoder.tensors.every((t) => !t.name.startsWith("auto_model.")));
  });

  it("saves a first StaticEmbedding in the root folder (save_in_root), embedding.weight [vocab, dim]", async () => {
    torch.manualSeed(12);
    const model = new SentenceTransformer([
      new StaticEmbedding(Tokenizer.fromFolder(path.join(bertParityDir, "tokenizer")), { embeddingDim: 4 }),
    ]);
    const staticFolder = path.join(temp.dir, "static");
    model.save(staticFolder);
    try {
      assert.deepEqual(readJson(path.join(staticFolder, "modules.json")), [
        { idx: 0, name: "0", path: "", type: "sentence_transformers.models.StaticEmbedding" },
      ]);
      assert.deepEqual(fs.readdirSync(staticFolder).sort(), [
        "README.md",
        "config_sentence_transformers.json",
        "model.safetensors",
        "modules.json",
        "tokenizer.json",
      ]);
      const header = await torch.readSafetensorsHeader(path.join(staticFolder, "model.safetensors"));
      assert.deepEqual(
        header.tensors.map((t) => [t.name, t.dtype, t.shape]),
        [["embedding.weight", "float32", [1200, 4]]],
      );
    } finally {
      model.dispose();
    }
  });

  it("still loads a StaticEmbedding saved in 0_StaticEmbedding (older stts, sentence-transformers v3)", () => {
    const model = SentenceTransformer.loadFolder(path.join(temp.dir, "static"));
    const old = path.join(temp.dir, "static-v3");
    fs.mkdirSync(path.join(old, "0_StaticEmbedding"), { recursive: true });
    for (const file of ["model.safetensors", "tokenizer.json"]) {
      fs.copyFileSync(path.join(temp.dir, "static", file), path.join(old, "0_StaticEmbedding", file));
    }
    fs.writeFileSync(
      path.join(old, "modules.json"),
      JSON.stringify([
        { idx: 0, name: "0", path: "0_StaticEmbedding", type: "sentence_transformers.models.StaticEmbedding" },
      ]),
    );
    const loaded = SentenceTransformer.loadFolder(old);
    try {
      const texts = ["the cat", "hello world"];
      assert.deepEqual(flat(loaded.encode(texts)), flat(model.encode(texts)));
    } finally {
      loaded.dispose();
      model.dispose();
    }
  });
});

describe("folders as sentence-transformers v6 writes them (what stts loads)", () => {
  let temp: { dir: string; cleanup: () => void };
  before(() => (temp = tempFolder()));
  after(() => temp.cleanup());

  it("maps v6's module type names to the built-in modules", () => {
    const names = [
      ...V6_MODULES.map((m) => m.type),
      "sentence_transformers.sentence_transformer.modules.static_embedding.StaticEmbedding",
    ];
    assert.deepEqual(
      names.map((name) => findModuleType(name)?.className),
      ["Transformer", "Pooling", "Dense", "Normalize", "StaticEmbedding"],
    );
    assert.equal(findModuleType("sentence_transformers.base.modules.router.Router"), undefined);
  });

  it("loads Transformer + Pooling: v6 configs, transformers 5's config.json and tokenizer_config.json", () => {
    const folder = v6Folder(temp.dir, "mean");
    const model = SentenceTransformer.loadFolder(folder);
    try {
      assert.deepEqual(
        model.moduleList.map((m) => m.constructor.name),
        ["Transformer", "Pooling"],
      );
      // sentence_bert_config.json has no max_seq_length: min(max_position_embeddings 64, model_max_length 16).
      assert.equal(model.maxSeqLength, 16);
      assert.deepEqual(model.prompts, { document: "", query: "" });
      const c = fixtureCase("bert-tiny-h32-l2", "texts_single");
      assertClose(flat(model.encode(c.texts!)), c.expected.pooled.mean.data, 1e-4, 1e-4, "mean");
    } finally {
      model.dispose();
    }
  });

  it("reads max_seq_length from tokenizer_config.json's model_max_length (where v6 stores it)", () => {
    const folder = v6Folder(temp.dir, "maxlen8", {
      "tokenizer_config.json": { ...TRANSFORMERS_5_TOKENIZER_CONFIG, model_max_length: 8 },
    });
    const model = SentenceTransformer.loadFolder(folder);
    try {
      assert.equal(model.maxSeqLength, 8);
      torch.scope(() =>
        assert.deepEqual(model.tokenize(["one two three four five six seven eight nine"]).inputIds!.shape, [1, 8]),
      );
    } finally {
      model.dispose();
    }
  });

  it("concatenates a pooling_mode list in the listed order", () => {
    const folder = v6Folder(temp.dir, "max+cls", {
      "1_Pooling/config.json": { embedding_dimension: 32, pooling_mode: ["max", "cls"], include_prompt: true },
    });
    const model = SentenceTransformer.loadFolder(folder);
    try {
      const c = fixtureCase("bert-tiny-h32-l2", "texts_single");
      const { max, cls } = c.expected.pooled;
      const expected = [0, 1, 2].flatMap((i) => [
        ...max.data.slice(32 * i, 32 * (i + 1)),
        ...cls.data.slice(32 * i, 32 * (i + 1)),
      ]);
      assert.equal(model.getSentenceEmbeddingDimension(), 64);
      assertClose(flat(model.encode(c.texts!)), expected, 1e-4, 1e-4, "max then cls");
    } finally {
      model.dispose();
    }
  });

  it("loads Dense and Normalize with v6's configs, and prompts / similarity from the config", () => {
    // A Dense whose output is 2 · input (identity activation), so the result is the normalized mean pooling.
    const weight = torch.eye(32).mul_(2);
    const dense = new Dense(32, 32, { bias: false, activationFunction: "Identity", initWeight: weight });
    weight.dispose();
    const folder = v6Folder(temp.dir, "dense-normalize", {
      "modules.json": V6_MODULES,
      "config_sentence_transformers.json": V6_CONFIG_SENTENCE_TRANSFORMERS,
      "3_Normalize/config.json": V6_NORMALIZE,
    });
    dense.save(path.join(folder, "2_Dense"));
    dense.dispose();
    writeJson(path.join(folder, "2_Dense", "config.json"), V6_DENSE);
    const model = SentenceTransformer.loadFolder(folder);
    try {
      assert.deepEqual(
        model.moduleList.map((m) => m.constructor.name),
        ["Transformer", "Pooling", "Dense", "Normalize"],
      );
      assert.equal(model.similarityFnName, "dot");
      assert.equal(model.defaultPromptName, "query");
      assert.deepEqual(model.prompts, V6_CONFIG_SENTENCE_TRANSFORMERS.prompts);
      const c = fixtureCase("bert-tiny-h32-l2", "texts_single");
      const mean = c.expected.pooled.mean.data;
      const expected = [0, 1, 2].flatMap((i) => {
        const row = mean.slice(32 * i, 32 * (i + 1));
        const norm = Math.hypot(...row);
        return row.map((x) => x / norm);
      });
      assertClose(flat(model.encode(c.texts!, { prompt: "" })), expected, 1e-5, 1e-4, "normalized 2 · mean");
    } finally {
      model.dispose();
    }
  });

  it("rejects v6 settings it cannot honour, naming the key", () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      [
        "fill-mask",
        { "sentence_bert_config.json": { ...V6_SENTENCE_BERT_CONFIG, transformer_task: "fill-mask" } },
        /'transformer_task' must be "feature-extraction"/,
      ],
      [
        "message-modality",
        {
          "sentence_bert_config.json": {
            ...V6_SENTENCE_BERT_CONFIG,
            modality_config: { message: { method: "forward" } },
          },
        },
        /'modality_config' must be a "text" entry/,
      ],
      [
        "processing",
        {
          "sentence_bert_config.json": {
            ...V6_SENTENCE_BERT_CONFIG,
            processing_kwargs: { text: { padding: "max_length" } },
          },
        },
        /'processing_kwargs' must be empty/,
      ],
      [
        "dup-modes",
        { "1_Pooling/config.json": { embedding_dimension: 32, pooling_mode: ["mean", "mean"] } },
        /pooling mode 'mean' is listed twice/,
      ],
    ];
    for (const [name, files, pattern] of cases) {
      assert.throws(() => SentenceTransformer.loadFolder(v6Folder(temp.dir, name, files)), pattern, name);
    }
    const residual = path.join(temp.dir, "residual");
    new Dense(4, 4).save(residual);
    writeJson(path.join(residual, "config.json"), { ...V6_DENSE, in_features: 4, out_features: 4, use_residual: true });
    assert.throws(() => Dense.load(residual), /Dense: .*'use_residual' must be false/);
  });

  it("leaks no tensor handle loading and encoding a v6 folder", async () => {
    const folder = v6Folder(temp.dir, "leak");
    await assertNoLeak(() => {
      const model = SentenceTransformer.loadFolder(folder);
      model.encode(["a cat"]);
      model.dispose();
    });
  });
});

describe("Pooling configs of both versions", () => {
  const tokens = () =>
    torch.tensor([
      [
        [1, 2],
        [3, -4],
        [5, 6],
      ],
    ]); // [1, 3, 2]
  const mask = () => torch.tensor([[1, 1, 0]], { dtype: "int64" });
  const pool = (pooling: Pooling) =>
    torch.scope(() => values(pooling.forward({ tokenEmbeddings: tokens(), attentionMask: mask() }).sentenceEmbedding!));

  it("reads v6's embedding_dimension and pooling_mode list; concatenates in the listed order", () => {
    const pooling = Pooling.fromConfig({ embedding_dimension: 2, pooling_mode: ["mean", "cls"], include_prompt: true });
    assert.deepEqual(pooling.modes(), ["mean", "cls"]);
    assert.equal(pooling.getSentenceEmbeddingDimension(), 4);
    // mean of the two real tokens [(1+3)/2, (2-4)/2], then the first token [1, 2]
    assert.deepEqual(pool(pooling), [2, -1, 1, 2]);
    // embedding_dimension wins over word_embedding_dimension, as v6's key rename
    assert.equal(Pooling.fromConfig({ word_embedding_dimension: 3, embedding_dimension: 2 }).wordEmbeddingDimension, 2);
  });

  it("writes v5's flags when the order is the reference's, v6's form (byte for byte) otherwise", () => {
    const canonical = new Pooling(2, { poolingMode: ["cls", "mean"] });
    assert.deepEqual(pool(canonical), [1, 2, 2, -1]);
    const config = canonical.toConfig();
    assert.ok("pooling_mode_cls_token" in config && config.pooling_mode_cls_token && config.pooling_mode_mean_tokens);
    const ordered = new Pooling(32, { poolingMode: ["mean", "max"], includePrompt: false });
    const temp = tempFolder();
    try {
      ordered.save(temp.dir);
      // What sentence-transformers 6.0.1 wrote for Pooling(32, ("mean", "max"), include_prompt=False).
      const pythonWrote = [
        "{",
        '    "embedding_dimension": 32,',
        '    "pooling_mode": [',
        '        "mean",',
        '        "max"',
        "    ],",
        '    "include_prompt": false',
        "}",
      ];
      assert.equal(fs.readFileSync(path.join(temp.dir, "config.json"), "utf8"), pythonWrote.join("\n"));
      assert.deepEqual(Pooling.load(temp.dir).modes(), ["mean", "max"]);
    } finally {
      temp.cleanup();
    }
  });
});

describe("Normalize and Transformer configs of v6", () => {
  it("Normalize reads module_input_name / module_output_name and writes them only when not the default", () => {
    const temp = tempFolder();
    try {
      new Normalize().save(path.join(temp.dir, "default"));
      assert.deepEqual(fs.readdirSync(path.join(temp.dir, "default")), []);
      new Normalize({ moduleInputName: "tokenEmbeddings" }).save(path.join(temp.dir, "tokens"));
      assert.deepEqual(readJson(path.join(temp.dir, "tokens", "config.json")), {
        module_input_name: "token_embeddings",
        module_output_name: "token_embeddings",
      });
      const loaded = Normalize.load(path.join(temp.dir, "tokens"));
      assert.equal(loaded.moduleInputName, "tokenEmbeddings");
      const out = torch.scope(() =>
        values(
          loaded.forward({
            tokenEmbeddings: torch.tensor([
              [
                [3, 4],
                [0, 2],
              ],
            ]),
          }).tokenEmbeddings!,
        ),
      );
      assertClose(out, [0.6, 0.8, 0, 1], 1e-7);
    } finally {
      temp.cleanup();
    }
  });

  it("Transformer accepts v6's sentence_bert_config.json at its text-embedding values", () => {
    const temp = tempFolder();
    try {
      const folder = v6Folder(temp.dir, "transformer");
      const transformer = Transformer.load(folder);
      assert.equal(transformer.maxSeqLength, 16);
      assert.equal(transformer.doLowerCase, false);
      transformer.dispose();
    } finally {
      temp.cleanup();
    }
  });
});

describe("StaticEmbedding and tokenizer.json truncation", () => {
  it("truncates as the tokenizer.json's truncation says (the reference's tokenizers.Tokenizer applies it)", () => {
    const json = readJson(path.join(bertParityDir, "tokenizer", "tokenizer.json")) as Json;
    // What tokenizers writes after enable_truncation(3) (and direction "Left" for the second model).
    const right = { direction: "Right", max_length: 3, strategy: "LongestFirst", stride: 0 };
    const weights = torch.arange(0, 1200, 1, { dtype: "float32" }).unsqueeze(1); // vector of id i = [i]
    const plain = new StaticEmbedding(new Tokenizer(json), { embeddingWeights: weights });
    const truncRight = new StaticEmbedding(new Tokenizer({ ...json, truncation: right }), {
      embeddingWeights: weights,
    });
    const truncLeft = new StaticEmbedding(new Tokenizer({ ...json, truncation: { ...right, direction: "Left" } }), {
      embeddingWeights: weights,
    });
    weights.dispose();
    try {
      const text = "the cat sat on the mat";
      const ids = plain.tokenizer.encodeIds(text, { addSpecialTokens: false, maxLength: null }).ids;
      assert.ok(ids.length > 3);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const embed = (m: StaticEmbedding) =>
        torch.scope(() => m.forward(m.tokenize([text])).sentenceEmbedding!.item() as number);
      assertClose([embed(plain)], [mean(ids)], 1e-3);
      assertClose([embed(truncRight)], [mean(ids.slice(0, 3))], 1e-3);
      assertClose([embed(truncLeft)], [mean(ids.slice(-3))], 1e-3);
    } finally {
      for (const m of [plain, truncRight, truncLeft]) m.dispose();
    }
  });
});
