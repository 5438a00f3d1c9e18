// Batch samplers: seeded determinism, no duplicate texts, label groups, length grouping, and dataset interleaving.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Dataset } from "../src/training/dataset.js";
import {
  DefaultBatchSampler,
  GroupByLabelBatchSampler,
  NoDuplicatesBatchSampler,
  SeededRandom,
  characterLengths,
  createBatchSampler,
  groupByLength,
  interleaveBatches,
  rowLengthKey,
} from "../src/training/samplers.js";

const pairs = (n: number) =>
  Dataset.fromRecords(
    Array.from({ length: n }, (_, i) => ({ anchor: `a${i % 4}`, positive: `p${i}` })),
    "pairs",
  );

describe("SeededRandom", () => {
  it("gives the same permutation for the same seed and a different one for another", () => {
    const p = new SeededRandom(7).permutation(20);
    assert.deepEqual(new SeededRandom(7).permutation(20), p);
    assert.notDeepEqual(new SeededRandom(8).permutation(20), p);
    assert.deepEqual(
      [...p].sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, i) => i),
    );
  });
});

describe("DefaultBatchSampler", () => {
  it("covers every row once per epoch, reshuffles per epoch, and drops the last batch when asked", () => {
    const sampler = new DefaultBatchSampler(pairs(10), { batchSize: 4, seed: 1 });
    const epoch0 = sampler.batches(0);
    assert.deepEqual(
      epoch0.map((b) => b.length),
      [4, 4, 2],
    );
    assert.deepEqual(
      epoch0.flat().sort((a, b) => a - b),
      Array.from({ length: 10 }, (_, i) => i),
    );
    assert.deepEqual(sampler.batches(0), epoch0);
    assert.notDeepEqual(sampler.batches(1), epoch0);
    assert.deepEqual(
      new DefaultBatchSampler(pairs(10), { batchSize: 4, seed: 1, dropLast: true }).batches(0).length,
      2,
    );
  });
});

describe("NoDuplicatesBatchSampler", () => {
  it("never puts the same text twice in a batch and still uses every row", () => {
    // anchors repeat every 4 rows: a batch of 4 can hold each anchor once
    const batches = new NoDuplicatesBatchSampler(pairs(12), { batchSize: 4, seed: 3 }).batches(0);
    const data = pairs(12);
    for (const batch of batches) {
      const anchors = batch.map((i) => data.row(i).anchor);
      assert.equal(new Set(anchors).size, anchors.length, `duplicate anchor in ${JSON.stringify(anchors)}`);
    }
    assert.deepEqual(
      batches.flat().sort((a, b) => a - b),
      Array.from({ length: 12 }, (_, i) => i),
    );
  });

  it("forms the batches of sentence-transformers' algorithm: remaining rows in order, duplicates skipped", () => {
    // The reference: for each batch, scan all remaining rows in order; a row that shares a text is left for later.
    const reference = (order: number[], texts: string[][], batchSize: number) => {
      const out: number[][] = [];
      let remaining = order;
      while (remaining.length > 0) {
        const seen = new Set<string>();
        const batch: number[] = [];
        for (const index of remaining) {
          if (batch.length < batchSize && texts.every((column) => !seen.has(column[index]!))) {
            batch.push(index);
            for (const column of texts) seen.add(column[index]!);
          }
        }
        out.push(batch);
        remaining = remaining.filter((index) => !batch.includes(index));
      }
      return out;
    };
    // many repeated anchors (a0..a9) and some repeated positives: rows get deferred across several batches
    const random = new SeededRandom(5);
    const rows = Array.from({ length: 300 }, () => ({ anchor: `a${random.int(10)}`, positive: `p${random.int(150)}` }));
    const data = Dataset.fromRecords(rows, "repeats");
    const texts = [rows.map((r) => r.anchor), rows.map((r) => r.positive)];
    const batches = new NoDuplicatesBatchSampler(data, { batchSize: 8, seed: 9 }).batches(0);
    const order = new DefaultBatchSampler(data, { batchSize: 1, seed: 9 }).batches(0).flat(); // the same shuffle
    assert.deepEqual(batches, reference(order, texts, 8));
    assert.ok(batches.length > 300 / 8 + 3, `only ${batches.length} batches: too few rows were deferred`);
  });
});

describe("GroupByLabelBatchSampler", () => {
  it("gives every label in a batch at least two rows", () => {
    const data = Dataset.fromRecords(Array.from({ length: 24 }, (_, i) => ({ text: `t${i}`, label: i % 5 })));
    const batches = new GroupByLabelBatchSampler(data, { batchSize: 8, seed: 0 }).batches(0);
    for (const batch of batches) {
      const counts = new Map<unknown, number>();
      for (const i of batch) counts.set(data.row(i).label, (counts.get(data.row(i).label) ?? 0) + 1);
      for (const [label, count] of counts) assert.ok(count >= 2, `label ${String(label)} appears once`);
    }
    assert.throws(() => new GroupByLabelBatchSampler(data, { batchSize: 7 }), /batchSize must be even/);
  });
});

