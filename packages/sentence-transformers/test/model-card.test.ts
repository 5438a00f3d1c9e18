import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as torch from "@stts/torch";
import { parse as parseYaml } from "yaml";
import { EmbeddingSimilarityEvaluator } from "../src/evaluation/embedding-similarity-evaluator.js";
import { CoSENTLoss } from "../src/losses/cosent-loss.js";
import { MatryoshkaLoss } from "../src/losses/matryoshka-loss.js";
import { SoftmaxLoss } from "../src/losses/softmax-loss.js";
import {
  computeDatasetStats,
  createModelCardData,
  describeEvaluation,
  describeLosses,
  nonDefaultTrainingArguments,
  trainingLogsFromHistory,
  type ModelCardData,
} from "../src/model-card/model-card-data.js";
import {
  generateModelCard,
  modelArchitectureString,
  SENTENCE_TRANSFORMERS_CITATION,
} from "../src/model-card/generate.js";
import { SentenceTransformer } from "../src/sentence-transformer.js";
import { resolveTrainingArguments } from "../src/training/arguments.js";
import { Dataset } from "../src/training/dataset.js";
import { assertNoLeak, tempFolder, tinyBertDir } from "./models-util.js";

const stsb = Dataset.fromRecords(
  [
    { sentence1: "A man is playing a flute.", sentence2: "A man plays the flute.", score: 0.76 },
    { sentence1: "A cat sleeps.", sentence2: "A dog runs in the park with a red ball.", score: 0.04 },
    { sentence1: "Two kids are swimming.", sentence2: "Children swim in a pool.", score: 0.7 },
    { sentence1: "The sun is bright.", sentence2: "It is sunny.", score: 0.9 },
  ],
  "stsb",
);
const nli = Dataset.fromRecords(
  [
    { premise: "A woman is reading.", hypothesis: "Someone reads.", label: 0 },
    { premise: "A woman is reading.", hypothesis: "A woman sleeps.", label: 2 },
    { premise: "A boy kicks a ball.", hypothesis: "A child plays.", label: 0 },
    { premise: "A boy kicks a ball.", hypothesis: "The boy is at school.", label: 1 },
    { premise: "Cars drive by.", hypothesis: "Nothing moves.", label: 2 },
  ],
  "nli",
);

/** The token count of each text, tokenized one at a time (no padding): the oracle of the stats. */
function tokenCounts(model: SentenceTransformer, texts: readonly string[]): number[] {
  return texts.map((text) => torch.scope(() => model.tokenize([text]).inputIds!.shape[1]!));
}

/** The YAML between the leading "---" lines. */
function frontMatter(card: string): Record<string, unknown> {
  const match = /^---\n([\s\S]*?)\n---\n/.exec(card);
  assert.ok(match !== null, "the card starts with YAML front matter");
  return parseYaml(match[1]!) as Record<string, unknown>;
}

describe("computeDatasetStats", () => {
  let model: SentenceTransformer;
  before(() => {
    model = SentenceTransformer.loadFolder(tinyBertDir);
  });
  after(() => model.dispose());

  it("counts tokens of text columns with the model's tokenizer, and summarises numbers", async () => {
    await assertNoLeak(() => {
      const info = computeDatasetStats(model, stsb);
      assert.equal(info.name, "stsb");
      assert.equal(info.size, 4);
      assert.equal(info.statsSampleSize, 4);
      assert.deepEqual(
        info.columns.map((c) => [c.name, c.type, c.unit]),
        [
          ["sentence1", "string", "tokens"],
          ["sentence2", "string", "tokens"],
          ["score", "float", null],
        ],
      );
      for (const column of ["sentence1", "sentence2"]) {
        const counts = tokenCounts(model, stsb.column(column) as string[]);
        const stats = info.columns.find((c) => c.name === column)!;
        assert.equal(stats.min, Math.min(...counts), column);
        assert.equal(stats.max, Math.max(...counts), column);
        assert.ok(Math.abs(stats.mean! - counts.reduce((a, b) => a + b, 0) / counts.length) < 1e-12, column);
      }
      const score = info.columns[2]!;
      assert.equal(score.min, 0.04);
      assert.equal(score.max, 0.9);
      assert.ok(Math.abs(score.mean! - (0.76 + 0.04 + 0.7 + 0.9) / 4) < 1e-12); // = 0.6
      assert.equal(info.examples.length, 3);
      assert.deepEqual(info.examples[0], stsb.row(0));
    });
  });

  it("gives integer columns their label distribution and honours sampleSize", () => {
    const info = computeDatasetStats(model, nli, {
      sampleSize: 4,
      name: "all-nli",
      id: "sentence-transformers/all-nli",
    });
    assert.equal(info.name, "all-nli");
    assert.equal(info.id, "sentence-transformers/all-nli");
    assert.equal(info.size, 5);
    assert.equal(info.statsSampleSize, 4);
    const label = info.columns[2]!;
    assert.equal(label.type, "int");
    // First 4 labels: 0, 2, 0, 1.
    assert.deepEqual(label.distribution, { "0": 0.5, "1": 0.25, "2": 0.25 });
    assert.deepEqual([label.min, label.mean, label.max], [0, 0.75, 2]);
  });
});

