// The evaluators: metric keys and values against hand derivations (a lookup model with known embeddings)
// and independent computations from encode outputs (the tiny BERT checkpoint), CSV files, and leaks.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  BinaryClassificationEvaluator,
  EmbeddingSimilarityEvaluator,
  InformationRetrievalEvaluator,
  MSEEvaluator,
  ParaphraseMiningEvaluator,
  SentenceEvaluator,
  SequentialEvaluator,
  TripletEvaluator,
  pythonFloat,
} from "../src/evaluation/index.js";
import { matthewsCorrelation, pearson, spearman } from "../src/evaluation/metrics.js";
import { SentenceTransformer } from "../src/sentence-transformer.js";
import { cosSim, dotScore } from "../src/util/similarity.js";
import {
  assertNear,
  cosine,
  dot,
  euclideanDistance,
  lookupModel,
  manhattanDistance,
  msmarcoSubset,
  stsbDev,
  withoutLeaks,
} from "./evaluators-util.js";
import { tempFolder, tinyBertDir } from "./models-util.js";

const tinyBert = SentenceTransformer.loadFolder(tinyBertDir);

const pairs1 = ["A man is eating food.", "A dog runs in the park.", "The sky is blue today.", "Kids play football."];
const pairs2 = ["Someone eats a meal.", "A cat sleeps on a sofa.", "Blue is the sky.", "Children are playing soccer."];
const gold = [4.2, 0.5, 4.8, 3.9];

/** A unit vector at `degrees` from [1, 0]. */
const unit = (degrees: number) => [Math.cos((degrees * Math.PI) / 180), Math.sin((degrees * Math.PI) / 180)];

describe("SentenceEvaluator", () => {
  it("writes numbers as Python's float repr, so CSV files read like the reference's", () => {
    const cases: [number, string][] = [
      [1, "1.0"],
      [0.1, "0.1"],
      [0.30000000000000004, "0.30000000000000004"],
      [0.0001, "0.0001"],
      [1e-5, "1e-05"],
      [1.5e-7, "1.5e-07"],
      [1234567890123456, "1234567890123456.0"],
      [1e16, "1e+16"],
      [-2.5, "-2.5"],
      [-0, "-0.0"],
      [Number.NaN, "nan"],
      [-Infinity, "-inf"],
    ]; // repr(float(x)) in Python
    for (const [value, expected] of cases) assert.equal(pythonFloat(value), expected);
  });

  it("derives the description from the class name and leaves keys unprefixed without a name", () => {
    class MeanNormEvaluator extends SentenceEvaluator {
      evaluate(model: SentenceTransformer): Record<string, number> {
        this.primaryMetric = this.fullKey("dim");
        return this.prefixNameToMetrics({ dim: model.getSentenceEmbeddingDimension() ?? 0 });
      }
    }
    const plain = new MeanNormEvaluator();
    assert.equal(plain.description, "Mean Norm");
    assert.deepEqual(plain.evaluate(tinyBert), { dim: 32 });
    assert.equal(plain.primaryMetric, "dim");
    assert.equal(plain.greaterIsBetter, true);
  });
});