/** Real tokens over padded tokens: each column padded to its longest in the batch, summed over columns. */
function nonPadShare(batches: number[][], columns: number[][]): number {
  let real = 0;
  let padded = 0;
  for (const column of columns) {
    for (const batch of batches) {
      const lengths = batch.map((i) => column[i]!);
      real += lengths.reduce((a, b) => a + b, 0);
      padded += batch.length * Math.max(...lengths);
    }
  }
  return real / padded;
}

const sorted = (rows: number[]) => [...rows].sort((a, b) => a - b);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Pairs of distinct texts (the row number padded with x) of seeded random lengths, 3-62 and 3-22 characters. */
function lengthPairs(n: number, seed: number): { data: Dataset; columns: number[][] } {
  const random = new SeededRandom(seed);
  const columns = [range(n).map(() => 3 + random.int(60)), range(n).map(() => 3 + random.int(20))];
  const data = Dataset.fromRecords(
    range(n).map((i) => ({
      anchor: String(i).padEnd(columns[0]![i]!, "x"),
      positive: String(i).padEnd(columns[1]![i]!, "y"),
    })),
    "lengths",
  );
  return { data, columns };
}

describe("groupByLength", () => {
  it("sorts each megabatch longest first: alternating lengths 1, 9 go from 5/9 real to all real", () => {
    // 16 rows, batches of 2: megabatches of min(16 / (4 * 2), 50) = 2 batches (4 rows), each [1, 9, 1, 9]
    // sorted to [9, 9, 1, 1]. In file order every batch is [1, 9]: 10 real of 18 padded tokens.
    const lengths = range(16).map((i) => (i % 2 === 0 ? 1 : 9));
    const fileOrder = range(8).map((b) => [2 * b, 2 * b + 1]);
    assert.equal(nonPadShare(fileOrder, [lengths]), 10 / 18);
    const grouped = groupByLength(range(16), lengths, 2);
    assert.deepEqual(grouped.slice(0, 8), [1, 3, 0, 2, 5, 7, 4, 6]);
    const batches = range(8).map((b) => grouped.slice(2 * b, 2 * b + 2));
    assert.equal(nonPadShare(batches, [lengths]), 1);
  });

  it("swaps the longest row of all to the front, so the first batch is the largest", () => {
    // 8 rows, batches of 1: megabatches of 2 rows; the longest (9, row 6) sits in the last one.
    const grouped = groupByLength(range(8), [1, 2, 3, 4, 5, 6, 9, 7], 1);
    // sorted megabatches [1, 0] [3, 2] [5, 4] [6, 7]; row 6 and row 1 trade places
    assert.deepEqual(grouped, [6, 0, 3, 2, 5, 4, 1, 7]);
  });

  it("keeps every row once, orders the batches of each megabatch by length, the longest row first", () => {
    const n = 1000;
    const batchSize = 8;
    const { data, columns } = lengthPairs(n, 11);
    const lengths = characterLengths(data);
    const batches = new DefaultBatchSampler(data, { batchSize, seed: 5, groupByLength: true }).batches(0);
    assert.deepEqual(sorted(batches.flat()), range(n));
    assert.equal(batches.length, Math.ceil(n / batchSize));
    const longestIn = (batch: number[]) => Math.max(...batch.map((i) => lengths[i]!));
    assert.equal(longestIn(batches[0]!), Math.max(...lengths), "the first batch holds the longest row");
    // megabatches of min(1000 / 32, 50) = 31 batches; within one, each batch's rows are all at least as long
    // as the next batch's (but the first row of a megabatch, which the swap of the longest row may change)
    const perMegabatch = 31;
    for (let b = 1; b < batches.length; b++) {
      if (b % perMegabatch === 0) continue;
      const previous = batches[b - 1]!.slice((b - 1) % perMegabatch === 0 ? 1 : 0);
      const shortest = Math.min(...previous.map((i) => lengths[i]!));
      const longest = longestIn(batches[b]!);
      assert.ok(shortest >= longest, `batch ${b - 1} (shortest ${shortest}) before batch ${b} (longest ${longest})`);
    }
    // Characters stand for tokens. Lengths uniform in 3-62 and 3-22 (means 32.5 and 12.5); the longest of 8
    // uniform draws in [a, b] is about a + (b - a) * 8 / 9: 55.4 and 19.9, so shuffled batches are
    // 45 / 75.3 = 0.60 real. Grouped, a batch's anchors are within a character or so of each other (a
    // megabatch of 248 rows holds about 4 of each length), its positives still random: 45 / (33.3 + 19.9) = 0.85.
    const shuffled = new DefaultBatchSampler(data, { batchSize, seed: 5 }).batches(0);
    const [before, after] = [nonPadShare(shuffled, columns), nonPadShare(batches, columns)];
    assert.ok(Math.abs(before - 0.6) < 0.03, `non-pad share shuffled ${before}`); // 0.582
    assert.ok(Math.abs(after - 0.85) < 0.03, `non-pad share grouped ${after}`); // 0.838
  });

  it("is deterministic per (seed, epoch) and differs between epochs, for both samplers", () => {
    const { data } = lengthPairs(300, 2);
    for (const name of ["batch_sampler", "no_duplicates"] as const) {
      const sampler = createBatchSampler(name, data, { batchSize: 8, seed: 9, groupByLength: true });
      const again = createBatchSampler(name, data, { batchSize: 8, seed: 9, groupByLength: true });
      assert.deepEqual(again.batches(3), sampler.batches(3), name);
      assert.notDeepEqual(sampler.batches(4), sampler.batches(3), name);
      assert.notDeepEqual(
        sampler.batches(3),
        createBatchSampler(name, data, { batchSize: 8, seed: 9 }).batches(3),
        `${name}: grouping changes the batches`,
      );
    }
  });

  it("no_duplicates groups the order, then skips duplicates over it", () => {
    // 400 rows, each anchor 4 times, lengths uniform in 1-40
    const data = Dataset.fromRecords(range(400).map((i) => ({ anchor: `a${i % 50}`, positive: `p${i}` })));
    const random = new SeededRandom(4);
    const lengths = range(400).map(() => 1 + random.int(40));
    const options = { batchSize: 8, seed: 1, lengths };
    const batches = new NoDuplicatesBatchSampler(data, { ...options, groupByLength: true }).batches(0);
    assert.deepEqual(sorted(batches.flat()), range(400));
    for (const batch of batches) {
      const anchors = batch.map((i) => data.row(i).anchor);
      assert.equal(new Set(anchors).size, anchors.length, `duplicate anchor in ${JSON.stringify(anchors)}`);
    }
    // 0.60 shuffled, 0.87 grouped (0.93 for batch_sampler, whose batches skip nothing)
    const shuffled = new NoDuplicatesBatchSampler(data, options).batches(0);
    const [before, after] = [nonPadShare(shuffled, [lengths]), nonPadShare(batches, [lengths])];
    assert.ok(before < 0.65 && after > 0.82, `non-pad share ${before} shuffled, ${after} grouped`);
  });

  it("refuses group_by_label and lengths of the wrong size", () => {
    const data = Dataset.fromRecords(range(8).map((i) => ({ text: `t${i}`, label: i % 2 })));
    assert.throws(
      () => new GroupByLabelBatchSampler(data, { batchSize: 4, groupByLength: true }),
      /groupByLength cannot be combined with batchSampler "group_by_label"/,
    );
    assert.throws(
      () => new DefaultBatchSampler(data, { batchSize: 4, groupByLength: true, lengths: [1, 2] }),
      /lengths has 2 entries but dataset '.*' has 8 rows/,
    );
  });
});

