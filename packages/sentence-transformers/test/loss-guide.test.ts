// The loss guide: the losses' metadata, docs/losses.md (generated from it), lossesForData and the
// conversions, the data-format helpers, `stts losses`, and the trainer's data check.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { main, type CliIo } from "../src/cli/main.js";
import type { Features } from "../src/features.js";
import * as library from "../src/index.js";
import {
  CONVERSIONS,
  DATA_FORMATS,
  GUIDE_LOSSES,
  conversionToLoss,
  conversionsForData,
  describePath,
  detectFormats,
  extractExampleRegions,
  lossGuideEntries,
  lossGuideEntry,
  lossesForData,
  missingLossMetadata,
  parseCitation,
  profileDataset,
  renderLossDocs,
  specTakesFormat,
  type LossClass,
} from "../src/losses/guide.js";
import { Loss } from "../src/losses/loss.js";
import { MatryoshkaLoss } from "../src/losses/matryoshka-loss.js";
import { MultipleNegativesRankingLoss } from "../src/losses/multiple-negatives-ranking-loss.js";
import { TripletLoss } from "../src/losses/triplet-loss.js";
import { SentenceTransformer } from "../src/sentence-transformer.js";
import { Dataset, loadDelimited } from "../src/training/dataset.js";
import { TrainingDataError } from "../src/training/data-checks.js";
import { SentenceTransformerTrainer } from "../src/training/trainer.js";
import * as dataFormats from "../src/util/data-formats.js";
import {
  classLabelsToIds,
  contrastiveTensionDataset,
  mineHardNegatives,
  pairsAboveThreshold,
  pairsToTriplets,
  pairsToTripletsDataset,
  pairsWithLabel,
  tripletsByAnchor,
} from "../src/util/data-formats.js";
import * as noise from "../src/util/noise.js";
import { LOSS_EXAMPLES } from "./loss-guide-examples.js";
import { assertNoLeak, repoRoot, sharedDataDir, tempFolder, tinyBertDir, withOfflineHubCache } from "./models-util.js";
import { stsbPairs } from "./trainer-util.js";
import { parquetWriteFile } from "hyparquet-writer";

const docPath = path.join(repoRoot, "docs", "losses.md");
const examplesPath = path.join(repoRoot, "packages", "sentence-transformers", "test", "loss-guide-examples.ts");
const stsbTrain = path.join(sharedDataDir, "stsbenchmark", "sts-train.csv");

/** The loss classes the library exports (every exported subclass of Loss but the abstract bases). */
const ABSTRACT_BASES = new Set(["Loss", "GradCacheLoss"]);
const exportedLossClasses = Object.entries(library)
  .filter(
    ([name, value]) => typeof value === "function" && value.prototype instanceof Loss && !ABSTRACT_BASES.has(name),
  )
  .map(([name]) => name)
  .sort();

/** Runs the CLI in-process, capturing what it writes. */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), readStdin: async () => "" };
  const code = await main(argv, io);
  return { code, out: out.join(""), err: err.join("") };
}

/** The numbered loss names of a `stts losses --data` report, in order. */
function listedLosses(report: string): string[] {
  return [...report.matchAll(/^ +\d+\. (\w+)/gm)].map((m) => m[1]!);
}

const STS_OPTIONS = [
  "--delimiter",
  "tab",
  "--columns",
  ",,,,score,sentence1,sentence2",
  "--numeric-columns",
  "score",
  "--ignore-extra-fields",
];

// ---- the metadata ------------------------------------------------------------------------------------