describe("EmbeddingSimilarityEvaluator", () => {
  it("reports the Pearson and Spearman correlation of the model's cosine similarities", () => {
    const evaluator = new EmbeddingSimilarityEvaluator(pairs1, pairs2, gold, { name: "sts" });
    const metrics = withoutLeaks(() => evaluator.evaluate(tinyBert));
    assert.deepEqual(Object.keys(metrics), ["sts_pearson_cosine", "sts_spearman_cosine"]);
    assert.equal(evaluator.primaryMetric, "sts_spearman_cosine");
    const [e1, e2] = [tinyBert.encode(pairs1), tinyBert.encode(pairs2)];
    const cosines = e1.map((row, i) => cosine(row, e2[i]!));
    assertNear(metrics["sts_pearson_cosine"], pearson(gold, cosines), 1e-6, "pearson");
    assertNear(metrics["sts_spearman_cosine"], spearman(gold, cosines), 1e-6, "spearman");
  });

  it("scores with every requested function, distances negated, and adds the maxima", () => {
    const evaluator = new EmbeddingSimilarityEvaluator(pairs1, pairs2, gold, {
      similarityFnNames: ["cosine", "euclidean", "manhattan", "dot"],
    });
    const metrics = withoutLeaks(() => evaluator.evaluate(tinyBert));
    assert.deepEqual(Object.keys(metrics), [
      "pearson_cosine",
      "spearman_cosine",
      "pearson_euclidean",
      "spearman_euclidean",
      "pearson_manhattan",
      "spearman_manhattan",
      "pearson_dot",
      "spearman_dot",
      "pearson_max",
      "spearman_max",
    ]);
    assert.equal(evaluator.primaryMetric, "spearman_max");
    const [e1, e2] = [tinyBert.encode(pairs1), tinyBert.encode(pairs2)];
    const byHand = {
      cosine: e1.map((row, i) => cosine(row, e2[i]!)),
      euclidean: e1.map((row, i) => -euclideanDistance(row, e2[i]!)),
      manhattan: e1.map((row, i) => -manhattanDistance(row, e2[i]!)),
      dot: e1.map((row, i) => dot(row, e2[i]!)),
    };
    for (const [fn, scores] of Object.entries(byHand)) {
      assertNear(metrics[`pearson_${fn}`], pearson(gold, scores), 1e-5, `pearson_${fn}`);
      assertNear(metrics[`spearman_${fn}`], spearman(gold, scores), 1e-9, `spearman_${fn}`);
    }
    const pearsons = Object.values(byHand).map((scores) => pearson(gold, scores));
    assertNear(metrics["pearson_max"], Math.max(...pearsons), 1e-5, "pearson_max");
  });

  it("uses the main similarity as primary metric, and the model's similarity when none is given", () => {
    const main = new EmbeddingSimilarityEvaluator(pairs1, pairs2, gold, {
      name: "dev",
      mainSimilarity: "manhattan",
      similarityFnNames: ["cosine", "manhattan"],
    });
    main.evaluate(tinyBert);
    assert.equal(main.primaryMetric, "dev_spearman_manhattan");
    const dotModel = lookupModel({ a: [1, 0], b: [2, 0], c: [0, 1], d: [1, 1] }, { similarityFnName: "dot" });
    const byModel = new EmbeddingSimilarityEvaluator(["a", "c"], ["b", "d"], [1, 0]);
    assert.deepEqual(byModel.evaluate(dotModel), { pearson_dot: 1, spearman_dot: 1 }); // dots 2 and 1: same order
    assert.equal(byModel.primaryMetric, "spearman_dot");
  });

  it("correlates the 200 first STS-B dev pairs as computed from encode outputs, deterministically", () => {
    const { sentences1, sentences2, scores } = stsbDev(200);
    assert.equal(sentences1.length, 200);
    const evaluator = new EmbeddingSimilarityEvaluator(sentences1, sentences2, scores, {
      name: "sts-dev",
      similarityFnNames: ["cosine", "euclidean"],
    });
    const metrics = withoutLeaks(() => evaluator.evaluate(tinyBert));
    assert.deepEqual(Object.keys(metrics).sort(), [
      "sts-dev_pearson_cosine",
      "sts-dev_pearson_euclidean",
      "sts-dev_pearson_max",
      "sts-dev_spearman_cosine",
      "sts-dev_spearman_euclidean",
      "sts-dev_spearman_max",
    ]);
    const [e1, e2] = [tinyBert.encode(sentences1), tinyBert.encode(sentences2)];
    const cosines = e1.map((row, i) => cosine(row, e2[i]!));
    const distances = e1.map((row, i) => -euclideanDistance(row, e2[i]!));
    assertNear(metrics["sts-dev_pearson_cosine"], pearson(scores, cosines), 1e-6, "pearson cosine");
    assertNear(metrics["sts-dev_spearman_cosine"], spearman(scores, cosines), 1e-4, "spearman cosine");
    assertNear(metrics["sts-dev_pearson_euclidean"], pearson(scores, distances), 1e-6, "pearson euclidean");
    assertNear(metrics["sts-dev_spearman_euclidean"], spearman(scores, distances), 1e-4, "spearman euclidean");
    for (const value of Object.values(metrics)) assert.ok(value >= -1 && value <= 1);
    assert.deepEqual(evaluator.evaluate(tinyBert), metrics);
  });

  it("unpacks ubinary / binary embeddings to bits before scoring (sign of the normalized embedding)", () => {
    const evaluator = new EmbeddingSimilarityEvaluator(pairs1, pairs2, gold, { precision: "ubinary" });
    const metrics = withoutLeaks(() => evaluator.evaluate(tinyBert));
    const bits = (rows: Float32Array[]) => rows.map((row) => Array.from(row, (x) => (x > 0 ? 1 : 0)));
    const [b1, b2] = [bits(tinyBert.encode(pairs1)), bits(tinyBert.encode(pairs2))];
    const cosines = b1.map((row, i) => cosine(row, b2[i]!));
    assertNear(metrics["pearson_cosine"], pearson(gold, cosines), 1e-6, "pearson of bit cosines");
    assert.equal(evaluator.csvFile, "similarity_evaluation_ubinary_results.csv");
    // binary packs the same bits minus 128: unpacked after adding 128, the bits and metrics are the same
    const binary = new EmbeddingSimilarityEvaluator(pairs1, pairs2, gold, { precision: "binary" });
    assert.deepEqual(binary.evaluate(tinyBert), metrics);
    const int8 = withoutLeaks(() =>
      new EmbeddingSimilarityEvaluator(pairs1, pairs2, gold, { precision: "int8", name: "q" }).evaluate(tinyBert),
    );
    assert.deepEqual(Object.keys(int8), ["q_pearson_cosine", "q_spearman_cosine"]);
    assert.ok(Math.abs(int8["q_pearson_cosine"]!) <= 1);
  });

  it("appends one CSV row per evaluation under the reference's file name and headers", () => {
    const { dir, cleanup } = tempFolder();
    try {
      const evaluator = new EmbeddingSimilarityEvaluator(pairs1, pairs2, gold, { name: "sts" });
      const first = evaluator.evaluate(tinyBert, { outputPath: dir, epoch: 1, steps: 10 });
      evaluator.evaluate(tinyBert, { outputPath: dir, epoch: 2, steps: 20 });
      const text = fs.readFileSync(path.join(dir, "similarity_evaluation_sts_results.csv"), "utf8");
      const row = (epoch: number, steps: number) =>
        `${epoch},${steps},${pythonFloat(first["sts_pearson_cosine"]!)},${pythonFloat(first["sts_spearman_cosine"]!)}\r\n`;
      assert.equal(text, "epoch,steps,cosine_pearson,cosine_spearman\r\n" + row(1, 10) + row(2, 20));
      new EmbeddingSimilarityEvaluator(pairs1, pairs2, gold, { name: "off", writeCsv: false }).evaluate(tinyBert, {
        outputPath: dir,
      });
      assert.deepEqual(fs.readdirSync(dir), ["similarity_evaluation_sts_results.csv"]);
    } finally {
      cleanup();
    }
  });

  it("restores the model's training mode", () => {
    const evaluator = new EmbeddingSimilarityEvaluator(pairs1, pairs2, gold);
    tinyBert.train();
    try {
      evaluator.evaluate(tinyBert);
      assert.equal(tinyBert.training, true);
    } finally {
      tinyBert.eval();
    }
    evaluator.evaluate(tinyBert);
    assert.equal(tinyBert.training, false);
  });

  it("rejects mismatched lengths and unknown similarity names, naming the arguments", () => {
    assert.throws(
      () => new EmbeddingSimilarityEvaluator(["a", "b"], ["c"], [1, 2]),
      /EmbeddingSimilarityEvaluator: sentences1 \(2\), sentences2 \(1\) and scores \(2\) must have the same length/,
    );
    assert.throws(
      () => new EmbeddingSimilarityEvaluator(["a"], ["b"], [1], { similarityFnNames: ["cos" as "cosine"] }),
      /similarityFnNames 'cos' is not a similarity function \(expected one of cosine, dot, euclidean, manhattan\)/,
    );
    assert.throws(
      () =>
        new EmbeddingSimilarityEvaluator(["a"], ["b"], [1], { mainSimilarity: "dot", similarityFnNames: ["cosine"] }),
      /mainSimilarity 'dot' is not among similarityFnNames \(cosine\)/,
    );
  });
});

