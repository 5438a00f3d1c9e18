import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as torch from "@stts/torch";
import { parquetWriteFile } from "hyparquet-writer";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { LOSS_MODIFIER_OPTIONS, LOSS_OPTIONS } from "../src/cli/config.js";
import { main, type CliIo } from "../src/cli/main.js";
import * as losses from "../src/losses/index.js";
import { modelArchitectureString } from "../src/model-card/generate.js";
import { SentenceTransformer } from "../src/sentence-transformer.js";
import {
  assertClose,
  assertNoLeak,
  fixtureCase,
  repoRoot,
  tempFolder,
  tinyBertDir,
  withOfflineHubCache,
} from "./models-util.js";

const packageDir = path.join(repoRoot, "packages", "sentence-transformers");
const tol = 1e-4; // the BERT parity manifest's tolerance

/** Runs the CLI in-process, capturing what it writes. */
async function run(argv: string[], stdin = ""): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), readStdin: async () => stdin };
  const code = await main(argv, io);
  return { code, out: out.join(""), err: err.join("") };
}

function norm(row: readonly number[]): number {
  return Math.sqrt(row.reduce((sum, x) => sum + x * x, 0));
}

function cosine(a: readonly number[], b: readonly number[]): number {
  return a.reduce((sum, x, i) => sum + x * b[i]!, 0) / (norm(a) * norm(b));
}

/** The parity fixture: three texts and the real sentence-transformers embeddings (mean pooling) of them. */
const fixture = fixtureCase("bert-tiny-h32-l2", "texts_single");
const texts = fixture.texts!;
const dim = fixture.expected.pooled.mean.shape[1]!;
const expected = texts.map((_, i) => fixture.expected.pooled.mean.data.slice(i * dim, (i + 1) * dim));

