// Converting between the dataset formats of the Loss Overview: (sentence_A, sentence_B, class) -> triplets.

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