describe("InformationRetrievalEvaluator", () => {
  // Queries and passages as 2-D vectors: the cosine and dot rankings below are read off the table.
  const table = {
    "query one": [1, 0],
    "query two": [0, 1],
    "query three": [1, 1],
    d1: [1, 0],
    d2: [2, 2],
    d3: [0, 1],
    d4: [1.2, 2.4],
    d5: [-1, -0.5],
  };
  const model = lookupModel(table);
  const queries = { q1: "query one", q2: "query two", q3: "query three" };
  const corpus = { c1: "d1", c2: "d2", c3: "d3", c4: "d4", c5: "d5" };
  // q3 has no relevant passage: it is not evaluated
  const relevantDocs = { q1: ["c2", "c3"], q2: new Set(["c3"]), q3: [] };
  const ks = { accuracyAtK: [1, 3], precisionRecallAtK: [1, 3], mrrAtK: [3], ndcgAtK: [3], mapAtK: [5] };
  const log3 = Math.log2(3);

  it("computes accuracy, precision, recall, NDCG, MRR and MAP at k of a known ranking", () => {
    const evaluator = new InformationRetrievalEvaluator(queries, corpus, relevantDocs, { ...ks, name: "toy" });
    assert.deepEqual(evaluator.queryIds, ["q1", "q2"]);
    const metrics = withoutLeaks(() => evaluator.evaluate(model));
    // cosine ranking of q1: c1 (1), c2 (0.71), c4 (0.45), c3 (0), c5 (-0.89): relevant at ranks 2 and 4
    // cosine ranking of q2: c3 (1), c4 (0.89), c2 (0.71), c1 (0), c5 (-0.45): relevant at rank 1
    const expected: Record<string, number> = {
      "toy_cosine_accuracy@1": 0.5,
      "toy_cosine_accuracy@3": 1,
      "toy_cosine_precision@1": 0.5,
      "toy_cosine_precision@3": (1 / 3 + 1 / 3) / 2,
      "toy_cosine_recall@1": 0.5,
      "toy_cosine_recall@3": (1 / 2 + 1) / 2,
      "toy_cosine_ndcg@3": (1 / log3 / (1 + 1 / log3) + 1) / 2, // 0.6934264036172708
      "toy_cosine_mrr@3": (1 / 2 + 1) / 2,
      "toy_cosine_map@5": ((1 / 2 + 2 / 4) / 2 + 1) / 2,
    };
    assert.deepEqual(Object.keys(metrics), Object.keys(expected));
    for (const [key, value] of Object.entries(expected)) assertNear(metrics[key], value, 1e-12, key);
    assert.equal(evaluator.primaryMetric, "toy_cosine_ndcg@3");
    const hits = evaluator.retrieve(model)["cosine"]!;
    assert.deepEqual(
      hits.map((list) => list.map((hit) => hit.corpusId)),
      [
        ["c1", "c2", "c4", "c3", "c5"],
        ["c3", "c4", "c2", "c1", "c5"],
      ],
    );
  });

  it("reports every score function and picks the one with the best NDCG unless a main one is named", () => {
    const evaluator = new InformationRetrievalEvaluator(queries, corpus, relevantDocs, {
      ...ks,
      scoreFunctions: { dot: dotScore, cosine: cosSim },
    });
    const metrics = withoutLeaks(() => evaluator.evaluate(model));
    assert.equal(Object.keys(metrics).length, 18);
    // dot ranking of q1: c2 (2), c4 (1.2), c1 (1), c3 (0), c5 (-1); of q2: c4 (2.4), c2 (2), c3 (1), c1, c5
    assertNear(metrics["dot_ndcg@3"], (1 / (1 + 1 / log3) + 1 / 2) / 2, 1e-12, "dot_ndcg@3"); // 0.5565735963827292
    assertNear(metrics["dot_mrr@3"], (1 + 1 / 3) / 2, 1e-12, "dot_mrr@3");
    assertNear(metrics["cosine_ndcg@3"], 0.6934264036172708, 1e-12, "cosine_ndcg@3");
    assert.equal(evaluator.primaryMetric, "cosine_ndcg@3");
    const main = new InformationRetrievalEvaluator(queries, corpus, relevantDocs, { ...ks, mainScoreFunction: "dot" });
    assert.equal(main.primaryMetric, "dot_ndcg@3");
    assert.deepEqual(
      Object.keys(main.evaluate(model)).filter((key) => key.startsWith("cosine")),
      [],
    );
  });

  it("breaks ties at the cut-off as the reference: topk per corpus chunk, then a heap of (score, id)", () => {
    const tied = lookupModel({ q: [1, 0], same: [3, 0], other: [0, 1] });
    const tiedCorpus = { a: "same", b: "same", c: "same", d: "same", e: "other" };
    const options = { accuracyAtK: [1, 2], precisionRecallAtK: [2], mrrAtK: [2], ndcgAtK: [2], mapAtK: [2] };
    // One chunk: topk(2, sorted=False) of [1, 1, 1, 1, 0] picks indices 1 and 3 (Python torch 2.13 gives the
    // same); chunks of 2 or 1: every tied passage reaches the heap, which keeps the largest (1.0, id): c and d.
    const expected: [number, string[]][] = [
      [50000, ["b", "d"]],
      [2, ["c", "d"]],
      [1, ["c", "d"]],
    ];
    for (const [corpusChunkSize, kept] of expected) {
      const evaluator = new InformationRetrievalEvaluator(
        { q: "q" },
        tiedCorpus,
        { q: ["a", "d"] },
        {
          ...options,
          corpusChunkSize,
        },
      );
      const hits = evaluator.retrieve(tied)["cosine"]![0]!.map((hit) => hit.corpusId);
      assert.deepEqual([...hits].sort(), kept, `chunk size ${corpusChunkSize}`);
      assert.equal(evaluator.evaluate(tied)["cosine_recall@2"], 0.5); // d is kept, a is not
    }
  });

  it("evaluates MS MARCO queries with the tiny BERT: the reference's keys, values in range, deterministic", () => {
    const { queries: marcoQueries, corpus: marcoCorpus, relevantDocs: marcoQrels } = msmarcoSubset(5, 200);
    const { dir, cleanup } = tempFolder();
    try {
      const evaluator = new InformationRetrievalEvaluator(marcoQueries, marcoCorpus, marcoQrels, {
        name: "msmarco",
        corpusChunkSize: 100,
      });
      const metrics = withoutLeaks(() => evaluator.evaluate(tinyBert, { outputPath: dir, epoch: 0, steps: 5 }));
      const expectedKeys = [
        ...[1, 3, 5, 10].map((k) => `accuracy@${k}`),
        ...[1, 3, 5, 10].map((k) => `precision@${k}`),
        ...[1, 3, 5, 10].map((k) => `recall@${k}`),
        "ndcg@10",
        "mrr@10",
        "map@100",
      ].map((metric) => `msmarco_cosine_${metric}`);
      assert.deepEqual(Object.keys(metrics), expectedKeys);
      for (const [key, value] of Object.entries(metrics)) assert.ok(value >= 0 && value <= 1, `${key} = ${value}`);
      for (const [a, b] of [
        [1, 3],
        [3, 5],
        [5, 10],
      ]) {
        assert.ok(metrics[`msmarco_cosine_accuracy@${a}`]! <= metrics[`msmarco_cosine_accuracy@${b}`]!);
        assert.ok(metrics[`msmarco_cosine_recall@${a}`]! <= metrics[`msmarco_cosine_recall@${b}`]!);
      }
      assert.equal(evaluator.primaryMetric, "msmarco_cosine_ndcg@10");
      const whole = new InformationRetrievalEvaluator(marcoQueries, marcoCorpus, marcoQrels, { name: "msmarco" });
      assert.deepEqual(whole.evaluate(tinyBert), metrics, "same metrics with one corpus chunk");
      const lines = fs.readFileSync(path.join(dir, "Information-Retrieval_evaluation_msmarco_results.csv"), "utf8");
      const [header, row, end] = lines.split("\n");
      assert.equal(header!.split(",").length, 2 + 15);
      assert.ok(header!.startsWith("epoch,steps,cosine-Accuracy@1,cosine-Accuracy@3"));
      assert.ok(row!.startsWith("0,5,"));
      assert.equal(end, "");
    } finally {
      cleanup();
    }
  });

  it("encodes queries and passages with the model's query / document prompts, or the ones given", () => {
    const prompted: Record<string, number[]> = { "query: ": [0, 0], "passage: ": [0, 0] };
    for (const [text, row] of Object.entries(table)) {
      prompted[(text.startsWith("query") ? "query: " : "passage: ") + text] = row;
    }
    prompted["q> query one"] = [1, 0];
    prompted["q> query two"] = [0, 1];
    prompted["q> "] = [0, 0];
    const model = lookupModel(prompted, { prompts: { query: "query: ", document: "passage: " } });
    const byModel = new InformationRetrievalEvaluator(queries, corpus, relevantDocs, ks);
    assertNear(byModel.evaluate(model)["cosine_ndcg@3"], 0.6934264036172708, 1e-12, "with the model's prompts");
    const given = new InformationRetrievalEvaluator(queries, corpus, relevantDocs, {
      ...ks,
      queryPrompt: "q> ",
      corpusPromptName: "document",
    });
    assertNear(given.evaluate(model)["cosine_ndcg@3"], 0.6934264036172708, 1e-12, "with the given prompts");
    const unknown = new InformationRetrievalEvaluator(queries, corpus, relevantDocs, { ...ks, corpusPrompt: "doc: " });
    assert.throws(() => unknown.evaluate(model), /LookupEmbedding: no row for "doc: /);
    assert.deepEqual(given.getConfigDict(), { queryPrompt: "q> ", corpusPromptName: "document" });
  });

  it("writes each query's ranked passages to a JSONL file when asked", () => {
    const { dir, cleanup } = tempFolder();
    try {
      const evaluator = new InformationRetrievalEvaluator(queries, corpus, relevantDocs, {
        ...ks,
        name: "toy",
        writePredictions: true,
      });
      evaluator.evaluate(model, { outputPath: dir });
      const lines = fs
        .readFileSync(path.join(dir, "Information-Retrieval_evaluation_toy_predictions_cosine.jsonl"), "utf8")
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line) as { query_id: string; query: string; results: { corpus_id: string }[] });
      assert.deepEqual(
        lines.map((line) => [line.query_id, line.query, line.results.map((hit) => hit.corpus_id).join(" ")]),
        [
          ["q1", "query one", "c1 c2 c4 c3 c5"],
          ["q2", "query two", "c3 c4 c2 c1 c5"],
        ],
      );
    } finally {
      cleanup();
    }
  });

  it("rejects a query set without relevant documents and a main function outside scoreFunctions", () => {
    assert.throws(
      () => new InformationRetrievalEvaluator({ q: "x" }, { c: "y" }, { other: ["c"] }),
      /InformationRetrievalEvaluator: no query has relevant documents/,
    );
    assert.throws(
      () =>
        new InformationRetrievalEvaluator(
          { q: "x" },
          { c: "y" },
          { q: ["c"] },
          {
            scoreFunctions: { cosine: cosSim },
            mainScoreFunction: "dot",
          },
        ),
      /mainScoreFunction 'dot' is not a key of scoreFunctions \(cosine\)/,
    );
  });
});