describe("stts --help", () => {
  it("lists the commands, and each command documents its arguments and options", async () => {
    const top = await run(["--help"]);
    assert.equal(top.code, 0);
    assert.match(top.out, /^Usage: stts \[options\] \[command\]/);
    for (const command of [
      "train [options] <config>",
      "encode [options] <model>",
      "eval [options] <model>",
      "info [options] <model>",
    ]) {
      assert.ok(top.out.includes(command), command);
    }
    const train = await run(["train", "--help"]);
    assert.equal(train.code, 0);
    assert.ok(train.out.includes("Usage: stts train [options] <config>"));
    assert.ok(
      train.out.includes("--dry-run") && train.out.includes("Config keys") && train.out.includes("MatryoshkaLoss"),
    );
    const encode = await run(["encode", "--help"]);
    for (const option of [
      "--input <file>",
      "--output <file>",
      "--batch-size <n>",
      "--normalize",
      "--prompt-name <name>",
    ]) {
      assert.ok(encode.out.includes(option), option);
    }
    const evaluate = await run(["eval", "--help"]);
    assert.ok(evaluate.out.includes("--sts <file>") && evaluate.out.includes("--ir <folder>"));
    const info = await run(["info", "--help"]);
    assert.ok(info.out.includes("Usage: stts info [options] <model>") && info.out.includes("--json"));
  });

  it("prints the version, and fails with a hint on an unknown command or option", async () => {
    const version = await run(["--version"]);
    const pkg = JSON.parse(fs.readFileSync(path.join(packageDir, "package.json"), "utf8")) as { version: string };
    assert.deepEqual(version, { code: 0, out: `${pkg.version}\n`, err: "" });
    const unknown = await run(["trian"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /unknown command 'trian'/);
    const badOption = await run(["encode", tinyBertDir, "--batch-size", "zero"]);
    assert.equal(badOption.code, 1);
    assert.match(badOption.err, /expected a positive integer, got 'zero'/);
  });

  it("runs as an executable: bin/stts.mjs --help", () => {
    const result = spawnSync(process.execPath, [path.join(packageDir, "bin", "stts.mjs"), "--help"], {
      encoding: "utf8",
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^Usage: stts \[options\] \[command\]/);
  });
});

describe("stts info", () => {
  it("prints the module stack, dimensions, sequence length, similarity, parameters and prompts", async () => {
    await assertNoLeak(async () => {
      const result = await run(["info", tinyBertDir]);
      assert.equal(result.code, 0, result.err);
      // Parameters: the sizes of the tensors in model.safetensors (the encoder without a pooler).
      const { tensors } = torch.loadSafetensorsSync(path.join(tinyBertDir, "model.safetensors"));
      const count = [...tensors.values()].reduce((total, t) => total + t.numel, 0);
      for (const t of tensors.values()) t.dispose();
      const model = SentenceTransformer.loadFolder(tinyBertDir);
      const stack = modelArchitectureString(model);
      model.dispose();
      assert.equal(
        result.out,
        `Model: ${tinyBertDir}\n${stack}\n` +
          "Output dimensionality: 32\n" +
          "Max sequence length: 16 tokens\n" + // sentence_bert_config.json
          "Similarity function: cosine\n" +
          `Parameters: ${count.toLocaleString("en-US")} (trainable: ${count.toLocaleString("en-US")})\n` +
          'Prompts: query: "", document: ""\n' +
          "Default prompt: none\n",
      );
      const json = JSON.parse((await run(["info", tinyBertDir, "--json"])).out) as Record<string, unknown>;
      assert.equal(json.outputDimensionality, 32);
      assert.equal(json.parameters, count);
      assert.deepEqual(json.modules, ["Transformer", "Pooling"]);
    });
  });

  it("says when a model is neither a folder nor on the Hub", async () => {
    const { dir, cleanup } = tempFolder();
    try {
      const missing = path.join(dir, "no-such-model");
      const result = await run(["info", missing]);
      assert.equal(result.code, 1);
      assert.ok(result.err.startsWith(`error: '${missing}' is not a local folder`), result.err);
    } finally {
      cleanup();
    }
  });
});

describe("stts encode", () => {
  let dir: string;
  let cleanup: () => void;
  before(() => ({ dir, cleanup } = tempFolder()));
  after(() => cleanup());

  it("writes one JSON array per input line, equal to the reference embeddings", async () => {
    await assertNoLeak(async () => {
      const result = await run(["encode", tinyBertDir], `${texts.join("\n")}\n`);
      assert.equal(result.code, 0, result.err);
      const rows = result.out
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line) as number[]);
      assert.equal(rows.length, 3);
      rows.forEach((row, i) => assertClose(row, expected[i]!, tol, tol, `row ${i}`));
    });
  });

  it("reads --input, normalizes, and writes .jsonl, .safetensors and .npy files", async () => {
    const input = path.join(dir, "sentences.txt");
    fs.writeFileSync(input, texts.join("\r\n"));
    const unit = expected.map((row) => row.map((x) => x / norm(row)));

    const jsonl = path.join(dir, "out", "embeddings.jsonl");
    const first = await run(["encode", tinyBertDir, "--input", input, "--output", jsonl, "--normalize", "-b", "2"]);
    assert.equal(first.code, 0, first.err);
    assert.equal(first.out, "");
    assert.equal(first.err, `Encoded 3 sentences (dimension 32) to ${jsonl}\n`);
    const rows = fs
      .readFileSync(jsonl, "utf8")
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as number[]);
    rows.forEach((row, i) => assertClose(row, unit[i]!, tol, tol, `normalized row ${i}`));

    const safetensors = path.join(dir, "embeddings.safetensors");
    assert.equal((await run(["encode", tinyBertDir, "-i", input, "-o", safetensors])).code, 0);
    const { tensors } = torch.loadSafetensorsSync(safetensors);
    const embeddings = tensors.get("embeddings")!;
    assert.deepEqual([...tensors.keys()], ["embeddings"]);
    assert.deepEqual(embeddings.shape, [3, 32]);
    assert.equal(embeddings.dtype, "float32");
    assertClose(Array.from(embeddings.toTypedArray() as Float32Array), expected.flat(), tol, tol, "safetensors");
    embeddings.dispose();

    const npy = path.join(dir, "embeddings.npy");
    assert.equal((await run(["encode", tinyBertDir, "-i", input, "-o", npy])).code, 0);
    const bytes = fs.readFileSync(npy);
    // NumPy format 1.0: magic, version, little-endian header length, a dict padded to 64 bytes, then the data.
    assert.deepEqual([...bytes.subarray(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const headerLength = bytes.readUInt16LE(8);
    assert.equal((10 + headerLength) % 64, 0);
    const header = bytes.subarray(10, 10 + headerLength).toString("latin1");
    assert.match(header, /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(3, 32\), \} *\n$/);
    const data = new Float32Array(
      bytes.buffer.slice(bytes.byteOffset + 10 + headerLength, bytes.byteOffset + bytes.length),
    );
    assertClose(Array.from(data), expected.flat(), tol, tol, "npy");
  });

  it("prepends a prompt by name, and rejects an unknown one", async () => {
    const prompted = await run(["encode", tinyBertDir, "--prompt-name", "query"], "The cat sat on the mat.\n");
    // The folder's prompts are empty strings, so the embedding is the unprompted one.
    assertClose(JSON.parse(prompted.out) as number[], expected[0]!, tol, tol, "prompted");
    const unknown = await run(["encode", tinyBertDir, "--prompt-name", "passage"], "x\n");
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /prompt name 'passage' not found/);
  });
});