describe("loss metadata", () => {
  it("the guide holds exactly the loss classes the library exports", () => {
    assert.equal(exportedLossClasses.length, 27);
    assert.deepEqual(GUIDE_LOSSES.map((c) => c.name).sort(), exportedLossClasses);
  });

  it("every loss declares its metadata; a class without it is named, with the missing fields", () => {
    for (const lossClass of GUIDE_LOSSES) assert.deepEqual(missingLossMetadata(lossClass), [], lossClass.name);
    // a subclass inherits inputColumns/labelKind but must describe itself
    class ShiftedTripletLoss extends TripletLoss {}
    assert.deepEqual(missingLossMetadata(ShiftedTripletLoss), [
      "category",
      "description",
      "dataFormats",
      "commonChoiceFor",
    ]);
    class BareLoss extends Loss {
      override forward(_features: Features[]): never {
        throw new Error("unused");
      }
    }
    assert.deepEqual(missingLossMetadata(BareLoss), [
      "inputColumns",
      "labelKind",
      "category",
      "description",
      "dataFormats",
      "commonChoiceFor",
    ]);
    assert.throws(
      () => lossGuideEntry(ShiftedTripletLoss as LossClass),
      /^Error: ShiftedTripletLoss declares no static category, description, dataFormats, commonChoiceFor/,
    );
  });

  it("declared formats agree with the declared columns and labels; common choices are among them", () => {
    for (const entry of lossGuideEntries()) {
      assert.equal(entry.category === "modifier", entry.labelKind === "inner", entry.name);
      assert.equal(entry.category === "modifier", entry.dataFormats.length === 0, entry.name);
      assert.ok(entry.description.length > 20 && entry.description.endsWith("."), entry.name);
      for (const id of entry.dataFormats) {
        const format = DATA_FORMATS.find((f) => f.id === id)!;
        assert.ok(specTakesFormat(entry, format), `${entry.name} declares ${id}, which its columns/labels do not take`);
      }
      for (const id of entry.commonChoiceFor) assert.ok(entry.dataFormats.includes(id), `${entry.name}: ${id}`);
    }
    // every format has a common choice, or (a starting point) a conversion out of it
    for (const format of DATA_FORMATS) {
      const takers = lossGuideEntries().filter((e) => e.dataFormats.includes(format.id));
      if (takers.length > 0) {
        assert.ok(
          takers.some((e) => e.commonChoiceFor.includes(format.id)),
          `${format.id} has no common choice`,
        );
      } else {
        assert.ok(
          CONVERSIONS.some((c) => c.from === format.id),
          `${format.id}: no loss and no conversion`,
        );
      }
    }
  });

  it("reads each paper from the loss's citation; the losses without one are those of the reference", () => {
    const withoutPaper = lossGuideEntries()
      .filter((e) => e.paper === null)
      .map((e) => e.name);
    assert.deepEqual(withoutPaper, [
      "MultipleNegativesSymmetricRankingLoss",
      "CachedMultipleNegativesSymmetricRankingLoss",
      "CosineSimilarityLoss",
      "OnlineContrastiveLoss",
    ]);
    for (const entry of lossGuideEntries().filter((e) => e.paper !== null)) {
      assert.ok(/^\d{4}$/.test(entry.paper!.year) && entry.paper!.title.length > 10, entry.name);
      assert.ok(entry.paper!.url?.startsWith("https://"), `${entry.name}: ${entry.paper!.url}`);
    }
    // one entry by hand: arXiv eprint -> abstract url; "Last, First" and "First Last" author forms
    assert.deepEqual(
      parseCitation(`@misc{x, title={In Defense of the {T}riplet Loss}, author={Alexander Hermans and Lucas Beyer},
        year={2017}, eprint={1703.07737}, archivePrefix={arXiv}}`),
      {
        title: "In Defense of the Triplet Loss",
        authors: "Hermans et al.",
        year: "2017",
        url: "https://arxiv.org/abs/1703.07737",
      },
    );
    assert.equal(
      parseCitation(`@x{y, author = "Wang, Kexin and Reimers, Nils", year = "2021"}`).authors,
      "Wang et al.",
    );
  });

  it("every conversion calls a helper the library has", () => {
    for (const conversion of CONVERSIONS) {
      const name = /^(?:new )?([\w.]+)\(/.exec(conversion.call)![1]!;
      const found = name.startsWith("dataset.")
        ? typeof (Dataset.prototype as unknown as Record<string, unknown>)[name.slice("dataset.".length)] === "function"
        : name === "Dataset" || name in dataFormats || name in noise;
      assert.ok(found, `${conversion.call}: no helper '${name}'`);
    }
  });
});

// ---- docs/losses.md ----------------------------------------------------------------------------------

describe("docs/losses.md", () => {
  const doc = fs.readFileSync(docPath, "utf8");
  const examples = extractExampleRegions(fs.readFileSync(examplesPath, "utf8"));

  it("is up to date with the generator (run `npm run docs:losses` after changing a loss's metadata)", () => {
    const expected = renderLossDocs(doc, examples).split("\n");
    const actual = doc.split("\n");
    const line = expected.findIndex((text, i) => text !== actual[i]);
    if (line >= 0 || expected.length !== actual.length) {
      const at = line >= 0 ? line : Math.min(expected.length, actual.length);
      assert.fail(
        `docs/losses.md differs from the generator at line ${at + 1}: run \`npm run docs:losses\`\n` +
          `  file:      ${actual[at] ?? "(end of file)"}\n  generated: ${expected[at] ?? "(end of file)"}`,
      );
    }
  });

  it("lists every loss class the library exports, in the tables and with a section of its own", () => {
    for (const name of exportedLossClasses) {
      assert.ok(doc.includes(`\n#### ${name}\n`), `no section for ${name}`);
      assert.ok(doc.includes(`| [${name}](#${name.toLowerCase()}) |`), `${name} missing from the table of every loss`);
    }
    const sections = [...doc.matchAll(/^#### (\w+)$/gm)].map((m) => m[1]!).sort();
    assert.deepEqual(sections, exportedLossClasses);
  });

  it("has one example per loss, the same set as the examples the tests run", () => {
    assert.deepEqual(Object.keys(examples).sort(), exportedLossClasses);
    assert.deepEqual(Object.keys(LOSS_EXAMPLES).sort(), exportedLossClasses);
  });
});

describe("the examples of docs/losses.md", () => {
  let teacher: SentenceTransformer;
  before(() => void (teacher = SentenceTransformer.loadFolder(tinyBertDir)));
  after(() => teacher.dispose());

  for (const name of Object.keys(LOSS_EXAMPLES)) {
    it(`${name}: its data is a format the guide matches to it, and the trainer takes one step on it`, async () => {
      const model = SentenceTransformer.loadFolder(tinyBertDir);
      const out = tempFolder("stts-loss-guide-");
      try {
        const { loss, trainDataset } = LOSS_EXAMPLES[name]!({ model, teacher });
        assert.equal(loss.constructor.name, name);
        // the data fits the loss (a modifier: the loss it wraps) according to lossesForData
        const inner = (loss as unknown as { loss?: Loss }).loss;
        const innermost = inner instanceof MatryoshkaLoss ? inner.loss : inner;
        const expected = loss.constructor.name.match(/Matryoshka|AdaptiveLayer/)
          ? (innermost as Loss).constructor.name
          : name;
        assert.ok(
          lossesForData(trainDataset).some((fit) => fit.name === expected),
          `${expected} not among ${lossesForData(trainDataset)
            .map((f) => f.name)
            .join(", ")}`,
        );
        const trainer = new SentenceTransformerTrainer({
          model,
          args: {
            outputDir: out.dir,
            maxSteps: 1,
            perDeviceTrainBatchSize: trainDataset.length,
            saveStrategy: "no",
            loggingSteps: 1,
          },
          trainDataset,
          loss,
          log: null,
        });
        await trainer.train();
        const logged = trainer.state.logHistory.find((entry) => "loss" in entry);
        assert.ok(logged !== undefined && Number.isFinite(logged.loss), JSON.stringify(trainer.state.logHistory));
        loss.dispose();
      } finally {
        model.dispose();
        out.cleanup();
      }
    });
  }
});

// ---- matching data to losses -------------------------------------------------------------------------

describe("lossesForData", () => {
  const names = (dataset: Dataset) => lossesForData(dataset).map((fit) => fit.name);

  it("scored pairs: CoSENTLoss and AnglELoss (common), then CosineSimilarityLoss with a note on the scale", () => {
    const fits = lossesForData(stsbPairs("train", 50)); // scores / 5: in [0, 1]
    assert.deepEqual(
      fits.map((f) => [f.name, f.common]),
      [
        ["CoSENTLoss", true],
        ["AnglELoss", true],
        ["CosineSimilarityLoss", false],
      ],
    );
    assert.equal(fits[2]!.note, null);
    const raw = new Dataset({ a: ["x", "y"], b: ["z", "w"], score: [0.5, 4.5] });
    assert.equal(
      lossesForData(raw)[2]!.note,
      "it regresses cosine similarities onto the scores: scale them (0.5 to 4.5) to [0, 1] first",
    );
  });

  it("0/1 pairs: the binary losses first, then SoftmaxLoss (2 classes), then the score losses", () => {
    const data = new Dataset({ a: ["a", "b", "c"], b: ["d", "e", "f"], label: [1, 0, true] });
    assert.deepEqual(detectFormats(data), ["binary-pairs", "class-pairs", "scored-pairs"]);
    assert.deepEqual(names(data), [
      "OnlineContrastiveLoss",
      "ContrastiveLoss",
      "SoftmaxLoss",
      "CoSENTLoss",
      "AnglELoss",
      "CosineSimilarityLoss",
    ]);
    assert.equal(lossesForData(data)[2]!.note, "numLabels: 2");
  });

  it("whole-number scores (a column named score) are ratings first, classes second", () => {
    const ratings = new Dataset({ a: ["a", "b", "c"], b: ["d", "e", "f"], score: [1, 5, 3] });
    assert.deepEqual(names(ratings), ["CoSENTLoss", "AnglELoss", "CosineSimilarityLoss", "SoftmaxLoss"]);
    assert.equal(
      lossesForData(ratings)[2]!.note,
      "it regresses cosine similarities onto the scores: scale them (1 to 5) to [0, 1] first",
    );
    const classes = new Dataset({ a: ["a", "b", "c"], b: ["d", "e", "f"], label: [1, 5, 3] });
    assert.deepEqual(names(classes), ["SoftmaxLoss"]);
  });

  it("profiles a large dataset without spreading it into a call", () => {
    const rows = 300_000;
    const big = new Dataset({
      a: new Array<string>(rows).fill("x"),
      b: new Array<string>(rows).fill("y"),
      score: Array.from({ length: rows }, (_, i) => (i % 1000) + 0.5),
    });
    const label = profileDataset(big).label;
    assert.deepEqual(label, { type: "float", column: "score", min: 0.5, max: 999.5 });
    assert.equal(pairsAboveThreshold(big, 999).length, rows / 1000);
  });

  it("class pairs with ids that are not 0 ... k-1 get a note for SoftmaxLoss", () => {
    const data = new Dataset({ a: ["a", "b"], b: ["c", "d"], label: [1, 3] });
    assert.deepEqual(lossesForData(data), [
      {
        name: "SoftmaxLoss",
        format: "class-pairs",
        common: true,
        note: "numLabels: 4; labels must be class ids 0 ... numLabels - 1 (found 1, 3)",
      },
    ]);
  });

  it("recognises the unsupervised formats by what the texts are", () => {
    const texts = ["The sun rises in the east.", "Water boils at 100 degrees.", "Bees make honey in hives."];
    assert.equal(names(new Dataset({ a: texts, b: texts }))[0], "ContrastiveTensionLossInBatchNegatives");
    assert.equal(names(noise.denoisingAutoEncoderDataset(texts, { seed: 3 }))[0], "DenoisingAutoEncoderLoss");
    assert.equal(names(contrastiveTensionDataset(texts, { posNegRatio: 2 }))[0], "ContrastiveTensionLoss");
    // plain (anchor, positive) pairs are none of these
    assert.deepEqual(detectFormats(new Dataset({ q: ["a b"], p: ["c d"] })), ["pairs"]);
  });

  it("triplets, n-tuples, single sentences with classes, teacher labels", () => {
    const t = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`c${i}`, ["x", "y"]]));
    assert.deepEqual(names(new Dataset(t(3))), [
      "MultipleNegativesRankingLoss",
      "CachedMultipleNegativesRankingLoss",
      "MultipleNegativesSymmetricRankingLoss",
      "CachedMultipleNegativesSymmetricRankingLoss",
      "GISTEmbedLoss",
      "CachedGISTEmbedLoss",
      "TripletLoss",
    ]);
    const five = names(new Dataset(t(5))); // GISTEmbedLoss takes at most 3 columns, TripletLoss exactly 3
    assert.ok(
      five[0] === "MultipleNegativesRankingLoss" && !five.includes("GISTEmbedLoss") && !five.includes("TripletLoss"),
    );
    assert.equal(names(new Dataset({ text: ["a", "b"], label: [0, 1] }))[0], "BatchAllTripletLoss");
    // (q, p, n) + [score(q, p), score(q, n)]: teacher scores, then (any vector) teacher embeddings
    const scored = new Dataset({
      ...t(3),
      label: [
        [1, 2],
        [3, 4],
      ],
    });
    assert.deepEqual(names(scored), ["MarginMSELoss", "DistillKLDivLoss", "MSELoss"]);
    assert.deepEqual(names(new Dataset({ ...t(3), label: [0.5, 2.5] })), ["MarginMSELoss"]);
    assert.deepEqual(
      names(
        new Dataset({
          ...t(2),
          label: [
            [1, 2, 3],
            [4, 5, 6],
          ],
        }),
      ),
      ["MSELoss"],
    );
  });

  it("text labels fit no loss until classLabelsToIds numbers them", () => {
    const data = new Dataset({ a: ["a", "b"], b: ["c", "d"], label: ["yes", "no"] });
    assert.deepEqual(names(data), []);
    const [conversion] = conversionsForData(data);
    assert.equal(describePath(conversion!), "classLabelsToIds(dataset)");
    assert.deepEqual(conversion!.opens, ["SoftmaxLoss"]);
  });

  it("finds the conversion to a chosen loss, over two steps when needed", () => {
    const stsb = stsbPairs("train", 20);
    assert.equal(
      describePath(conversionToLoss(stsb, MultipleNegativesRankingLoss)!),
      "pairsAboveThreshold(dataset, threshold)",
    );
    const toTriplet = conversionToLoss(stsb, TripletLoss)!;
    assert.equal(
      describePath(toTriplet),
      "pairsAboveThreshold(dataset, threshold), then mineHardNegatives(model, dataset)",
    );
    assert.equal(toTriplet.to, "triplets");
  });
});

