// Converting between the data formats of the loss guide (docs/losses.md): class-labelled pairs into
// triplets, scored or labelled pairs into (anchor, positive) pairs, pairs into triplets by mining hard
// negatives, class names into ids, and single sentences into Contrastive Tension pairs.
import * as torch from "@stts/torch";
import type { SentenceTransformer } from "../sentence-transformer.js";
import { Dataset, DatasetError, type DatasetValue } from "../training/dataset.js";
import { semanticSearch } from "./semantic-search.js";

/** One labelled pair: two sentences and the class both belong to. */
export interface LabeledPair {
  sentenceA: string;
  sentenceB: string;
  label: string | number;
}

/** An (anchor, positive, negative) triplet, for MultipleNegativesRankingLoss, TripletLoss, GIST, ... */
export interface Triplet {
  anchor: string;
  positive: string;
  negative: string;
}

/** Options of `pairsToTriplets`. */
export interface PairsToTripletsOptions {
  /** Seed of the sampler (default 42): the same pairs and seed give the same triplets. */
  seed?: number;
  /**
   * What to do with a pair whose class offers no positive (no other sentence of that class) or no
   * negative (no other class): "error" (default) throws, naming the pair and the class; "skip" leaves
   * the pair out and counts it in `skipped`.
   */
  onMissing?: "error" | "skip";
}

/** What `pairsToTriplets` returns. */
export interface PairsToTripletsResult {
  /** One triplet per usable pair, in the pairs' order. */
  triplets: Triplet[];
  /** Pairs left out with onMissing "skip" (always 0 with "error"). */
  skipped: number;
}

/**
 * A small seeded pseudo-random generator (mulberry32: 32-bit state, period 2^32), so conversions
 * are reproducible across runs and platforms. Not the engine's generator: data preparation does not
 * disturb torch.manualSeed's sequence. Returns floats in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Converts (sentence_A, sentence_B, class) pairs into (anchor, positive, negative) triplets by
 * sampling within and across classes. Both sentences of a pair belong to its class (classes compare
 * by value; 1 and "1" differ). For each pair, in order:
 * - anchor: sentence_A;
 * - positive: a sentence drawn uniformly from the distinct sentences of the same class other than the
 *   anchor (so sentence_B, or another sentence of the class);
 * - negative: a sentence drawn uniformly from the distinct sentences not in the anchor's class (a
 *   sentence found in several classes counts for each).
 * Draws come from mulberry32(seed): one for the positive, then as many as rejection sampling of the
 * negative needs (uniform draws over all distinct sentences until one lies outside the class).
 * The cost is linear in the number of pairs.
 *
 * @param pairs the labelled pairs
 * @param options seed (default 42), onMissing (default "error")
 *
 * @example
 * const { triplets } = pairsToTriplets(
 *   [{ sentenceA: "a cat", sentenceB: "a kitten", label: "animal" }, { sentenceA: "a car", sentenceB: "a truck", label: "vehicle" }],
 *   { seed: 1 },
 * ); // [{ anchor: "a cat", positive: "a kitten", negative: "a car" | "a truck" }, ...]
 */