describe("model card helpers", () => {
  it("nonDefaultTrainingArguments keeps only what differs from the defaults, without bookkeeping", () => {
    const args = resolveTrainingArguments({
      outputDir: "somewhere",
      learningRate: 2e-5,
      perDeviceTrainBatchSize: 16,
      saveSteps: 10,
      batchSampler: "no_duplicates",
      prompts: { query: "query: " },
    });
    assert.deepEqual(nonDefaultTrainingArguments(args), {
      perDeviceTrainBatchSize: 16,
      learningRate: 2e-5,
      batchSampler: "no_duplicates",
      prompts: { query: "query: " },
    });
  });

  it("trainingLogsFromHistory merges a step's training and evaluation entries", () => {
    const rows = trainingLogsFromHistory(
      [
        { loss: 0.9, learning_rate: 1e-5, grad_norm: 2, epoch: 0.5, step: 5 },
        { loss: 0.7, epoch: 1, step: 10 },
        {
          eval_loss: 0.8,
          "eval_sts-dev_spearman_cosine": 0.5,
          "eval_sts-dev_pearson_cosine": 0.4,
          eval_runtime: 3,
          epoch: 1,
          step: 10,
        },
        { eval_stsb_loss: 0.6, epoch: 1, step: 10 },
        { train_runtime: 12, train_loss: 0.8, epoch: 1, step: 10 },
      ],
      { primaryMetrics: ["sts-dev_spearman_cosine"] },
    );
    assert.deepEqual(rows, [
      { epoch: 0.5, step: 5, trainingLoss: 0.9 },
      { epoch: 1, step: 10, trainingLoss: 0.7, validationLoss: 0.8, "sts-dev_spearman_cosine": 0.5, "stsb loss": 0.6 },
    ]);
  });

  it("createModelCardData fills the defaults and copies the lists", () => {
    const tags = ["custom"];
    const data = createModelCardData({ language: "en", tags });
    assert.equal(data.language, "en");
    assert.deepEqual(data.trainDatasets, []);
    assert.deepEqual(data.losses, []);
    assert.deepEqual(data.tags, ["custom"]);
    assert.notEqual(data.tags, tags);
    assert.deepEqual(createModelCardData().tags, [
      "sentence-transformers",
      "sentence-similarity",
      "feature-extraction",
      "stts",
    ]);
  });
});

