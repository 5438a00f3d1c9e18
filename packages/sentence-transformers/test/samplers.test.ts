// Batch samplers: seeded determinism, no duplicate texts, label groups, and dataset interleaving.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Dataset } from "../src/training/dataset.js";
import {
  DefaultBatchSampler,
  GroupByLabelBatchSampler,
  NoDuplicatesBatchSampler,
  SeededRandom,
  interleaveBatches,
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