export function pairsToTriplets(
  pairs: readonly LabeledPair[],
  options: PairsToTripletsOptions = {},
): PairsToTripletsResult {
  const seed = options.seed ?? 42;
  const onMissing = options.onMissing ?? "error";
  if (!Number.isInteger(seed)) throw new TypeError(`pairsToTriplets: seed must be an integer, got ${seed}`);
  if (onMissing !== "error" && onMissing !== "skip") {
    throw new TypeError(`pairsToTriplets: onMissing must be "error" or "skip", got ${String(onMissing)}`);
  }
  /** Distinct sentences of each class, with their positions. */
  const byClass = new Map<string | number, { sentences: string[]; position: Map<string, number> }>();
  const all: string[] = []; // distinct sentences of every class
  const seen = new Set<string>();
  pairs.forEach((pair, i) => {
    for (const key of ["sentenceA", "sentenceB"] as const) {
      if (typeof pair?.[key] !== "string") {
        throw new TypeError(`pairsToTriplets: pair ${i} has no string ${key} (got ${JSON.stringify(pair?.[key])})`);
      }
    }
    if (typeof pair.label !== "string" && typeof pair.label !== "number") {
      throw new TypeError(
        `pairsToTriplets: pair ${i} has no string or number label (got ${JSON.stringify(pair.label)})`,
      );
    }
    let members = byClass.get(pair.label);
    if (members === undefined) byClass.set(pair.label, (members = { sentences: [], position: new Map() }));
    for (const sentence of [pair.sentenceA, pair.sentenceB]) {
      if (!members.position.has(sentence)) {
        members.position.set(sentence, members.sentences.length);
        members.sentences.push(sentence);
      }
      if (!seen.has(sentence)) {
        seen.add(sentence);
        all.push(sentence);
      }
    }
  });

  const random = mulberry32(seed);
  const draw = (n: number): number => Math.floor(random() * n);
  const triplets: Triplet[] = [];
  let skipped = 0;
  pairs.forEach((pair, i) => {
    const own = byClass.get(pair.label)!;
    const missing =
      own.sentences.length < 2
        ? `class ${JSON.stringify(pair.label)} has no sentence other than the anchor to use as positive`
        : all.length === own.sentences.length
          ? `no other class has a sentence to use as negative for class ${JSON.stringify(pair.label)}`
          : null;
    if (missing !== null) {
      if (onMissing === "skip") {
        skipped += 1;
        return;
      }
      throw new Error(
        `pairsToTriplets: pair ${i} (${JSON.stringify(pair.sentenceA)}): ${missing}; add data or pass { onMissing: "skip" }`,
      );
    }
    // positive: uniform over the class's sentences except the anchor (one draw)
    const anchorAt = own.position.get(pair.sentenceA)!;
    const k = draw(own.sentences.length - 1);
    const positive = own.sentences[k >= anchorAt ? k + 1 : k]!;
    // negative: uniform over the sentences outside the class (draws until one is outside: rejection sampling)
    let negative = all[draw(all.length)]!;
    while (own.position.has(negative)) negative = all[draw(all.length)]!;
    triplets.push({ anchor: pair.sentenceA, positive, negative });
  });
  return { triplets, skipped };
}

// ---- on datasets --------------------------------------------------------------------------------

/** The dataset's label column, or an error naming the helper and the dataset. */
function labelColumnOf(dataset: Dataset, who: string): string {
  const column = dataset.labelColumn;
  if (column === null) {
    throw new DatasetError(
      `${who}: dataset '${dataset.name}' has no label column (label, labels, score or scores); columns: ${dataset.columnNames.join(", ")}`,
    );
  }
  return column;
}

/** The rows whose label passes `keep`, without the label column; throws when none passes. */
function filterRows(
  dataset: Dataset,
  who: string,
  keep: (label: DatasetValue) => boolean,
  what: string,
  name: string | undefined,
): Dataset {
  const column = labelColumnOf(dataset, who);
  const labels = dataset.column(column);
  const rows = labels.flatMap((label, i) => (keep(label) ? [i] : []));
  if (rows.length === 0) throw new DatasetError(`${who}: no row of dataset '${dataset.name}' has ${what}`);
  const kept = dataset.select(rows).removeColumns([column]);
  return name === undefined ? kept : kept.withName(name);
}

/**
 * Scored pairs into (anchor, positive) pairs: keeps the rows whose score (the label column) is at
 * least `threshold` and drops the label column, so MultipleNegativesRankingLoss and the other
 * in-batch-negatives losses can train on them. The input columns keep their names and order.
 *
 * @example
 * const pairs = pairsAboveThreshold(stsb, 4); // STS-B scores 0-5: the near-paraphrases
 *
 * @param dataset pairs with a numeric label column (label, labels, score or scores)
 * @param threshold the lowest score kept
 * @param options name (default: the dataset's)
 */
export function pairsAboveThreshold(dataset: Dataset, threshold: number, options: { name?: string } = {}): Dataset {
  const who = "pairsAboveThreshold";
  if (!Number.isFinite(threshold)) throw new RangeError(`${who}: threshold must be a finite number, got ${threshold}`);
  const column = labelColumnOf(dataset, who);
  const labels = dataset.column(column);
  const bad = labels.findIndex((v) => typeof v !== "number" || !Number.isFinite(v));
  if (bad >= 0) {
    throw new DatasetError(
      `${who}: dataset '${dataset.name}', row ${bad}, column '${column}': expected a number, got ${JSON.stringify(labels[bad])}`,
    );
  }
  const scores = labels as number[];
  const range = `scores range from ${scores.reduce((a, b) => Math.min(a, b))} to ${scores.reduce((a, b) => Math.max(a, b))}`;
  return filterRows(
    dataset,
    who,
    (v) => (v as number) >= threshold,
    `a score of at least ${threshold} (${range})`,
    options.name,
  );
}