describe("stts eval", () => {
  let dir: string;
  let cleanup: () => void;
  before(() => ({ dir, cleanup } = tempFolder()));
  after(() => cleanup());

  it("reports Pearson and Spearman of the cosine similarities on an STS-B file", async () => {
    // STS-B layout: genre, file, year, id, score, sentence1, sentence2 (one row with trailing fields).
    const pairs: [number, number, number][] = [
      [0, 1, 1.5],
      [0, 2, 4.0],
      [1, 2, 2.25],
    ];
    const file = path.join(dir, "sts-mini.csv");
    fs.writeFileSync(
      file,
      pairs
        .map(([a, b, score], i) => `main-captions\tMSRvid\t2012test\t000${i}\t${score}\t${texts[a]}\t${texts[b]}`)
        .join("\n") + "\textra\tfields\n",
    );
    const result = await run(["eval", tinyBertDir, "--sts", file, "--json"]);
    assert.equal(result.code, 0, result.err);
    const metrics = JSON.parse(result.out) as Record<string, number>;
    assert.deepEqual(Object.keys(metrics), ["sts-mini_pearson_cosine", "sts-mini_spearman_cosine"]);
    // Oracle: cosines of the reference embeddings; Pearson by its formula, Spearman = 1 - 6 sum d^2 / (n (n^2 - 1)).
    const cosines = pairs.map(([a, b]) => cosine(expected[a]!, expected[b]!));
    const scores = pairs.map(([, , score]) => score);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const [mc, ms] = [mean(cosines), mean(scores)];
    const pearson =
      cosines.reduce((s, c, i) => s + (c - mc) * (scores[i]! - ms), 0) /
      Math.sqrt(cosines.reduce((s, c) => s + (c - mc) ** 2, 0) * scores.reduce((s, x) => s + (x - ms) ** 2, 0));
    const rank = (xs: number[]) => xs.map((x) => xs.filter((y) => y < x).length + 1);
    const [rc, rs] = [rank(cosines), rank(scores)];
    const spearman = 1 - (6 * rc.reduce((s, r, i) => s + (r - rs[i]!) ** 2, 0)) / (3 * (9 - 1));
    assert.ok(
      Math.abs(metrics["sts-mini_pearson_cosine"]! - pearson) < 1e-3,
      `pearson ${metrics["sts-mini_pearson_cosine"]} vs ${pearson}`,
    );
    assert.equal(metrics["sts-mini_spearman_cosine"], spearman);
  });

  it("reports retrieval metrics on a BEIR folder, counting only qrels with score > 0", async () => {
    const beir = path.join(dir, "beir-mini");
    fs.mkdirSync(path.join(beir, "qrels"), { recursive: true });
    fs.writeFileSync(
      path.join(beir, "corpus.jsonl"),
      texts.map((text, i) => JSON.stringify({ _id: `d${i}`, title: "", text })).join("\n") + "\n",
    );
    // Each query is a corpus text, so its own document is the nearest (cosine 1).
    fs.writeFileSync(
      path.join(beir, "queries.jsonl"),
      [JSON.stringify({ _id: "q0", text: texts[0] }), JSON.stringify({ _id: "q2", text: texts[2] })].join("\n"),
    );
    fs.writeFileSync(
      path.join(beir, "qrels", "test.tsv"),
      "query-id\tcorpus-id\tscore\nq0\td0\t1\nq0\td1\t0\nq2\td2\t2\n",
    );
    const result = await run(["eval", tinyBertDir, "--ir", beir, "--json"]);
    assert.equal(result.code, 0, result.err);
    const metrics = JSON.parse(result.out) as Record<string, number>;
    assert.equal(metrics["beir-mini_cosine_accuracy@1"], 1);
    assert.equal(metrics["beir-mini_cosine_recall@1"], 1); // d1 (score 0) is not relevant
    assert.equal(metrics["beir-mini_cosine_ndcg@10"], 1);
    assert.equal(metrics["beir-mini_cosine_mrr@10"], 1);
    const text = await run(["eval", tinyBertDir, "--ir", beir]);
    assert.ok(text.out.includes("beir-mini_cosine_ndcg@10: 1.0000\n"));
  });

  it("needs at least one data set", async () => {
    const result = await run(["eval", tinyBertDir]);
    assert.equal(result.code, 1);
    assert.match(result.err, /give at least one --sts FILE or --ir FOLDER/);
  });
});

