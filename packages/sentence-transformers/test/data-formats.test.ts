// pairsToTriplets: (sentence_A, sentence_B, class) pairs -> (anchor, positive, negative) triplets.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mulberry32, pairsToTriplets, type LabeledPair } from "../src/util/data-formats.js";

const PAIRS: LabeledPair[] = [
  { sentenceA: "A cat sleeps.", sentenceB: "A kitten naps.", label: "animal" },
  { sentenceA: "Dogs bark.", sentenceB: "A puppy yelps.", label: "animal" },
  { sentenceA: "The car is red.", sentenceB: "A red automobile.", label: "vehicle" },
  { sentenceA: "Trains are fast.", sentenceB: "The express train.", label: "vehicle" },
  { sentenceA: "It rains.", sentenceB: "Showers today.", label: "weather" },
];

/** Every distinct sentence of a class. */
function sentencesOf(label: string): string[] {
  return PAIRS.filter((p) => p.label === label).flatMap((p) => [p.sentenceA, p.sentenceB]);
}

describe("mulberry32", () => {
  it("gives the published mulberry32 sequence for a seed, in [0, 1)", () => {
    const random = mulberry32(42);
    // uint32 outputs of the reference C mulberry32 for seed 42 (computed with an independent Python port), / 2^32
    assert.deepEqual(
      [random(), random(), random()],
      [2581720956 / 4294967296, 1925393290 / 4294967296, 3661312704 / 4294967296],
    );
    const other = mulberry32(43)();
    assert.ok(other >= 0 && other < 1 && other !== 2581720956 / 4294967296);
  });
});

describe("pairsToTriplets", () => {
  it("makes one triplet per pair: anchor sentence_A, a positive of the same class, a negative of another", () => {
    const { triplets, skipped } = pairsToTriplets(PAIRS, { seed: 1 });
    assert.equal(skipped, 0);
    assert.equal(triplets.length, PAIRS.length);
    triplets.forEach((triplet, i) => {
      const pair = PAIRS[i]!;
      assert.equal(triplet.anchor, pair.sentenceA);
      assert.ok(
        sentencesOf(String(pair.label)).includes(triplet.positive),
        `positive of ${pair.label}: ${triplet.positive}`,
      );
      assert.notEqual(triplet.positive, triplet.anchor);
      assert.ok(
        !sentencesOf(String(pair.label)).includes(triplet.negative),
        `negative outside ${pair.label}: ${triplet.negative}`,
      );
    });
  });

  it("is deterministic for a seed and varies with it", () => {
    const first = pairsToTriplets(PAIRS, { seed: 7 }).triplets;
    assert.deepEqual(pairsToTriplets(PAIRS, { seed: 7 }).triplets, first);
    const seen = new Set<string>();
    for (let seed = 0; seed < 20; seed++) seen.add(JSON.stringify(pairsToTriplets(PAIRS, { seed }).triplets));
    assert.ok(seen.size > 1, "different seeds give different triplets");
    assert.deepEqual(pairsToTriplets(PAIRS).triplets, pairsToTriplets(PAIRS, { seed: 42 }).triplets, "default seed 42");
  });

  it("draws positives and negatives uniformly over their candidates", () => {
    const counts = new Map<string, number>();
    for (let seed = 0; seed < 3000; seed++) {
      const negative = pairsToTriplets(PAIRS, { seed }).triplets[4]!.negative; // weather: 8 candidates
      counts.set(negative, (counts.get(negative) ?? 0) + 1);
    }
    assert.equal(counts.size, 8);
    for (const [sentence, n] of counts) assert.ok(n > 3000 / 8 / 1.5 && n < (3000 / 8) * 1.5, `${sentence}: ${n}`);
  });

  it("throws for a class with no positive or no negative, naming the pair, unless told to skip", () => {
    const lonely: LabeledPair[] = [...PAIRS, { sentenceA: "Hello.", sentenceB: "Hello.", label: "greeting" }];
    assert.throws(
      () => pairsToTriplets(lonely),
      /pair 5 \("Hello\."\): class "greeting" has no sentence other than the anchor to use as positive; add data or pass \{ onMissing: "skip" \}/,
    );
    const skipped = pairsToTriplets(lonely, { onMissing: "skip", seed: 3 });
    assert.equal(skipped.skipped, 1);
    assert.deepEqual(
      skipped.triplets.map((t) => t.anchor),
      PAIRS.map((p) => p.sentenceA),
      "every other pair keeps its triplet",
    );

    const oneClass = PAIRS.filter((p) => p.label === "animal");
    assert.throws(
      () => pairsToTriplets(oneClass),
      /pair 0 \("A cat sleeps\."\): no other class has a sentence to use as negative for class "animal"/,
    );
    assert.deepEqual(pairsToTriplets(oneClass, { onMissing: "skip" }), { triplets: [], skipped: 2 });
  });

  it("treats a sentence found in two classes as a member of both (never a negative for either)", () => {
    const shared: LabeledPair[] = [
      { sentenceA: "x", sentenceB: "shared", label: 0 },
      { sentenceA: "y", sentenceB: "shared", label: 1 },
      { sentenceA: "z", sentenceB: "w", label: 1 },
    ];
    for (let seed = 0; seed < 50; seed++) {
      for (const triplet of pairsToTriplets(shared, { seed }).triplets) assert.notEqual(triplet.negative, "shared");
    }
    assert.throws(
      () => pairsToTriplets([{ sentenceA: "a", sentenceB: 3 as unknown as string, label: 0 }]),
      /pair 0 has no string sentenceB \(got 3\)/,
    );
    assert.throws(() => pairsToTriplets(PAIRS, { onMissing: "drop" as "skip" }), /onMissing must be "error" or "skip"/);
  });
});