/**
 * Labelled pairs into (anchor, positive) pairs: keeps the rows of one label (e.g. 1 in 0/1 pairs, or
 * entailment in NLI) and drops the label column. A boolean label matches 1 (true) or 0 (false).
 *
 * @example
 * const pairs = pairsWithLabel(nli, 0); // NLI with entailment = 0: (premise, entailed hypothesis)
 *
 * @param dataset pairs with a label column
 * @param label the label of the rows to keep
 * @param options name (default: the dataset's)
 */
export function pairsWithLabel(
  dataset: Dataset,
  label: number | string | boolean,
  options: { name?: string } = {},
): Dataset {
  const same = (v: DatasetValue) =>
    v === label || (typeof v === "boolean" && typeof label === "number" && Number(v) === label);
  return filterRows(dataset, "pairsWithLabel", same, `the label ${JSON.stringify(label)}`, options.name);
}

/**
 * `pairsToTriplets` on a dataset of two input columns and a class label column: returns a dataset
 * (anchor, positive, negative). With `onMissing: "skip"`, the pairs left out are those missing from
 * the result (`dataset.length - result.length`).
 *
 * @example
 * const triplets = pairsToTripletsDataset(nli, { seed: 1 }); // columns anchor, positive, negative
 *
 * @param dataset (sentence_A, sentence_B, label) rows
 * @param options seed (42), onMissing ("error"), name (default: the dataset's)
 */
export function pairsToTripletsDataset(
  dataset: Dataset,
  options: PairsToTripletsOptions & { name?: string } = {},
): Dataset {
  const who = "pairsToTripletsDataset";
  const column = labelColumnOf(dataset, who);
  const inputs = dataset.inputColumns;
  if (inputs.length !== 2) {
    throw new DatasetError(
      `${who}: dataset '${dataset.name}' must have 2 input columns (sentence_A, sentence_B), got ${inputs.length} (${inputs.join(", ")})`,
    );
  }
  const a = dataset.column(inputs[0]!);
  const b = dataset.column(inputs[1]!);
  const labels = dataset.column(column);
  const pairs = a.map((sentenceA, i) => ({
    sentenceA: sentenceA as string,
    sentenceB: b[i] as string,
    label: (typeof labels[i] === "boolean" ? Number(labels[i]) : labels[i]) as string | number,
  }));
  const { triplets } = pairsToTriplets(pairs, options);
  return new Dataset(
    {
      anchor: triplets.map((t) => t.anchor),
      positive: triplets.map((t) => t.positive),
      negative: triplets.map((t) => t.negative),
    },
    options.name ?? dataset.name,
  );
}

/** Options of `tripletsByAnchor`. */
export interface TripletsByAnchorOptions {
  /** The label of a partner that is a positive for its sentence_A (NLI: entailment). */
  positiveLabel: number | string | boolean;
  /** The label of a partner that is a negative for its sentence_A (NLI: contradiction). */
  negativeLabel: number | string | boolean;
  /** Seed of the negative draws (default 42). */
  seed?: number;
  /** Dataset name (default: the dataset's). */
  name?: string;
}

/**
 * Pairs whose label relates the two sentences (NLI's premise/hypothesis) into triplets anchored on
 * sentence_A: for each pair labelled `positiveLabel`, the triplet (sentence_A, sentence_B, a negative)
 * where the negative is drawn (seeded) among the sentence_B of the pairs of the same sentence_A labelled
 * `negativeLabel`. Anchors without such a pair are left out. This is the (premise, entailment,
 * contradiction) data that MultipleNegativesRankingLoss trains NLI models on.
 *
 * @example
 * const triplets = tripletsByAnchor(nli, { positiveLabel: 0, negativeLabel: 2 }); // anchor, positive, negative
 *
 * @param dataset (sentence_A, sentence_B, label) rows
 * @param options positiveLabel, negativeLabel, seed (42), name
 */