describe("stts train", () => {
  let dir: string;
  let cleanup: () => void;
  let pairs: string;
  before(() => {
    ({ dir, cleanup } = tempFolder());
    pairs = path.join(dir, "pairs.jsonl");
    const rows = [
      ["A man is playing a flute.", "A man plays the flute.", 0.9],
      ["A cat sleeps.", "A dog runs in the park.", 0.1],
      ["Two kids are swimming.", "Children swim in a pool.", 0.8],
      ["The sun is bright.", "It is raining hard.", 0.2],
      ["A woman is cooking.", "Someone prepares food.", 0.7],
      ["A bird flies.", "The car is red.", 0.0],
    ];
    fs.writeFileSync(
      pairs,
      rows.map(([a, b, score]) => JSON.stringify({ sentence1: a, sentence2: b, score })).join("\n"),
    );
  });
  after(() => cleanup());

  /** Writes `config` as YAML into the temp folder and runs `stts train` on it. */
  async function train(name: string, config: Record<string, unknown>, ...flags: string[]) {
    const file = path.join(dir, `${name}.yaml`);
    fs.writeFileSync(file, toYaml(config));
    return { file, ...(await run(["train", file, ...flags])) };
  }

  const base = (): Record<string, unknown> => ({
    model: tinyBertDir,
    datasets: { pairs: { path: "pairs.jsonl" } },
    losses: { pairs: { name: "CoSENTLoss" } },
    args: { maxSteps: 2, perDeviceTrainBatchSize: 3 },
    output: "out",
  });

  it("knows every loss of the library by name", () => {
    const classes = Object.entries(losses)
      .filter(([, value]) => typeof value === "function" && value.prototype instanceof losses.Loss)
      .map(([name]) => name);
    assert.ok(classes.length >= 26);
    const known = [...Object.keys(LOSS_OPTIONS), ...Object.keys(LOSS_MODIFIER_OPTIONS)];
    assert.deepEqual(
      classes.filter((name) => !known.includes(name)),
      [],
    );
  });

  it("points at the config key: unknown keys at any level, with suggestions", async () => {
    const top = await train("top", { ...base(), datsets: {} });
    assert.equal(top.code, 1);
    assert.equal(top.err, `error: ${top.file}: datsets: unknown key; did you mean 'datasets'?\n`);

    const nested = await train("nested", { ...base(), datasets: { pairs: { path: "pairs.jsonl", lmit: 4 } } });
    assert.equal(nested.err, `error: ${nested.file}: datasets.pairs.lmit: unknown key; did you mean 'limit'?\n`);

    const option = await train("option", {
      ...base(),
      losses: { pairs: { name: "CoSENTLoss", options: { scal: 10 } } },
    });
    assert.equal(
      option.err,
      `error: ${option.file}: losses.pairs.options.scal: unknown option of CoSENTLoss; did you mean 'scale'?\n`,
    );

    const snake = await train("snake", {
      ...base(),
      losses: {
        pairs: { name: "CoSENTLoss", wrap: { name: "MatryoshkaLoss", options: { matryoshka_dims: [32, 16] } } },
      },
    });
    assert.equal(
      snake.err,
      `error: ${snake.file}: losses.pairs.wrap.options.matryoshka_dims: unknown option of MatryoshkaLoss; did you mean 'matryoshkaDims'?\n`,
    );
  });

  it("names unknown losses and evaluators with the closest known name", async () => {
    const loss = await train("loss", { ...base(), losses: { pairs: { name: "CoSentLoss" } } });
    assert.equal(loss.code, 1);
    assert.equal(
      loss.err,
      `error: ${loss.file}: losses.pairs.name: unknown loss 'CoSentLoss'; did you mean 'CoSENTLoss'?\n`,
    );

    const modifier = await train("modifier", { ...base(), losses: { pairs: { name: "MatryoshkaLoss" } } });
    assert.match(
      modifier.err,
      /losses\.pairs\.name: 'MatryoshkaLoss' wraps another loss: name the inner loss here and put 'MatryoshkaLoss' under 'wrap'/,
    );

    const evaluator = await train("evaluator", {
      ...base(),
      evaluators: [{ type: "EmbeddingSimilarityEvaluater", dataset: "pairs" }],
    });
    assert.equal(
      evaluator.err,
      `error: ${evaluator.file}: evaluators[0].type: unknown evaluator 'EmbeddingSimilarityEvaluater'; did you mean 'EmbeddingSimilarityEvaluator'?\n`,
    );

    const dataset = await train("dataset", {
      ...base(),
      losses: { pairs: { name: "CoSENTLoss" }, pair: { name: "CoSENTLoss" } },
    });
    assert.equal(dataset.err, `error: ${dataset.file}: losses.pair: no dataset named 'pair'; did you mean 'pairs'?\n`);
  });

  it("rejects wrong types, missing parts and losses that do not fit their dataset", async () => {
    const limit = await train("limit", { ...base(), datasets: { pairs: { path: "pairs.jsonl", limit: "ten" } } });
    assert.equal(limit.err, `error: ${limit.file}: datasets.pairs.limit: expected a positive integer, got "ten"\n`);

    const args = await train("args", { ...base(), args: { perDeviceTrainBatchSize: "eight" } });
    assert.equal(
      args.err,
      `error: ${args.file}: args: 'perDeviceTrainBatchSize' must be a positive integer, got "eight"\n`,
    );

    const scale = await train("scale", {
      ...base(),
      losses: { pairs: { name: "CoSENTLoss", options: { scale: "20" } } },
    });
    assert.equal(scale.err, `error: ${scale.file}: losses.pairs.options.scale: expected a number, got "20"\n`);

    const datasets = await train("datasets", { ...base(), datasets: [] });
    assert.equal(datasets.err, `error: ${datasets.file}: datasets: expected a mapping, got a list ([])\n`);

    const missing = await train("missing", { ...base(), datasets: { pairs: { path: "nowhere.jsonl" } } });
    assert.equal(
      missing.err,
      `error: ${missing.file}: datasets.pairs.path: ${path.join(dir, "nowhere.jsonl")} does not exist\n`,
    );

    const softmax = await train("softmax", { ...base(), losses: { pairs: { name: "SoftmaxLoss" } } });
    assert.equal(
      softmax.err,
      `error: ${softmax.file}: losses.pairs.options: SoftmaxLoss needs the option 'numLabels'\n`,
    );

    const triplet = await train("triplet", { ...base(), losses: { pairs: { name: "TripletLoss" } } });
    assert.equal(
      triplet.err,
      `error: ${triplet.file}: losses.pairs: TripletLoss expects 3 input columns (anchor, positive, negative) and no labels; ` +
        "dataset 'pairs' has 2 input columns (sentence1, sentence2) and the label column 'score' " +
        "(use the dataset's 'select' and 'rename' to fit the loss); " +
        "losses that take it as it is: CoSENTLoss, AnglELoss, CosineSimilarityLoss\n",
    );

    const unpad = await train("unpad", { ...base(), unpadInputs: "yes" });
    assert.equal(unpad.err, `error: ${unpad.file}: unpadInputs: expected true or false, got "yes"\n`);
    const unpadStatic = await train("unpad-static", {
      ...base(),
      model: undefined,
      static: { tokenizer: tinyBertDir, embeddingDim: 8 },
      unpadInputs: true,
    });
    assert.equal(
      unpadStatic.err,
      `error: ${unpadStatic.file}: unpadInputs: a static embedding model has no padding to skip (only Transformer models)\n`,
    );

    const invalid = path.join(dir, "invalid.yaml");
    fs.writeFileSync(invalid, "model: [unclosed\n");
    const yaml = await run(["train", invalid]);
    assert.equal(yaml.code, 1);
    assert.ok(yaml.err.startsWith(`error: ${invalid}: invalid YAML: `), yaml.err);
    assert.ok(!fs.existsSync(path.join(dir, "out")), "no failed config wrote anything");
  });

  it("reads datasets from .parquet files and from Hub dataset ids (Hugging Face cache, offline)", async () => {
    const rows = [
      ["A man is playing a flute.", "A man plays the flute.", 0.9],
      ["A cat sleeps.", "A dog runs in the park.", 0.1],
      ["Two kids are swimming.", "Children swim in a pool.", 0.8],
    ] as const;
    parquetWriteFile({
      filename: path.join(dir, "pairs.parquet"),
      columnData: [
        { name: "sentence1", data: rows.map((r) => r[0]), type: "STRING" },
        { name: "sentence2", data: rows.map((r) => r[1]), type: "STRING" },
        { name: "score", data: rows.map((r) => r[2]), type: "DOUBLE" },
      ],
    });
    const parquet = await train("parquet", { ...base(), datasets: { pairs: { path: "pairs.parquet" } } }, "--dry-run");
    assert.equal(parquet.code, 0, parquet.err);
    assert.ok(parquet.out.includes("  pairs: 3 rows (sentence1, sentence2, score)\n"), parquet.out);
    const misplaced = await train("parquet-delimiter", {
      ...base(),
      datasets: { pairs: { path: "pairs.parquet", delimiter: "," } },
    });
    assert.equal(
      misplaced.err,
      `error: ${misplaced.file}: datasets.pairs.delimiter: applies to delimited files (.csv, .tsv), not Parquet\n`,
    );

    const cache = path.join(dir, "hf-cache");
    const snapshot = path.join(cache, "datasets--org--pairs", "snapshots", "abc123", "data");
    fs.mkdirSync(snapshot, { recursive: true });
    fs.mkdirSync(path.join(cache, "datasets--org--pairs", "refs"), { recursive: true });
    fs.writeFileSync(path.join(cache, "datasets--org--pairs", "refs", "main"), "abc123");
    fs.copyFileSync(pairs, path.join(snapshot, "train.jsonl"));
    fs.writeFileSync(path.join(snapshot, "dev.jsonl"), '{"sentence1": "a", "sentence2": "b", "score": 0.5}\n');
    await withOfflineHubCache(cache, async () => {
      const hub = await train(
        "hub",
        {
          ...base(),
          datasets: { pairs: { hub: "org/pairs", limit: 4 } },
          evalDatasets: { pairs: { hub: "org/pairs", split: "dev" } },
        },
        "--dry-run",
      );
      assert.equal(hub.code, 0, hub.err);
      assert.ok(hub.out.includes("Training datasets:\n  pairs: 4 rows (sentence1, sentence2, score)\n"), hub.out);
      assert.match(hub.out + hub.err, /reading data\/dev\.jsonl of org\/pairs from the Hugging Face cache/);

      const missing = await train("hub-missing", { ...base(), datasets: { pairs: { hub: "org/other" } } });
      assert.equal(missing.code, 1);
      assert.match(
        missing.err,
        /hub-missing\.yaml: datasets\.pairs: Hub dataset 'org\/other' \(revision main\) is not in the Hugging Face cache .* HF_HUB_OFFLINE is set/,
      );
    });

    const both = await train("hub-both", { ...base(), datasets: { pairs: { path: "pairs.jsonl", hub: "org/pairs" } } });
    assert.equal(
      both.err,
      `error: ${both.file}: datasets.pairs: give either 'path' (a file) or 'hub' (a Hugging Face Hub dataset id), not both\n`,
    );
    const split = await train("split-file", { ...base(), datasets: { pairs: { path: "pairs.jsonl", split: "dev" } } });
    assert.equal(
      split.err,
      `error: ${split.file}: datasets.pairs.split: applies to a Hub dataset ('hub'), not to a file\n`,
    );
    const badId = await train("hub-id", { ...base(), datasets: { pairs: { hub: "no-slash" } } });
    assert.equal(
      badId.err,
      `error: ${badId.file}: datasets.pairs.hub: expected a Hub dataset id 'org/name', got 'no-slash'\n`,
    );
  });

  it("builds a fresh BERT or StaticEmbedding from a tokenizer (--dry-run trains nothing)", async () => {
    const bert = await train(
      "bert",
      {
        ...base(),
        model: undefined,
        architecture: {
          type: "bert",
          config: {
            hidden_size: 16,
            num_hidden_layers: 1,
            num_attention_heads: 2,
            intermediate_size: 32,
            max_position_embeddings: 64,
          },
          tokenizer: tinyBertDir,
        },
        output: "bert-out",
      },
      "--dry-run",
    );
    assert.equal(bert.code, 0, bert.err);
    assert.ok(bert.out.includes("Model: Transformer -> Pooling (dimension 16)\n"), bert.out);
    assert.ok(
      bert.out.includes(
        "Training datasets:\n  pairs: 6 rows (sentence1, sentence2, score)\nLosses:\n  pairs: CoSENTLoss\n",
      ),
      bert.out,
    );
    assert.ok(!fs.existsSync(path.join(dir, "bert-out")));

    const staticModel = await train(
      "static",
      { ...base(), model: undefined, static: { tokenizer: tinyBertDir, embeddingDim: 8 }, output: "static-out" },
      "--dry-run",
    );
    assert.equal(staticModel.code, 0, staticModel.err);
    assert.ok(staticModel.out.includes("Model: StaticEmbedding (dimension 8)\n"));
  });

  it("trains a few steps and saves the model with its card and final metrics", async () => {
    const before = SentenceTransformer.loadFolder(tinyBertDir);
    const original = before.encode(["A man plays the flute."])[0]!;
    before.dispose();
    let result = { file: "", code: -1, out: "", err: "" };
    await assertNoLeak(async () => {
      result = await train("tiny", {
        ...base(),
        datasets: { pairs: { path: "pairs.jsonl", limit: 6 } },
        evalDatasets: { pairs: { path: "pairs.jsonl", limit: 3 } },
        losses: {
          pairs: { name: "CoSENTLoss", wrap: { name: "MatryoshkaLoss", options: { matryoshkaDims: [32, 16] } } },
        },
        args: { maxSteps: 2, perDeviceTrainBatchSize: 3, learningRate: 1e-3, loggingSteps: 1, saveStrategy: "no" },
        evaluators: [{ type: "EmbeddingSimilarityEvaluator", dataset: "pairs", name: "pairs-dev" }],
        modelCard: { language: "en", license: "apache-2.0", modelId: "stts/tiny-test" },
      });
    });
    assert.equal(result.code, 0, result.err);
    const output = path.join(dir, "out");
    assert.ok(result.out.includes("Trained 2 steps, mean training loss "));
    assert.match(
      result.out,
      /Final evaluation:\npairs-dev_pearson_cosine: -?\d\.\d{4}\npairs-dev_spearman_cosine: -?\d\.\d{4}\n/,
    );
    assert.ok(result.out.endsWith(`Saved the model to ${output}\n`));

    const trained = SentenceTransformer.loadFolder(output);
    const after = trained.encode(["A man plays the flute."])[0]!;
    trained.dispose();
    assert.equal(after.length, 32);
    assert.ok(
      after.some((x, i) => Math.abs(x - original[i]!) > 1e-4),
      "training changed the weights",
    );

    const card = fs.readFileSync(path.join(output, "README.md"), "utf8");
    const yaml = parseYaml(/^---\n([\s\S]*?)\n---\n/.exec(card)![1]!) as {
      tags: string[];
      language: string[];
      metrics: string[];
    };
    assert.deepEqual(yaml.language, ["en"]);
    for (const tag of ["generated_from_trainer", "dataset_size:6", "loss:MatryoshkaLoss", "loss:CoSENTLoss"]) {
      assert.ok(yaml.tags.includes(tag), tag);
    }
    assert.deepEqual(yaml.metrics, ["pearson_cosine", "spearman_cosine"]);
    assert.ok(card.includes('SentenceTransformer.load("stts/tiny-test")'));
    assert.ok(card.includes("* Size: 6 training samples") && card.includes("* Size: 3 evaluation samples"));
    assert.ok(card.includes("- `learningRate`: 0.001"));
    assert.ok(card.includes("### Training Logs\n| Epoch | Step | Training Loss |"));
  });

  it("unpadInputs: true trains with the Transformer skipping padding, and is saved with the model", async () => {
    const result = await train("unpad-train", {
      ...base(),
      unpadInputs: true,
      args: { maxSteps: 1, perDeviceTrainBatchSize: 3, saveStrategy: "no" },
      output: "unpad-out",
    });
    assert.equal(result.code, 0, result.err);
    const saved = JSON.parse(fs.readFileSync(path.join(dir, "unpad-out", "sentence_bert_config.json"), "utf8")) as {
      unpad_inputs?: boolean;
    };
    assert.equal(saved.unpad_inputs, true);
  });
});