// ---- the data-format helpers -------------------------------------------------------------------------

describe("data-format helpers", () => {
  const scored = new Dataset(
    { s1: ["a", "b", "c", "d"], s2: ["e", "f", "g", "h"], score: [4.5, 1, 4, 3.99] },
    "scored",
  );

  it("pairsAboveThreshold keeps the pairs scored at least the threshold, without the score", () => {
    const pairs = pairsAboveThreshold(scored, 4);
    assert.deepEqual(pairs.columnNames, ["s1", "s2"]);
    assert.deepEqual(
      [...pairs],
      [
        { s1: "a", s2: "e" },
        { s1: "c", s2: "g" },
      ],
    ); // 4.5 and 4; not 3.99
    assert.equal(pairs.name, "scored");
    assert.throws(
      () => pairsAboveThreshold(scored, 5),
      /pairsAboveThreshold: no row of dataset 'scored' has a score of at least 5 \(scores range from 1 to 4.5\)/,
    );
    assert.throws(
      () => pairsAboveThreshold(new Dataset({ a: ["x"], b: ["y"] }, "bare"), 1),
      /pairsAboveThreshold: dataset 'bare' has no label column/,
    );
  });

  it("pairsWithLabel keeps one label (booleans count as 0/1)", () => {
    const data = new Dataset({ a: ["a", "b", "c"], b: ["d", "e", "f"], label: [1, 0, true] });
    assert.deepEqual(
      [...pairsWithLabel(data, 1)],
      [
        { a: "a", b: "d" },
        { a: "c", b: "f" },
      ],
    );
    assert.deepEqual([...pairsWithLabel(data, 0)], [{ a: "b", b: "e" }]);
  });

  it("pairsToTripletsDataset is pairsToTriplets on a dataset", () => {
    const data = new Dataset({
      a: ["A cat sleeps.", "The car is red.", "Dogs bark."],
      b: ["A kitten naps.", "A red automobile.", "A puppy yelps."],
      label: ["animal", "vehicle", "animal"],
    });
    const triplets = pairsToTripletsDataset(data, { seed: 7 });
    const expected = pairsToTriplets(
      [0, 1, 2].map((i) => ({
        sentenceA: data.column("a")[i] as string,
        sentenceB: data.column("b")[i] as string,
        label: data.column("label")[i] as string,
      })),
      { seed: 7 },
    ).triplets;
    assert.deepEqual([...triplets], expected);
  });

  it("tripletsByAnchor builds (premise, entailment, contradiction) triplets", () => {
    const nli = new Dataset({
      premise: ["P1", "P1", "P1", "P2", "P2", "P3"],
      hypothesis: ["e1", "n1", "c1", "e2", "e2b", "c3"],
      label: [0, 1, 2, 0, 0, 2],
    });
    // P1: one entailment, one contradiction; P2: no contradiction (left out); P3: no entailment
    assert.deepEqual(
      [...tripletsByAnchor(nli, { positiveLabel: 0, negativeLabel: 2 })],
      [{ anchor: "P1", positive: "e1", negative: "c1" }],
    );
    const apart = new Dataset({ premise: ["P2", "P3"], hypothesis: ["e2", "c3"], label: [0, 2] }, "apart");
    assert.throws(
      () => tripletsByAnchor(apart, { positiveLabel: 0, negativeLabel: 2 }),
      /no sentence_A of dataset 'apart' has both a pair labelled 0 and one labelled 2/,
    );
    assert.equal(profileDataset(nli).sharedAnchors, true);
  });

  it("classLabelsToIds numbers class names, sorted or in the given order", () => {
    const data = new Dataset({ a: ["x", "y", "z"], label: ["neutral", "entailment", "neutral"] });
    const sorted = classLabelsToIds(data);
    assert.deepEqual(sorted.names, ["entailment", "neutral"]);
    assert.deepEqual(sorted.dataset.column("label"), [1, 0, 1]);
    const given = classLabelsToIds(data, ["neutral", "entailment", "contradiction"]);
    assert.deepEqual(given.dataset.column("label"), [0, 1, 0]);
    assert.throws(() => classLabelsToIds(data, ["neutral"]), /row 1: label "entailment" is not one of neutral/);
  });

  it("contrastiveTensionDataset pairs each posNegRatio-th sentence with itself, the others with the next", () => {
    const sentences = ["s0", "s1", "s2", "s3", "s4", "s5", "s6"];
    const data = contrastiveTensionDataset(sentences, { posNegRatio: 2, seed: 5 });
    const rows = [...data];
    // walking the shuffled list: pair 0 (s, s, 1) uses 1 sentence, pair 1 (s, next, 0) uses 2, and so on
    assert.deepEqual(
      rows.map((r) => r.label),
      [1, 0, 1, 0],
    );
    rows.forEach((row) => assert.equal(row.sentence1 === row.sentence2, row.label === 1));
    const used = rows.flatMap((r) => (r.label === 1 ? [r.sentence1] : [r.sentence1, r.sentence2]));
    assert.equal(new Set(used).size, 6); // 1 + 2 + 1 + 2 distinct sentences of the 7
    assert.deepEqual([...contrastiveTensionDataset(sentences, { posNegRatio: 2, seed: 5 })], rows); // seeded
  });

  describe("mineHardNegatives", () => {
    let model: SentenceTransformer;
    before(() => void (model = SentenceTransformer.loadFolder(tinyBertDir)));
    after(() => model.dispose());

    const anchors = [
      "A man is playing a guitar.",
      "A woman is slicing an onion.",
      "Two dogs run on the beach.",
      "A child reads a book.",
    ];
    const positives = [
      "A man plays the guitar.",
      "Someone cuts an onion.",
      "Dogs are running by the sea.",
      "A kid is reading.",
    ];
    const corpus = [...positives, "A man plays a violin.", "A chef chops vegetables.", "Cats sleep in the sun."];
    const pairs = new Dataset({ anchor: anchors, positive: positives });

    /** The corpus texts ranked by cosine similarity to `anchor` (computed here, not by semanticSearch). */
    function rankedByCosine(anchor: string, exclude: readonly string[]): { text: string; score: number }[] {
      const [a] = model.encode([anchor]);
      const rows = model.encode(corpus);
      const cosine = (x: Float32Array, y: Float32Array) => {
        let dot = 0;
        let nx = 0;
        let ny = 0;
        for (let i = 0; i < x.length; i++) [dot, nx, ny] = [dot + x[i]! * y[i]!, nx + x[i]! ** 2, ny + y[i]! ** 2];
        return dot / Math.sqrt(nx * ny);
      };
      return corpus
        .map((text, i) => ({ text, score: cosine(a!, rows[i]!) }))
        .filter((c) => !exclude.includes(c.text))
        .sort((x, y) => y.score - x.score);
    }

    it("takes the candidates the model ranks closest, leaving out the anchor's positives", async () => {
      await assertNoLeak(() => {
        const triplets = mineHardNegatives(model, pairs, { corpus, numNegatives: 2 });
        assert.deepEqual(triplets.columnNames, ["anchor", "positive", "negative"]);
        assert.equal(triplets.length, 8); // 2 rows per pair
        anchors.forEach((anchor, i) => {
          const expected = rankedByCosine(anchor, [positives[i]!])
            .slice(0, 2)
            .map((c) => c.text);
          const rows = [...triplets].filter((r) => r.anchor === anchor);
          assert.deepEqual(
            rows.map((r) => r.negative),
            expected,
            anchor,
          );
          rows.forEach((r) => assert.equal(r.positive, positives[i]));
        });
      });
    });

    it("rangeMin skips the closest candidates; asTriplets false gives one row with negative_1 ... negative_n", () => {
      const tuples = mineHardNegatives(model, pairs, { corpus, numNegatives: 2, rangeMin: 1, asTriplets: false });
      assert.deepEqual(tuples.columnNames, ["anchor", "positive", "negative_1", "negative_2"]);
      assert.equal(tuples.length, 4);
      anchors.forEach((anchor, i) => {
        const expected = rankedByCosine(anchor, [positives[i]!])
          .slice(1, 3)
          .map((c) => c.text);
        const row = [...tuples].find((r) => r.anchor === anchor)!;
        assert.deepEqual([row.negative_1, row.negative_2], expected, anchor);
      });
    });

    it("maxScore and margin leave out candidates that score too high; pairs left with none are dropped", () => {
      const ranked = anchors.map((anchor, i) => rankedByCosine(anchor, [positives[i]!]));
      // a maxScore between the best and second-best candidate of anchor 0
      const cut = (ranked[0]![0]!.score + ranked[0]![1]!.score) / 2;
      const mined = mineHardNegatives(model, pairs, { corpus, numNegatives: 1, maxScore: cut });
      anchors.forEach((anchor, i) => {
        const expected = ranked[i]!.find((c) => c.score <= cut);
        const row = [...mined].find((r) => r.anchor === anchor);
        assert.equal(row?.negative, expected?.text, anchor);
      });
      // margin: only candidates scoring at most sim(anchor, positive) - margin
      const margin = 0.02;
      const withMargin = mineHardNegatives(model, pairs, { corpus, numNegatives: 1, margin });
      anchors.forEach((anchor, i) => {
        const own = rankedByCosine(anchor, []).find((c) => c.text === positives[i])!.score;
        const expected = ranked[i]!.find((c) => c.score <= own - margin);
        assert.equal([...withMargin].find((r) => r.anchor === anchor)?.negative, expected?.text, anchor);
      });
      // margin 2: the ceiling sim(anchor, positive) - 2 <= -1 is below every candidate: no pair is left
      assert.equal(mineHardNegatives(model, pairs, { corpus, margin: 2 }).length, 0);
    });

    it("random sampling draws from the candidates in range, the same for the same seed", () => {
      const a = mineHardNegatives(model, pairs, { corpus, numNegatives: 2, rangeMax: 3, samplingStrategy: "random" });
      const b = mineHardNegatives(model, pairs, { corpus, numNegatives: 2, rangeMax: 3, samplingStrategy: "random" });
      assert.deepEqual([...a], [...b]);
      anchors.forEach((anchor, i) => {
        const pool = rankedByCosine(anchor, [positives[i]!])
          .slice(0, 3)
          .map((c) => c.text);
        for (const row of [...a].filter((r) => r.anchor === anchor)) assert.ok(pool.includes(row.negative as string));
      });
    });

    it("refuses data that is not (anchor, positive) pairs", () => {
      assert.throws(
        () => mineHardNegatives(model, new Dataset({ a: ["x"], b: ["y"], score: [1] }, "scored"), {}),
        /mineHardNegatives: dataset 'scored' must have exactly 2 input columns \(anchor, positive\) and no label column/,
      );
    });
  });
});