export function tripletsByAnchor(dataset: Dataset, options: TripletsByAnchorOptions): Dataset {
  const who = "tripletsByAnchor";
  const column = labelColumnOf(dataset, who);
  const inputs = dataset.inputColumns;
  if (inputs.length !== 2) {
    throw new DatasetError(
      `${who}: dataset '${dataset.name}' must have 2 input columns (sentence_A, sentence_B), got ${inputs.length} (${inputs.join(", ")})`,
    );
  }
  const a = dataset.column(inputs[0]!) as string[];
  const b = dataset.column(inputs[1]!) as string[];
  const labels = dataset.column(column);
  const is = (value: DatasetValue, wanted: number | string | boolean) =>
    value === wanted || (typeof value === "boolean" && typeof wanted === "number" && Number(value) === wanted);
  const negativesOf = new Map<string, string[]>();
  a.forEach((anchor, i) => {
    if (!is(labels[i]!, options.negativeLabel)) return;
    const list = negativesOf.get(anchor) ?? [];
    if (!list.includes(b[i]!)) list.push(b[i]!);
    negativesOf.set(anchor, list);
  });
  const random = mulberry32(options.seed ?? 42);
  const columns = { anchor: [] as string[], positive: [] as string[], negative: [] as string[] };
  a.forEach((anchor, i) => {
    const negatives = negativesOf.get(anchor);
    if (!is(labels[i]!, options.positiveLabel) || negatives === undefined) return;
    columns.anchor.push(anchor);
    columns.positive.push(b[i]!);
    columns.negative.push(negatives[Math.floor(random() * negatives.length)]!);
  });
  if (columns.anchor.length === 0) {
    throw new DatasetError(
      `${who}: no sentence_A of dataset '${dataset.name}' has both a pair labelled ${JSON.stringify(options.positiveLabel)} and one labelled ${JSON.stringify(options.negativeLabel)}`,
    );
  }
  return new Dataset(columns, options.name ?? dataset.name);
}

/**
 * Class names (texts) into class ids 0 ... k-1, so that SoftmaxLoss or the batch triplet losses can
 * use them. Ids follow `names` when given (every label must be one of them), else the sorted distinct names.
 *
 * @example
 * const { dataset: nli, names } = classLabelsToIds(raw, ["entailment", "neutral", "contradiction"]);
 *
 * @param dataset rows with a label column of texts
 * @param names the class names in id order (default: the distinct labels, sorted)
 */
export function classLabelsToIds(dataset: Dataset, names?: readonly string[]): { dataset: Dataset; names: string[] } {
  const who = "classLabelsToIds";
  const column = labelColumnOf(dataset, who);
  const labels = dataset.column(column);
  const order = names === undefined ? [...new Set(labels.map(String))].sort() : [...names];
  const ids = new Map(order.map((name, i) => [name, i]));
  const converted = labels.map((label, row) => {
    const id = ids.get(String(label));
    if (id === undefined) {
      throw new DatasetError(
        `${who}: dataset '${dataset.name}', row ${row}: label ${JSON.stringify(label)} is not one of ${order.join(", ")}`,
      );
    }
    return id;
  });
  const columns = new Map<string, DatasetValue[]>(
    dataset.columnNames.map((name) => [name, name === column ? converted : [...dataset.column(name)]]),
  );
  return { dataset: new Dataset(columns, dataset.name), names: order };
}

/** Options of `contrastiveTensionDataset`. */
export interface ContrastiveTensionDatasetOptions {
  /** Every `posNegRatio`-th pair is a sentence with itself (default 8, the reference's). */
  posNegRatio?: number;
  /** Seed of the shuffle (default 42). */
  seed?: number;
  /** Dataset name (default "contrastive-tension"). */
  name?: string;
}

/**
 * Single sentences into the pairs ContrastiveTensionLoss trains on, as the reference's
 * ContrastiveTensionDataLoader builds them: the sentences are shuffled, then walked in order; pair
 * k is (s, s) with label 1 when k is a multiple of `posNegRatio`, else (s, next sentence) with
 * label 0. With a batch size that is a multiple of posNegRatio, each batch matches the reference's.
 *
 * @example
 * const pairs = contrastiveTensionDataset(sentences); // columns sentence1, sentence2, label
 *
 * @param sentences the training sentences (at least 2)
 * @param options posNegRatio (8), seed (42), name ("contrastive-tension")
 */