describe("TripletEvaluator", () => {
  // anchor, positive, negative per triplet; outcomes per function in the comments
  const table = {
    a1: [1, 0],
    p1: [2, 0.2],
    n1: [0, 1], // passes for every function
    a2: [1, 0],
    p2: [3, 3],
    n2: [1, -0.1], // passes for dot only
    a3: [0, 1],
    p3: [0.1, 1],
    n3: [1, 1], // dot ties (1 vs 1): fails; others pass
    a4: [1, 1],
    p4: [0.5, 0.6],
    n4: [3, 0], // dot 1.1 vs 3: fails; others pass
  };
  const model = lookupModel(table);
  const [anchors, positives, negatives] = [
    ["a1", "a2", "a3", "a4"],
    ["p1", "p2", "p3", "p4"],
    ["n1", "n2", "n3", "n4"],
  ];

  it("counts the triplets whose positive is more similar than the negative, per function", () => {
    const evaluator = new TripletEvaluator(anchors, positives, negatives, {
      name: "nli",
      similarityFnNames: ["cosine", "dot", "euclidean", "manhattan"],
    });
    const metrics = withoutLeaks(() => evaluator.evaluate(model));
    assert.deepEqual(metrics, {
      nli_cosine_accuracy: 0.75,
      nli_dot_accuracy: 0.5,
      nli_euclidean_accuracy: 0.75,
      nli_manhattan_accuracy: 0.75,
      nli_max_accuracy: 0.75,
    });
    assert.equal(evaluator.primaryMetric, "nli_max_accuracy");
  });

  it("applies the margin and defaults to the model's similarity", () => {
    // cosine margin 0.3: a3 (0.995 vs 0.707 + 0.3) and a4 (0.996 vs 0.707 + 0.3) now fail
    const margined = new TripletEvaluator(anchors, positives, negatives, { margin: { cosine: 0.3 } });
    assert.deepEqual(margined.evaluate(model), { cosine_accuracy: 0.25 });
    assert.equal(margined.primaryMetric, "cosine_accuracy");
    assert.deepEqual(margined.getConfigDict(), { margin: { cosine: 0.3, dot: 0, manhattan: 0, euclidean: 0 } });
    const dotModel = lookupModel(table, { similarityFnName: "dot" });
    const byModel = new TripletEvaluator(anchors, positives, negatives);
    assert.deepEqual(byModel.evaluate(dotModel), { dot_accuracy: 0.5 });
    assert.equal(byModel.primaryMetric, "dot_accuracy");
  });

  it("matches cosines computed from the tiny BERT's encode outputs and writes its CSV", () => {
    const { dir, cleanup } = tempFolder();
    try {
      const negs = [...pairs2].reverse();
      const evaluator = new TripletEvaluator(pairs1, pairs2, negs, { name: "t" });
      const metrics = withoutLeaks(() => evaluator.evaluate(tinyBert, { outputPath: dir }));
      const [a, p, n] = [tinyBert.encode(pairs1), tinyBert.encode(pairs2), tinyBert.encode(negs)];
      const wins = a.filter((row, i) => cosine(row, p[i]!) > cosine(row, n[i]!)).length;
      assert.deepEqual(metrics, { t_cosine_accuracy: wins / 4 });
      const text = fs.readFileSync(path.join(dir, "triplet_evaluation_t_results.csv"), "utf8");
      assert.equal(text, `epoch,steps,accuracy_cosine\r\n-1,-1,${pythonFloat(wins / 4)}\r\n`);
    } finally {
      cleanup();
    }
  });

  it("rejects mismatched lengths and bad margins", () => {
    assert.throws(
      () => new TripletEvaluator(["a"], ["b", "c"], ["d"]),
      /TripletEvaluator: anchors \(1\), positives \(2\) and negatives \(1\) must have the same length/,
    );
    assert.throws(
      () => new TripletEvaluator(["a"], ["b"], ["c"], { margin: { cos: 1 } as never }),
      /margin key 'cos' is not a similarity function/,
    );
  });
});