describe("rowLengthKey", () => {
  it("orders rows by their longest column, then by the sum", () => {
    // sums 7, 6, 7: scale 8; keys max * 8 + sum
    assert.deepEqual(
      rowLengthKey([
        [3, 5, 5],
        [4, 1, 2],
      ]),
      [39, 46, 47],
    );
  });

  it("characterLengths counts the input columns, not the label", () => {
    const data = Dataset.fromRecords([
      { a: "abc", b: "de", label: 100 },
      { a: "a", b: "bcde", label: 2 },
    ]);
    // max 3, sum 5; max 4, sum 5: scale 6
    assert.deepEqual(characterLengths(data), [3 * 6 + 5, 4 * 6 + 5]);
  });
});

describe("interleaveBatches", () => {
  const perDataset = new Map([
    ["a", [[0], [1], [2], [3]]],
    ["b", [[0], [1]]],
  ]);

  it("round_robin alternates until the smallest dataset runs out", () => {
    const out = interleaveBatches("round_robin", perDataset, 0, 0);
    assert.deepEqual(
      out.map((b) => b.dataset),
      ["a", "b", "a", "b"],
    );
  });

  it("proportional uses every batch of every dataset, in a seeded order", () => {
    const out = interleaveBatches("proportional", perDataset, 5, 0);
    assert.equal(out.length, 6);
    assert.deepEqual(
      out.filter((b) => b.dataset === "a").map((b) => b.indices[0]),
      [0, 1, 2, 3],
    );
    assert.deepEqual(interleaveBatches("proportional", perDataset, 5, 0), out);
  });
});