export function contrastiveTensionDataset(
  sentences: readonly string[],
  options: ContrastiveTensionDatasetOptions = {},
): Dataset {
  const who = "contrastiveTensionDataset";
  const ratio = options.posNegRatio ?? 8;
  if (!Number.isInteger(ratio) || ratio < 1)
    throw new RangeError(`${who}: posNegRatio must be a positive integer, got ${ratio}`);
  if (sentences.length < 2) throw new RangeError(`${who}: needs at least 2 sentences, got ${sentences.length}`);
  const random = mulberry32(options.seed ?? 42);
  const order = [...sentences];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const first: string[] = [];
  const second: string[] = [];
  const label: number[] = [];
  for (let at = 0; at + 1 < order.length; at++) {
    const sentence = order[at]!;
    if (first.length % ratio === 0) {
      second.push(sentence);
      label.push(1);
    } else {
      at += 1;
      second.push(order[at]!);
      label.push(0);
    }
    first.push(sentence);
  }
  return new Dataset({ sentence1: first, sentence2: second, label }, options.name ?? "contrastive-tension");
}

/** Options of `mineHardNegatives`. */
export interface MineHardNegativesOptions {
  /** The texts to mine negatives from (default: the dataset's distinct positives). */
  corpus?: readonly string[];
  /** Negatives per pair (default 3). */
  numNegatives?: number;
  /**
   * Candidates are ranked by the model's similarity to the anchor (the anchor itself and every positive
   * of the anchor left out); the `rangeMin` best are skipped, as they are often unlabelled positives (default 0).
   */
  rangeMin?: number;
  /** Only candidates ranked below `rangeMax` are used (default: no limit). */
  rangeMax?: number | null;
  /** Skip candidates whose similarity to the anchor is above this (likely false negatives). Default: none. */
  maxScore?: number | null;
  /** Skip candidates scoring above the pair's own (anchor, positive) similarity minus this margin. Default: none. */
  margin?: number | null;
  /** "top": the best remaining candidates (default); "random": drawn uniformly among them, seeded. */
  samplingStrategy?: "top" | "random";
  /** Seed of the "random" strategy (default 42). */
  seed?: number;
  /**
   * true (default): one (anchor, positive, negative) row per negative found; false: one row
   * (anchor, positive, negative_1, ..., negative_n) per pair, leaving out pairs with fewer than n negatives.
   */
  asTriplets?: boolean;
  /** Encoding batch size (default 32). */
  batchSize?: number;
  /** Dataset name (default: the dataset's). */
  name?: string;
}

function integerOption(value: number, name: string, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`mineHardNegatives: ${name} must be an integer >= ${min}, got ${value}`);
  }
  return value;
}

/**
 * (anchor, positive) pairs into triplets (or n-tuples) by mining hard negatives with `model`: each
 * anchor is scored (model.similarity) against the corpus with semanticSearch; candidates equal to the
 * anchor or to any of its positives (across the dataset) are left out; of the rest, ranked by
 * similarity, those ranked in [rangeMin, rangeMax) that pass maxScore and margin are the pool, from
 * which `numNegatives` are taken (the best, or drawn at random). The columns are the dataset's two
 * input columns, then `negative` (asTriplets) or `negative_1` ... `negative_n`. Pairs with no negative
 * are left out.
 *
 * @example
 * const triplets = mineHardNegatives(model, pairs, { numNegatives: 1, rangeMin: 2 }); // anchor, positive, negative
 *
 * @param model embeds anchors, positives and corpus
 * @param dataset two input columns (anchor, positive), no label column
 * @param options corpus, numNegatives (3), rangeMin (0), rangeMax (none), maxScore, margin,
 *   samplingStrategy ("top"), seed (42), asTriplets (true), batchSize (32), name
 */