describe("BinaryClassificationEvaluator", () => {
  // "q" against unit vectors whose cosine with it is the number in the name; labels 1 1 0 1 0 0
  const angles = { "0.9": 0.9, "0.8": 0.8, "0.7": 0.7, "0.6": 0.6, "0.4": 0.4, "0.2": 0.2 };
  const table: Record<string, number[]> = { q: [1, 0] };
  for (const [text, c] of Object.entries(angles)) table[text] = [c, Math.sqrt(1 - c * c)];
  const model = lookupModel(table);
  const sentences2 = Object.keys(angles);
  const sentences1 = sentences2.map(() => "q");
  const labels = [1, 1, 0, 1, 0, 0];

  it("finds the accuracy and F1 thresholds, AP and MCC of similarity scores", () => {
    const evaluator = new BinaryClassificationEvaluator(sentences1, sentences2, labels, { name: "pairs" });
    const metrics = withoutLeaks(() => evaluator.evaluate(model));
    // sweep from the highest score: accuracy 4/6, 5/6 (cut between 0.8 and 0.7), 4/6, 5/6 (not better), 4/6;
    // F1 0.5, 0.8, 2/3, 6/7 (cut between 0.6 and 0.4: precision 3/4, recall 1), 0.75;
    // AP: positives at ranks 1, 2, 4 -> (1 + 1 + 3/4) / 3; MCC at score >= 0.5: tp 3, fp 1, tn 2, fn 0 -> 6 / sqrt(72)
    const expected = {
      pairs_cosine_accuracy: 5 / 6,
      pairs_cosine_accuracy_threshold: 0.75,
      pairs_cosine_f1: 6 / 7,
      pairs_cosine_f1_threshold: 0.5,
      pairs_cosine_precision: 0.75,
      pairs_cosine_recall: 1,
      pairs_cosine_ap: 2.75 / 3,
      pairs_cosine_mcc: 6 / Math.sqrt(72),
    };
    assert.deepEqual(Object.keys(metrics), Object.keys(expected));
    for (const [key, value] of Object.entries(expected)) assertNear(metrics[key], value, 1e-6, key);
    assert.equal(evaluator.primaryMetric, "pairs_cosine_ap");
  });

  it("treats euclidean and manhattan scores as distances (small is similar), with distance thresholds", () => {
    const evaluator = new BinaryClassificationEvaluator(sentences1, sentences2, labels, {
      similarityFnNames: ["cosine", "euclidean", "manhattan"],
    });
    const metrics = withoutLeaks(() => evaluator.evaluate(model));
    // unit vectors: euclidean distance sqrt(2 - 2c), manhattan 1 - c + sqrt(1 - c^2), both decreasing in c,
    // so the classifications equal the cosine ones and the thresholds are midpoints of distances
    const euclidean = (c: number) => Math.sqrt(2 - 2 * c);
    const manhattan = (c: number) => 1 - c + Math.sqrt(1 - c * c);
    for (const [fn, distance] of [
      ["euclidean", euclidean],
      ["manhattan", manhattan],
    ] as const) {
      assertNear(metrics[`${fn}_accuracy`], 5 / 6, 1e-12, `${fn}_accuracy`);
      assertNear(metrics[`${fn}_accuracy_threshold`], (distance(0.8) + distance(0.7)) / 2, 1e-6, `${fn} threshold`);
      assertNear(metrics[`${fn}_f1`], 6 / 7, 1e-12, `${fn}_f1`);
      assertNear(metrics[`${fn}_f1_threshold`], (distance(0.6) + distance(0.4)) / 2, 1e-6, `${fn} f1 threshold`);
      assertNear(metrics[`${fn}_ap`], 2.75 / 3, 1e-12, `${fn}_ap`);
      assertNear(metrics[`${fn}_mcc`], 6 / Math.sqrt(72), 1e-12, `${fn}_mcc`);
    }
    // the reference's max_<metric> takes the maximum of thresholds too
    const accuracyThresholds = [0.75, (euclidean(0.8) + euclidean(0.7)) / 2, (manhattan(0.8) + manhattan(0.7)) / 2];
    assertNear(metrics["max_accuracy_threshold"], Math.max(...accuracyThresholds), 1e-6, "max_accuracy_threshold");
    assert.equal(Object.keys(metrics).length, 4 * 8);
    assert.equal(evaluator.primaryMetric, "max_ap");
  });

  it("matches a brute-force computation on the tiny BERT's cosines", () => {
    const s1 = [...pairs1, ...pairs1];
    const s2 = [...pairs2, ...[...pairs2].reverse()];
    const y = [1, 0, 1, 1, 0, 0, 0, 0];
    const metrics = withoutLeaks(() => new BinaryClassificationEvaluator(s1, s2, y).evaluate(tinyBert));
    const [e1, e2] = [tinyBert.encode(s1), tinyBert.encode(s2)];
    const scores = e1.map((row, i) => cosine(row, e2[i]!));
    // accuracy: the best over every cut between two distinct sorted scores
    const sorted = [...new Set(scores)].sort((a, b) => b - a);
    const cuts = sorted.slice(1).map((s, i) => (sorted[i]! + s) / 2);
    const accuracyAt = (t: number) => scores.filter((s, i) => Number(s >= t) === y[i]).length / y.length;
    assertNear(metrics["cosine_accuracy"], Math.max(...cuts.map(accuracyAt)), 1e-12, "accuracy");
    // AP: mean over positives of the precision at their rank
    const ranked = scores.map((s, i) => [s, y[i]!] as const).sort((a, b) => b[0] - a[0]);
    let found = 0;
    const precisions = ranked.flatMap(([, label], rank) => (label === 1 ? [++found / (rank + 1)] : []));
    assertNear(metrics["cosine_ap"], precisions.reduce((a, b) => a + b) / precisions.length, 1e-12, "ap");
  });

  it("writes the reference's CSV columns and rejects labels other than 0/1", () => {
    const { dir, cleanup } = tempFolder();
    try {
      new BinaryClassificationEvaluator(sentences1, sentences2, labels, { name: "b" }).evaluate(model, {
        outputPath: dir,
      });
      const [header] = fs
        .readFileSync(path.join(dir, "binary_classification_evaluation_b_results.csv"), "utf8")
        .split("\r\n");
      assert.equal(
        header,
        "epoch,steps,cosine_accuracy,cosine_accuracy_threshold,cosine_f1,cosine_precision,cosine_recall,cosine_f1_threshold,cosine_ap,cosine_mcc",
      );
    } finally {
      cleanup();
    }
    assert.throws(
      () => new BinaryClassificationEvaluator(["a", "b"], ["c", "d"], [1, 2]),
      /BinaryClassificationEvaluator: labels must be 0 or 1, got labels\[1\] = 2/,
    );
  });
});