// ---- `stts losses` -----------------------------------------------------------------------------------

describe("stts losses", () => {
  let folder: { dir: string; cleanup: () => void };
  let snliJsonl: string;
  let snliTsv: string;
  let msmarcoPairs: string;

  before(() => {
    folder = tempFolder("stts-losses-cli-");
    // SNLI dev: premise, hypothesis, label (entailment 0, neutral 1, contradiction 2), the first 300 rows
    const read = (file: string) =>
      fs
        .readFileSync(path.join(sharedDataDir, "snli-dev-test", file), "utf8")
        .split("\n")
        .slice(0, 300)
        .map((line) => line.trim());
    const [premises, hypotheses, labels] = [read("s1.dev"), read("s2.dev"), read("labels.dev")];
    const names = ["entailment", "neutral", "contradiction"];
    snliJsonl = path.join(folder.dir, "snli.jsonl");
    fs.writeFileSync(
      snliJsonl,
      premises
        .map((premise, i) => JSON.stringify({ premise, hypothesis: hypotheses[i], label: names.indexOf(labels[i]!) }))
        .join("\n"),
    );
    snliTsv = path.join(folder.dir, "snli.tsv");
    fs.writeFileSync(
      snliTsv,
      ["premise\thypothesis\tlabel", ...premises.map((p, i) => `${p}\t${hypotheses[i]}\t${labels[i]}`)].join("\n"),
    );
    // BEIR MS MARCO subset: (query, passage) for the qrels graded 2 or 3 (no header line; see SOURCE.md)
    const beir = path.join(sharedDataDir, "beir-msmarco-subset");
    const byId = (file: string) =>
      new Map(
        fs
          .readFileSync(path.join(beir, file), "utf8")
          .split("\n")
          .filter((line) => line.trim() !== "")
          .map((line) => JSON.parse(line) as { _id: string; title?: string; text: string })
          .map((entry) => [entry._id, `${entry.title ?? ""} ${entry.text}`.trim()] as const),
      );
    const queries = byId("queries.jsonl");
    const corpus = byId("corpus.jsonl");
    const rows = fs
      .readFileSync(path.join(beir, "qrels", "test.tsv"), "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => line.split("\t"))
      .filter(([, , grade]) => Number(grade) >= 2)
      .map(([query, passage]) => JSON.stringify({ query: queries.get(query!), passage: corpus.get(passage!) }));
    msmarcoPairs = path.join(folder.dir, "msmarco-pairs.jsonl");
    fs.writeFileSync(msmarcoPairs, rows.join("\n"));
  });
  after(() => folder.cleanup());

  it("is listed by stts --help, and documents its options", async () => {
    assert.ok((await run(["--help"])).out.includes("losses [options]"));
    const help = (await run(["losses", "--help"])).out;
    for (const option of [
      "--data <file>",
      "--dataset <id>",
      "--delimiter <char>",
      "--columns <names>",
      "--numeric-columns <names>",
      "--ignore-extra-fields",
      "--no-header",
      "--json",
    ]) {
      assert.ok(help.includes(option), option);
    }
  });

  it("without data, prints the table: every format and every loss, common choices marked", async () => {
    const { code, out, err } = await run(["losses"]);
    assert.equal(code, 0, err);
    for (const format of DATA_FORMATS) assert.ok(out.includes(format.inputs), format.id);
    for (const name of exportedLossClasses) assert.ok(out.includes(name), name);
    assert.match(out, /^\(anchor, positive\) pairs +none +\*MultipleNegativesRankingLoss, CachedMultiple/m);
    assert.match(
      out,
      /^\(sentence_A, sentence_B\) pairs +float similarity score +\*CoSENTLoss, \*AnglELoss, CosineSimilarityLoss$/m,
    );
    const json = JSON.parse((await run(["losses", "--json"])).out) as { format: { id: string } }[];
    assert.deepEqual(
      json.map((row) => row.format.id),
      DATA_FORMATS.map((f) => f.id),
    );
  });

  it("STS-B with scores (tab-separated, no header): CoSENTLoss first", async () => {
    const { code, out, err } = await run(["losses", "--data", stsbTrain, ...STS_OPTIONS]);
    assert.equal(code, 0, err);
    assert.deepEqual(listedLosses(out), ["CoSENTLoss", "AnglELoss", "CosineSimilarityLoss"]);
    const rows = loadDelimited(stsbTrain, {
      delimiter: "\t",
      columns: [null, null, null, null, "score"],
      ignoreExtraFields: true,
    }).length;
    assert.ok(
      out.startsWith(`Dataset: sts-train.csv (${rows} rows)\n  input columns (2): sentence1, sentence2\n`),
      out,
    );
    assert.ok(out.includes("  labels: float scores from 0 to 5 in 'score'\n"), out);
    assert.ok(out.includes("   1. CoSENTLoss            common choice\n"), out);
    assert.ok(
      out.includes(
        "  pairsAboveThreshold(dataset, threshold)\n    -> (anchor, positive) pairs: MultipleNegativesRankingLoss,",
      ),
      out,
    );
    const json = JSON.parse((await run(["losses", "--data", stsbTrain, ...STS_OPTIONS, "--json"])).out) as {
      losses: { name: string }[];
      formats: string[];
    };
    assert.equal(json.losses[0]!.name, "CoSENTLoss");
    assert.deepEqual(json.formats, ["scored-pairs"]);
  });

  it("SNLI pairs with class labels: SoftmaxLoss first, the triplet conversions first among the conversions", async () => {
    const { code, out, err } = await run(["losses", "--data", snliJsonl]);
    assert.equal(code, 0, err);
    assert.deepEqual(listedLosses(out), ["SoftmaxLoss"]);
    assert.ok(
      out.includes(
        "   1. SoftmaxLoss  common choice; numLabels: 3\n" +
          "  Modifiers that can wrap it: MatryoshkaLoss, AdaptiveLayerLoss, Matryoshka2dLoss.\n",
      ),
      out,
    );
    assert.ok(out.includes("labels: integer labels in 'label' (3 classes: 0, 1, 2)"), out);
    assert.ok(
      out.includes(
        "Conversions that open more losses:\n" +
          "  tripletsByAnchor(dataset, { positiveLabel, negativeLabel })\n" +
          "  or pairsToTripletsDataset(dataset)\n" +
          "    -> (anchor, positive, negative) triplets: MultipleNegativesRankingLoss,",
      ),
      out,
    );
    // the same pairs as TSV with the class names: no loss yet, classLabelsToIds opens SoftmaxLoss
    const tsv = await run(["losses", "--data", snliTsv]);
    assert.equal(tsv.code, 0, tsv.err);
    assert.deepEqual(listedLosses(tsv.out), []);
    assert.ok(tsv.out.includes("texts in 'label' (3 distinct: contradiction, entailment, neutral)"), tsv.out);
    assert.ok(
      tsv.out.includes("  classLabelsToIds(dataset)\n    -> (sentence_A, sentence_B) pairs: SoftmaxLoss\n"),
      tsv.out,
    );
  });

  it("a BEIR query/passage pair file: MultipleNegativesRankingLoss first", async () => {
    const { code, out, err } = await run(["losses", "--data", msmarcoPairs]);
    assert.equal(code, 0, err);
    assert.equal(listedLosses(out)[0], "MultipleNegativesRankingLoss");
    assert.ok(out.includes("  input columns (2): query, passage\n  labels: no label column\n"), out);
    assert.ok(
      out.includes("  mineHardNegatives(model, dataset)\n    -> (anchor, positive, negative) triplets: TripletLoss"),
      out,
    );
  });

  it("--dataset reads a Hub dataset's file from the Hugging Face cache (offline)", async () => {
    const cache = tempFolder("stts-hf-cache-");
    try {
      await withOfflineHubCache(cache.dir, async () => {
        const repo = path.join(cache.dir, "datasets--org--pairs");
        fs.mkdirSync(path.join(repo, "refs"), { recursive: true });
        fs.writeFileSync(path.join(repo, "refs", "main"), "abc123");
        fs.mkdirSync(path.join(repo, "snapshots", "abc123", "data"), { recursive: true });
        fs.copyFileSync(msmarcoPairs, path.join(repo, "snapshots", "abc123", "data", "train.jsonl"));
        fs.writeFileSync(
          path.join(repo, "snapshots", "abc123", "data", "test.jsonl"),
          '{"a": "x", "b": "y", "score": 0.5}\n',
        );
        const train = await run(["losses", "--dataset", "org/pairs"]);
        assert.equal(train.code, 0, train.err);
        assert.ok(train.out.startsWith("Dataset: org/pairs ("), train.out);
        assert.equal(listedLosses(train.out)[0], "MultipleNegativesRankingLoss");
        assert.match(train.err, /reading data\/train.jsonl of org\/pairs from the Hugging Face cache/);
        const test = await run(["losses", "--dataset", "org/pairs", "--split", "test"]);
        assert.equal(listedLosses(test.out)[0], "CoSENTLoss");
        const missing = await run(["losses", "--dataset", "org/other"]);
        assert.equal(missing.code, 1);
        assert.match(
          missing.err,
          /Hub dataset 'org\/other' \(revision main\) is not in the Hugging Face cache .* HF_HUB_OFFLINE is set/,
        );
        // a Parquet split is read too; a file that is not Parquet is named in the error
        const parquet = path.join(cache.dir, "datasets--org--parquet", "snapshots", "main", "data");
        fs.mkdirSync(parquet, { recursive: true });
        parquetWriteFile({
          filename: path.join(parquet, "train-00000.parquet"),
          columnData: [
            { name: "query", data: ["what is a cat", "how tall is a giraffe"], type: "STRING" },
            { name: "answer", data: ["a small feline", "up to six metres"], type: "STRING" },
          ],
        });
        const fromParquet = await run(["losses", "--dataset", "org/parquet"]);
        assert.equal(fromParquet.code, 0, fromParquet.err);
        assert.equal(listedLosses(fromParquet.out)[0], "MultipleNegativesRankingLoss");
        const broken = path.join(cache.dir, "datasets--org--broken", "snapshots", "main");
        fs.mkdirSync(broken, { recursive: true });
        fs.writeFileSync(path.join(broken, "train.parquet"), "");
        const refused = await run(["losses", "--dataset", "org/broken"]);
        assert.equal(refused.code, 1);
        assert.match(refused.err, /train\.parquet\): cannot read Parquet/);
      });
    } finally {
      cache.cleanup();
    }
  });

  it("errors name the problem", async () => {
    const both = await run(["losses", "--data", snliJsonl, "--dataset", "org/x"]);
    assert.deepEqual([both.code, both.err], [1, "error: stts losses: give --data FILE or --dataset ID, not both\n"]);
    const jsonlDelimiter = await run(["losses", "--data", snliJsonl, "--delimiter", ","]);
    assert.match(jsonlDelimiter.err, /delimiter apply to delimited files \(\.csv, \.tsv\), not JSON Lines/);
    const noFile = await run(["losses", "--data", path.join(folder.dir, "nope.jsonl")]);
    assert.match(noFile.err, /no such file/);
    const noData = await run(["losses", "--columns", "a,b"]);
    assert.match(noData.err, /columns describe a dataset: give it with --data FILE or --dataset ID/);
    // STS-B without the format options: 7+ tab-separated fields, the first line taken as a header
    const raw = await run(["losses", "--data", stsbTrain, "--delimiter", "tab"]);
    assert.equal(raw.code, 1);
    assert.match(raw.err, /sts-train\.csv: dataset 'sts-train\.csv' \(.*\), line \d+: \d+ fields, expected 7/);
  });
});