export function mineHardNegatives(
  model: SentenceTransformer,
  dataset: Dataset,
  options: MineHardNegativesOptions = {},
): Dataset {
  const inputs = dataset.inputColumns;
  if (inputs.length !== 2 || dataset.labelColumn !== null) {
    throw new DatasetError(
      `mineHardNegatives: dataset '${dataset.name}' must have exactly 2 input columns (anchor, positive) and no label column, got columns ${dataset.columnNames.join(", ")}`,
    );
  }
  const numNegatives = integerOption(options.numNegatives ?? 3, "numNegatives", 1);
  const rangeMin = integerOption(options.rangeMin ?? 0, "rangeMin", 0);
  const rangeMax = options.rangeMax == null ? Infinity : integerOption(options.rangeMax, "rangeMax", rangeMin + 1);
  const strategy = options.samplingStrategy ?? "top";
  if (strategy !== "top" && strategy !== "random") {
    throw new RangeError(`mineHardNegatives: samplingStrategy must be "top" or "random", got ${String(strategy)}`);
  }
  const asTriplets = options.asTriplets ?? true;
  const negativeColumns = asTriplets
    ? ["negative"]
    : Array.from({ length: numNegatives }, (_, i) => `negative_${i + 1}`);
  const clash = negativeColumns.find((name) => inputs.includes(name));
  if (clash !== undefined)
    throw new DatasetError(`mineHardNegatives: dataset '${dataset.name}' already has a column '${clash}'`);

  const anchors = dataset.column(inputs[0]!) as string[];
  const positives = dataset.column(inputs[1]!) as string[];
  const positivesOf = new Map<string, Set<string>>();
  anchors.forEach((anchor, i) => {
    const set = positivesOf.get(anchor) ?? new Set<string>();
    set.add(positives[i]!);
    positivesOf.set(anchor, set);
  });
  const corpus = [...new Set(options.corpus ?? positives)];
  const distinctAnchors = [...positivesOf.keys()];
  const mostPositives = [...positivesOf.values()].reduce((most, set) => Math.max(most, set.size), 0);
  const topK = Math.min(corpus.length, rangeMax === Infinity ? corpus.length : rangeMax + mostPositives + 1);
  const batchSize = options.batchSize ?? 32;

  // hits per distinct anchor, and each pair's own similarity (for the margin)
  const { hits, pairScores } = torch.scope(() => {
    const anchorEmbeddings = model.encode(distinctAnchors, { convertTo: "tensor", batchSize });
    const corpusEmbeddings = model.encode(corpus, { convertTo: "tensor", batchSize });
    const found = semanticSearch(anchorEmbeddings, corpusEmbeddings, {
      topK,
      scoreFunction: (a, b) => model.similarity(a, b),
    });
    let scores: number[] | null = null;
    if (options.margin != null) {
      const a = model.encode(anchors, { convertTo: "tensor", batchSize });
      const p = model.encode(positives, { convertTo: "tensor", batchSize });
      scores = Array.from(model.similarityPairwise(a, p).float().toTypedArray() as Float32Array);
    }
    return { hits: found, pairScores: scores };
  });
  const hitsOf = new Map(distinctAnchors.map((anchor, i) => [anchor, hits[i]!]));

  const random = mulberry32(options.seed ?? 42);
  const columns = new Map<string, string[]>([...inputs, ...negativeColumns].map((name) => [name, []]));
  anchors.forEach((anchor, row) => {
    const own = positivesOf.get(anchor)!;
    const ranked = hitsOf
      .get(anchor)!
      .filter((hit) => corpus[hit.corpusId] !== anchor && !own.has(corpus[hit.corpusId]!));
    const ceiling = Math.min(
      options.maxScore ?? Infinity,
      pairScores === null ? Infinity : pairScores[row]! - (options.margin as number),
    );
    const pool = ranked.slice(rangeMin, rangeMax).filter((hit) => hit.score <= ceiling);
    const chosen: typeof pool = [];
    if (strategy === "top") chosen.push(...pool.slice(0, numNegatives));
    else {
      const left = [...pool];
      while (chosen.length < numNegatives && left.length > 0)
        chosen.push(left.splice(Math.floor(random() * left.length), 1)[0]!);
    }
    if (chosen.length === 0 || (!asTriplets && chosen.length < numNegatives)) return;
    const negatives = chosen.map((hit) => corpus[hit.corpusId]!);
    if (asTriplets) {
      for (const negative of negatives) {
        columns.get(inputs[0]!)!.push(anchor);
        columns.get(inputs[1]!)!.push(positives[row]!);
        columns.get("negative")!.push(negative);
      }
    } else {
      columns.get(inputs[0]!)!.push(anchor);
      columns.get(inputs[1]!)!.push(positives[row]!);
      negatives.forEach((negative, i) => columns.get(`negative_${i + 1}`)!.push(negative));
    }
  });
  return new Dataset(columns, options.name ?? dataset.name);
}