describe("matthewsCorrelation", () => {
  it("is (tp tn - fp fn) / sqrt of the four margins, and 0 when one margin is empty (as scikit-learn)", () => {
    // tp 2, tn 1, fp 1, fn 1: (2 - 1) / sqrt(3 * 3 * 2 * 2)
    assertNear(matthewsCorrelation([1, 1, 0, 1, 0], [1, 1, 1, 0, 0]), 1 / 6, 1e-15, "mixed");
    assert.equal(matthewsCorrelation([1, 0, 1], [1, 0, 1]), 1);
    assert.equal(matthewsCorrelation([1, 0, 1], [0, 1, 0]), -1);
    assert.equal(matthewsCorrelation([1, 0, 1], [1, 1, 1]), 0); // nothing predicted negative
  });
});

describe("MSEEvaluator", () => {
  const teacher = lookupModel({ x: [1, 2], y: [0, 0] });
  const student = lookupModel({ "x (de)": [1, 0], "y (de)": [1, 1] });

  it("reports minus 100 times the mean squared error between teacher and student embeddings", () => {
    const evaluator = new MSEEvaluator(["x", "y"], ["x (de)", "y (de)"], { teacherModel: teacher, name: "en-de" });
    // differences [0, 2] and [-1, -1]: squares 0, 4, 1, 1 -> mean 1.5
    assert.deepEqual(
      withoutLeaks(() => evaluator.evaluate(student)),
      { "en-de_negative_mse": -150 },
    );
    assert.equal(evaluator.primaryMetric, "en-de_negative_mse");
    assert.equal(evaluator.greaterIsBetter, true);
    const precomputed = new MSEEvaluator(["x", "y"], ["x (de)", "y (de)"], {
      teacherEmbeddings: [
        [1, 2],
        [0, 0],
      ],
    });
    assert.deepEqual(precomputed.evaluate(student), { negative_mse: -150 });
  });

  it("is zero for the teacher itself, and writes mse_evaluation_{name}_results.csv", () => {
    const { dir, cleanup } = tempFolder();
    try {
      const evaluator = new MSEEvaluator(pairs1, pairs1, { teacherModel: tinyBert });
      const value = evaluator.evaluate(tinyBert, { outputPath: dir, epoch: 3, steps: 7 })["negative_mse"];
      assert.ok(value === 0, `negative_mse = ${value}`);
      const text = fs.readFileSync(path.join(dir, "mse_evaluation__results.csv"), "utf8");
      assert.equal(text, "epoch,steps,MSE\r\n3,7,0.0\r\n");
    } finally {
      cleanup();
    }
  });

  it("needs exactly one teacher, and embeddings of the same width", () => {
    assert.throws(
      () => new MSEEvaluator(["x"], ["y"], {}),
      /MSEEvaluator: pass exactly one of teacherModel and teacherEmbeddings/,
    );
    const narrow = new MSEEvaluator(["x"], ["x (de)"], { teacherEmbeddings: [[1, 2, 3]] });
    assert.throws(() => narrow.evaluate(student), /teacher embeddings have 3 dimensions, the model's 2 \(row 0\)/);
  });
});

describe("ParaphraseMiningEvaluator", () => {
  // unit vectors at 0, 10, 30 and 90 degrees: mined pairs, best first: AB (cos 10), BC (cos 20), AC (cos 30),
  // CD (cos 60), BD (cos 80), AD (cos 90)
  const model = lookupModel({ A: unit(0), B: unit(10), C: unit(30), D: unit(90) });
  const sentences = { a: "A", b: "B", c: "C", d: "D" };
  const cos = (degrees: number) => Math.cos((degrees * Math.PI) / 180);

  it("scores the mined pairs against the duplicates: average precision, best F1 and its threshold", () => {
    const evaluator = new ParaphraseMiningEvaluator(sentences, {
      duplicatesList: [
        ["a", "c"],
        ["c", "d"],
        ["a", "zz"],
      ],
    });
    assert.equal(evaluator.totalNumDuplicates, 2); // ["a", "zz"] is ignored: zz is not a sentence
    const metrics = withoutLeaks(() => evaluator.evaluate(model));
    // AC found 3rd: precision 1/3, recall 1/2, F1 0.4; CD found 4th: precision 1/2, recall 1, F1 2/3 (best),
    // threshold halfway between CD and BD; AP = (1/3 + 1/2) / 2
    assert.deepEqual(Object.keys(metrics), ["average_precision", "f1", "precision", "recall", "threshold"]);
    assertNear(metrics["average_precision"], 5 / 12, 1e-12, "average_precision");
    assertNear(metrics["f1"], 2 / 3, 1e-12, "f1");
    assertNear(metrics["precision"], 1 / 2, 1e-12, "precision");
    assertNear(metrics["recall"], 1, 1e-12, "recall");
    assertNear(metrics["threshold"], (cos(60) + cos(80)) / 2, 1e-6, "threshold");
    assert.equal(evaluator.primaryMetric, "average_precision");
  });

  it("adds the transitive closure when asked (a-c and c-d make a-d a duplicate)", () => {
    const evaluator = new ParaphraseMiningEvaluator(sentences, {
      duplicatesDict: { a: { c: true }, c: { a: true, d: true }, d: { c: true } },
      addTransitiveClosure: true,
      name: "closed",
    });
    assert.equal(evaluator.totalNumDuplicates, 3);
    const metrics = evaluator.evaluate(model);
    // AC 3rd (1/3), CD 4th (2/4), AD 6th (3/6, recall 1, F1 2/3 best; the last pair: threshold = its own score)
    assertNear(metrics["closed_average_precision"], (1 / 3 + 1 / 2 + 1 / 2) / 3, 1e-12, "average_precision");
    assertNear(metrics["closed_f1"], 2 / 3, 1e-12, "f1");
    assertNear(metrics["closed_threshold"], cos(90), 1e-6, "threshold");
    assert.equal(evaluator.primaryMetric, "closed_average_precision");
  });

  it("rejects a duplicate list with no pair inside sentencesMap", () => {
    assert.throws(
      () => new ParaphraseMiningEvaluator(sentences, { duplicatesList: [["a", "x"]] }),
      /ParaphraseMiningEvaluator: no duplicate pair has both ids in sentencesMap \(4 sentences\)/,
    );
  });
});

describe("SequentialEvaluator", () => {
  it("returns every evaluator's metrics and combines their primary metrics into sequential_score", () => {
    const model = lookupModel({ a: [1, 0], b: [1, 0.1], c: [0, 1], x: [1, 2], y: [0, 0] });
    const triplets = new TripletEvaluator(["a"], ["b"], ["c"], { name: "t" });
    const mse = new MSEEvaluator(["x"], ["y"], { teacherEmbeddings: [[1, 2]], name: "m" });
    const last = new SequentialEvaluator([triplets, mse]);
    const metrics = withoutLeaks(() => last.evaluate(model));
    // MSE of [1, 2] vs [0, 0]: (1 + 4) / 2 = 2.5
    assert.deepEqual(metrics, { t_cosine_accuracy: 1, m_negative_mse: -250, sequential_score: -250 });
    assert.equal(last.primaryMetric, "sequential_score");
    const mean = new SequentialEvaluator([triplets, mse], (scores) => scores.reduce((a, b) => a + b) / scores.length);
    assert.equal(mean.evaluate(model)["sequential_score"], (1 - 250) / 2);
  });
});