// ---- the trainer's check -----------------------------------------------------------------------------

describe("the trainer's data check names the losses that fit and the conversion", () => {
  const model = SentenceTransformer.loadFolder(tinyBertDir);
  after(() => model.dispose());

  async function stopMessage(loss: Loss): Promise<string> {
    const out = tempFolder("stts-guide-check-");
    try {
      const trainer = new SentenceTransformerTrainer({
        model,
        args: { outputDir: path.join(out.dir, "out"), maxSteps: 1, perDeviceTrainBatchSize: 8 },
        trainDataset: stsbPairs("train", 16),
        loss,
        log: null,
      });
      let message = "";
      await assert.rejects(trainer.train(), (error: Error) => {
        assert.ok(error instanceof TrainingDataError, `${error.name}: ${error.message}`);
        message = error.message;
        return true;
      });
      assert.equal(fs.existsSync(path.join(out.dir, "out")), false);
      return message;
    } finally {
      out.cleanup();
    }
  }

  it("scored pairs given to MultipleNegativesRankingLoss", async () => {
    assert.equal(
      await stopMessage(new MultipleNegativesRankingLoss(model)),
      "MultipleNegativesRankingLoss expects at least 2 input columns (anchor, positive, negative...) and no labels; " +
        "dataset 'stsb' has columns sentence1, sentence2 and float scores in 'score' " +
        '(remove the label column with dataset.removeColumns(["score"]) if the loss should ignore it). ' +
        "Losses that fit this data: CoSENTLoss, AnglELoss, CosineSimilarityLoss. " +
        "To use MultipleNegativesRankingLoss, convert the data: pairsAboveThreshold(dataset, threshold) gives (anchor, positive) pairs.",
    );
  });

  it("scored pairs given to TripletLoss", async () => {
    assert.equal(
      await stopMessage(new TripletLoss(model)),
      "TripletLoss expects 3 input columns (anchor, positive, negative) and no labels; " +
        "dataset 'stsb' has columns sentence1, sentence2 and float scores in 'score'. " +
        "Losses that fit this data: CoSENTLoss, AnglELoss, CosineSimilarityLoss. " +
        "To use TripletLoss, convert the data: pairsAboveThreshold(dataset, threshold), then mineHardNegatives(model, dataset) " +
        "gives (anchor, positive, negative) triplets.",
    );
  });

  it("through a modifier, the conversion is for the wrapped loss", async () => {
    const message = await stopMessage(
      new MatryoshkaLoss(model, new MultipleNegativesRankingLoss(model), { matryoshkaDims: [32, 16] }),
    );
    assert.ok(
      message.startsWith("MatryoshkaLoss(MultipleNegativesRankingLoss) expects at least 2 input columns"),
      message,
    );
    assert.ok(
      message.endsWith(
        "To use MultipleNegativesRankingLoss, convert the data: pairsAboveThreshold(dataset, threshold) gives (anchor, positive) pairs.",
      ),
      message,
    );
  });

  it("the converted data trains: pairsAboveThreshold, then MultipleNegativesRankingLoss", async () => {
    const out = tempFolder("stts-guide-convert-");
    try {
      const pairs = pairsAboveThreshold(stsbPairs("train", 64), 0.8); // scores / 5 >= 0.8: 4 of 5 and above
      assert.ok(pairs.length >= 8, `${pairs.length} pairs`);
      const trainer = new SentenceTransformerTrainer({
        model,
        args: { outputDir: out.dir, maxSteps: 1, perDeviceTrainBatchSize: 8, saveStrategy: "no" },
        trainDataset: pairs,
        loss: new MultipleNegativesRankingLoss(model),
        log: null,
      });
      await trainer.train();
      assert.equal(trainer.state.globalStep, 1);
    } finally {
      out.cleanup();
    }
  });
});