describe("generateModelCard", () => {
  let model: SentenceTransformer;
  let card: string;
  let data: ModelCardData;
  let metrics: Record<string, number>;

  before(() => {
    model = SentenceTransformer.loadFolder(tinyBertDir);
    const cosent = new CoSENTLoss(model);
    const losses = {
      stsb: new MatryoshkaLoss(model, cosent, { matryoshkaDims: [32, 16] }),
      nli: new SoftmaxLoss(model, { numLabels: 3 }),
    };
    const evaluator = new EmbeddingSimilarityEvaluator(
      stsb.column("sentence1") as string[],
      stsb.column("sentence2") as string[],
      stsb.column("score") as number[],
      { name: "sts-dev" },
    );
    metrics = evaluator.evaluate(model);
    data = createModelCardData({
      language: "en",
      license: "apache-2.0",
      modelId: "stts/tiny-bert-sts",
      baseModel: "sentence-transformers/bert-tiny",
      trainDatasets: [
        computeDatasetStats(model, stsb, { id: "sentence-transformers/stsb" }),
        computeDatasetStats(model, nli),
      ],
      evalDatasets: [computeDatasetStats(model, stsb.take(2))],
      losses: describeLosses(losses),
      trainingArguments: nonDefaultTrainingArguments(
        resolveTrainingArguments({ outputDir: "out", learningRate: 2e-5, perDeviceTrainBatchSize: 16 }),
      ),
      trainingLogs: [
        { epoch: 0.5, step: 1, trainingLoss: 1.23456 },
        { epoch: 1, step: 2, trainingLoss: 0.9, validationLoss: 0.8, "sts-dev_spearman_cosine": 0.4 },
      ],
      bestModelStep: 2,
      evalMetrics: describeEvaluation(evaluator, metrics),
    });
    card = generateModelCard(model, data);
    for (const loss of Object.values(losses)) loss.dispose();
  });
  after(() => model.dispose());

  it("writes the Hub front matter: tags, base model, datasets, pipeline, metrics and model-index", () => {
    const yaml = frontMatter(card);
    assert.deepEqual(yaml.language, ["en"]);
    assert.equal(yaml.license, "apache-2.0");
    assert.equal(yaml.library_name, "sentence-transformers");
    assert.equal(yaml.pipeline_tag, "sentence-similarity");
    assert.equal(yaml.base_model, "sentence-transformers/bert-tiny");
    assert.deepEqual(yaml.datasets, ["sentence-transformers/stsb"]);
    assert.deepEqual(yaml.tags, [
      "sentence-transformers",
      "sentence-similarity",
      "feature-extraction",
      "stts",
      "generated_from_trainer",
      "dataset_size:9", // 4 + 5 training rows
      "loss:MatryoshkaLoss",
      "loss:CoSENTLoss",
      "loss:SoftmaxLoss",
    ]);
    assert.deepEqual(yaml.metrics, ["pearson_cosine", "spearman_cosine"]);
    const index = yaml["model-index"] as {
      name: string;
      results: {
        task: { type: string };
        dataset: { type: string };
        metrics: { type: string; value: number; name: string }[];
      }[];
    }[];
    assert.equal(index[0]!.name, "SentenceTransformer based on sentence-transformers/bert-tiny");
    const result = index[0]!.results[0]!;
    assert.equal(result.task.type, "semantic-similarity");
    assert.equal(result.dataset.type, "sts-dev");
    assert.deepEqual(result.metrics[1], {
      type: "spearman_cosine",
      value: metrics["sts-dev_spearman_cosine"],
      name: "Spearman Cosine",
    });
  });

  it("describes the model: title, dimensions, sequence length, similarity and the module stack", () => {
    assert.match(card, /\n# SentenceTransformer based on sentence-transformers\/bert-tiny\n/);
    assert.ok(
      card.includes(
        "- **Base model:** [sentence-transformers/bert-tiny](https://huggingface.co/sentence-transformers/bert-tiny)",
      ),
    );
    assert.ok(card.includes("- **Maximum Sequence Length:** 16 tokens")); // sentence_bert_config.json
    assert.ok(card.includes("- **Output Dimensionality:** 32 dimensions"));
    assert.ok(card.includes("- **Similarity Function:** Cosine Similarity"));
    assert.ok(card.includes("- **Language:** en"));
    assert.ok(card.includes("- **License:** apache-2.0"));
    assert.ok(
      card.includes(
        "- **Training Datasets:**\n    - [stsb](https://huggingface.co/datasets/sentence-transformers/stsb)\n    - nli",
      ),
    );
    const stack =
      "SentenceTransformer(\n" +
      "  (0): Transformer({'max_seq_length': 16, 'do_lower_case': False, 'architecture': 'BertModel'})\n" +
      "  (1): Pooling({'word_embedding_dimension': 32, 'pooling_mode_cls_token': False, 'pooling_mode_mean_tokens': True, " +
      "'pooling_mode_max_tokens': False, 'pooling_mode_mean_sqrt_len_tokens': False, 'pooling_mode_weightedmean_tokens': False, " +
      "'pooling_mode_lasttoken': False, 'include_prompt': True})\n" +
      ")";
    assert.equal(modelArchitectureString(model), stack);
    assert.ok(card.includes("### Full Model Architecture\n\n```\n" + stack + "\n```"));
  });

  it("shows usage in TypeScript and Python with the model id and the examples' texts", () => {
    assert.ok(card.includes('const model = await SentenceTransformer.load("stts/tiny-bert-sts");'));
    assert.ok(card.includes("model = SentenceTransformer('stts/tiny-bert-sts')"));
    // The eval dataset's first row gives the texts; the dimension comes from the model.
    assert.ok(card.includes('  "A man is playing a flute.",\n  "A man plays the flute.",\n  "A cat sleeps.",\n];'));
    assert.ok(card.includes("    'A man is playing a flute.',"));
    assert.ok(card.includes("// 3 32") && card.includes("# [3, 32]"));
  });

  it("lists each dataset with size, columns, token statistics, examples and its loss", () => {
    const counts = tokenCounts(model, stsb.column("sentence1") as string[]);
    const mean = Number((counts.reduce((a, b) => a + b, 0) / counts.length).toFixed(2));
    assert.ok(card.includes("### Training Datasets\n\n#### stsb\n"));
    assert.ok(card.includes("* Size: 4 training samples"));
    assert.ok(card.includes("* Size: 5 training samples"));
    assert.ok(card.includes("* Size: 2 evaluation samples"));
    assert.ok(card.includes("* Columns: <code>sentence1</code>, <code>sentence2</code>, and <code>score</code>"));
    assert.ok(card.includes("* Approximate statistics based on the first 4 samples:"));
    assert.ok(card.includes("  | type | string | string | float |"));
    assert.ok(
      card.includes(
        `<ul><li>min: ${Math.min(...counts)} tokens</li><li>mean: ${mean} tokens</li><li>max: ${Math.max(...counts)} tokens</li></ul>`,
      ),
    );
    assert.ok(card.includes("<ul><li>min: 0.04</li><li>mean: 0.6</li><li>max: 0.9</li></ul>"));
    assert.ok(card.includes("<ul><li>0: ~40.00%</li><li>1: ~20.00%</li><li>2: ~40.00%</li></ul>")); // labels 0,2,0,1,2
    assert.ok(
      card.includes(
        "  | <code>A man is playing a flute.</code> | <code>A man plays the flute.</code> | <code>0.76</code> |",
      ),
    );
    const matryoshka = data.losses.find((loss) => loss.dataset === "stsb")!;
    assert.ok(
      card.includes(
        "* Loss: [<code>MatryoshkaLoss</code>](https://sbert.net/docs/package_reference/sentence_transformer/losses.html#matryoshkaloss) with these parameters:\n" +
          "  ```json\n" +
          JSON.stringify(matryoshka.config, null, 4)
            .split("\n")
            .map((line) => `  ${line}`)
            .join("\n") +
          "\n  ```",
      ),
    );
    assert.ok(card.includes("* Loss: [<code>SoftmaxLoss</code>]"));
  });

  it("lists the non-default arguments, the training logs and the final metrics", () => {
    assert.ok(
      card.includes("#### Non-Default Hyperparameters\n\n- `perDeviceTrainBatchSize`: 16\n- `learningRate`: 0.00002"),
    );
    assert.ok(!card.includes("`outputDir`"));
    assert.ok(
      card.includes(
        "| Epoch | Step | Training Loss | Validation Loss | sts-dev_spearman_cosine |\n" +
          "|:--|:--|:--|:--|:--|\n" +
          "| 0.5 | 1 | 1.2346 | - | - |\n" +
          "| **1** | **2** | **0.9** | **0.8** | **0.4** |\n" +
          "* The bold row denotes the saved checkpoint.",
      ),
    );
    assert.ok(
      card.includes(
        "#### Semantic Similarity\n\n* Dataset: `sts-dev`\n* Evaluated with [<code>EmbeddingSimilarityEvaluator</code>]",
      ),
    );
    const spearman = Number(metrics["sts-dev_spearman_cosine"]!.toFixed(4));
    assert.ok(card.includes(`| **spearman_cosine** | **${spearman}** |`));
  });

  it("cites Sentence-BERT once, merged with losses of the same paper, then each other loss", () => {
    assert.equal(card.split("@inproceedings{reimers-2019-sentence-bert").length - 1, 1);
    // SoftmaxLoss is the Sentence-BERT paper's loss: one entry names both.
    assert.ok(
      card.includes(
        "#### Sentence Transformers and SoftmaxLoss\n```bibtex\n" + SENTENCE_TRANSFORMERS_CITATION + "\n```",
      ),
    );
    assert.ok(card.includes("#### MatryoshkaLoss\n```bibtex\n@misc{kusupati2024matryoshka"));
    assert.ok(card.includes("#### CoSENTLoss\n```bibtex\n@online{kexuefm-8847"));
  });

  it("describes an untrained model without training sections or trainer tags", () => {
    const plain = generateModelCard(model, createModelCardData());
    const yaml = frontMatter(plain);
    assert.deepEqual(yaml.tags, ["sentence-transformers", "sentence-similarity", "feature-extraction", "stts"]);
    assert.equal(yaml.base_model, undefined);
    assert.equal(yaml["model-index"], undefined);
    assert.ok(plain.includes("\n# SentenceTransformer\n"));
    assert.ok(!plain.includes("## Training Details") && !plain.includes("## Evaluation"));
    assert.ok(plain.includes("'The weather is lovely today.'"));
    assert.ok(plain.includes("<!-- - **Language:** Unknown -->"));
  });
});

describe("SentenceTransformer.save and the model card", () => {
  it("writes README.md with every save, from modelCardData when set", () => {
    const { dir, cleanup } = tempFolder();
    const model = SentenceTransformer.loadFolder(tinyBertDir);
    try {
      const target = path.join(dir, "model");
      model.save(target);
      const plain = fs.readFileSync(path.join(target, "README.md"), "utf8");
      assert.equal(plain, generateModelCard(model, createModelCardData()));
      model.modelCardData = createModelCardData({ modelName: "Tiny STS model", license: "mit" });
      model.save(target); // into the existing folder
      const named = fs.readFileSync(path.join(target, "README.md"), "utf8");
      assert.ok(named.includes("\n# Tiny STS model\n"));
      assert.equal(frontMatter(named).license, "mit");
      const loaded = SentenceTransformer.loadFolder(target);
      assert.equal(loaded.getSentenceEmbeddingDimension(), 32);
      assert.equal(loaded.modelCardData, null);
      loaded.dispose();
    } finally {
      model.dispose();
      cleanup();
    }
  });

  it("leaves no half-written folder, and the previous save intact, when the card fails", () => {
    const { dir, cleanup } = tempFolder();
    const model = SentenceTransformer.loadFolder(tinyBertDir);
    try {
      const broken = createModelCardData();
      Object.defineProperty(broken, "tags", {
        get: () => {
          throw new Error("card data unavailable");
        },
      });
      model.modelCardData = broken;
      const fresh = path.join(dir, "fresh");
      assert.throws(() => model.save(fresh), /card data unavailable/);
      assert.ok(!fs.existsSync(fresh));
      assert.deepEqual(fs.readdirSync(dir), []); // no temporary folder left behind

      const existing = path.join(dir, "existing");
      model.modelCardData = createModelCardData({ modelName: "First" });
      model.save(existing);
      const before = fs.readdirSync(existing).sort();
      model.modelCardData = broken;
      assert.throws(() => model.save(existing), /card data unavailable/);
      assert.deepEqual(fs.readdirSync(existing).sort(), before);
      assert.ok(fs.readFileSync(path.join(existing, "README.md"), "utf8").includes("\n# First\n"));
      assert.deepEqual(fs.readdirSync(dir).sort(), ["existing"]);
    } finally {
      model.dispose();
      cleanup();
    }
  });
});
