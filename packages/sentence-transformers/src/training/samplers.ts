// Batch samplers: which rows form each batch, and in which order datasets take turns.
//
// Orders come from a small seeded PRNG keyed by (seed, epoch), so a run resumed at epoch e
// sees exactly the batches an uninterrupted run would.
import type { Dataset, DatasetValue } from "./dataset.js";
import type { BatchSamplerName, MultiDatasetBatchSamplerName } from "./arguments.js";

/** A deterministic PRNG (mulberry32) for data order; independent of libtorch's generator. */
export class SeededRandom {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): number[] {
    const out = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

/** Mixes a seed and an epoch into one 32-bit seed. */
export function epochSeed(seed: number, epoch: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(epoch + 1, 0xc2b2ae35)) >>> 0;
}

export interface BatchSamplerOptions {
  batchSize: number;
  /** Drop the last incomplete batch (default false). */
  dropLast?: boolean;
  seed?: number;
}

/** Yields batches of row indices for one epoch. */
export interface BatchSampler {
  batches(epoch: number): number[][];
}

/**
 * Shuffled rows cut into batches (the reference's default `batch_sampler`).
 *
 * @example
 * new DefaultBatchSampler(dataset, { batchSize: 32, seed: 42 }).batches(0)
 */
export class DefaultBatchSampler implements BatchSampler {
  constructor(
    readonly dataset: Dataset,
    readonly options: BatchSamplerOptions,
  ) {}

  batches(epoch: number): number[][] {
    const order = new SeededRandom(epochSeed(this.options.seed ?? 0, epoch)).permutation(this.dataset.length);
    return chunk(order, this.options.batchSize, this.options.dropLast ?? false);
  }
}

/**
 * Shuffled rows, skipping a row while any of its texts is already in the batch (skipped rows
 * wait for a later batch), so in-batch negatives are never copies of a positive
 * (`no_duplicates`, for MultipleNegativesRankingLoss and friends). The label column is ignored.
 */
export class NoDuplicatesBatchSampler implements BatchSampler {
  constructor(
    readonly dataset: Dataset,
    readonly options: BatchSamplerOptions,
  ) {}

  batches(epoch: number): number[][] {
    const texts = this.dataset.inputColumns.map((column) => this.dataset.column(column));
    let remaining = new SeededRandom(epochSeed(this.options.seed ?? 0, epoch)).permutation(this.dataset.length);
    const out: number[][] = [];
    while (remaining.length > 0) {
      const seen = new Set<DatasetValue>();
      const batch: number[] = [];
      const skipped: number[] = [];
      for (const index of remaining) {
        const values = texts.map((column) => column[index]!);
        if (batch.length < this.options.batchSize && values.every((v) => !seen.has(v))) {
          batch.push(index);
          for (const v of values) seen.add(v);
        } else {
          skipped.push(index);
        }
      }
      if (batch.length < this.options.batchSize && (this.options.dropLast ?? false)) break;
      out.push(batch);
      remaining = skipped;
    }
    return out;
  }
}

/**
 * Batches in which every label present appears at least twice (`group_by_label`, for the
 * batch triplet losses): rows are grouped by label, each group shuffled and cut into pairs,
 * then pairs are dealt into batches. Labels with a single row are dropped. batchSize must be even.
 */
export class GroupByLabelBatchSampler implements BatchSampler {
  constructor(
    readonly dataset: Dataset,
    readonly options: BatchSamplerOptions,
  ) {
    if (options.batchSize % 2 !== 0) {
      throw new RangeError(`GroupByLabelBatchSampler: batchSize must be even, got ${options.batchSize}`);
    }
    if (dataset.labelColumn === null) {
      throw new Error(
        `GroupByLabelBatchSampler: dataset '${dataset.name}' has no label column (label, labels, score or scores)`,
      );
    }
  }

  batches(epoch: number): number[][] {
    const random = new SeededRandom(epochSeed(this.options.seed ?? 0, epoch));
    const labels = this.dataset.column(this.dataset.labelColumn!);
    const groups = new Map<DatasetValue, number[]>();
    labels.forEach((label, index) => {
      const group = groups.get(label) ?? [];
      group.push(index);
      groups.set(label, group);
    });
    const pairs: number[][] = [];
    for (const group of groups.values()) {
      const shuffled = random.permutation(group.length).map((i) => group[i]!);
      for (let i = 0; i + 1 < shuffled.length; i += 2) pairs.push([shuffled[i]!, shuffled[i + 1]!]);
    }
    const order = random.permutation(pairs.length).flatMap((i) => pairs[i]!);
    return chunk(order, this.options.batchSize, this.options.dropLast ?? false);
  }
}

/** The sampler the `batchSampler` argument names. */
export function createBatchSampler(
  name: BatchSamplerName,
  dataset: Dataset,
  options: BatchSamplerOptions,
): BatchSampler {
  switch (name) {
    case "batch_sampler":
      return new DefaultBatchSampler(dataset, options);
    case "no_duplicates":
      return new NoDuplicatesBatchSampler(dataset, options);
    case "group_by_label":
      return new GroupByLabelBatchSampler(dataset, options);
  }
}

/** One batch of one dataset. */
export interface DatasetBatch {
  dataset: string;
  indices: number[];
}

/**
 * Interleaves the batches of several datasets for one epoch: `round_robin` takes one batch of
 * each in turn until the smallest runs out; `proportional` draws the dataset of every batch with
 * probability proportional to its remaining batches, so all batches are used.
 */
export function interleaveBatches(
  name: MultiDatasetBatchSamplerName,
  perDataset: Map<string, number[][]>,
  seed: number,
  epoch: number,
): DatasetBatch[] {
  const names = [...perDataset.keys()];
  const out: DatasetBatch[] = [];
  if (name === "round_robin") {
    const rounds = Math.min(...names.map((n) => perDataset.get(n)!.length));
    for (let r = 0; r < rounds; r++) for (const n of names) out.push({ dataset: n, indices: perDataset.get(n)![r]! });
    return out;
  }
  const random = new SeededRandom(epochSeed(seed, epoch) ^ 0x5bd1e995);
  const next = new Map(names.map((n) => [n, 0]));
  let left = names.reduce((sum, n) => sum + perDataset.get(n)!.length, 0);
  while (left > 0) {
    let pick = random.int(left);
    for (const n of names) {
      const remaining = perDataset.get(n)!.length - next.get(n)!;
      if (pick < remaining) {
        out.push({ dataset: n, indices: perDataset.get(n)![next.get(n)!]! });
        next.set(n, next.get(n)! + 1);
        break;
      }
      pick -= remaining;
    }
    left--;
  }
  return out;
}

function chunk(order: number[], size: number, dropLast: boolean): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += size) {
    const batch = order.slice(i, i + size);
    if (batch.length < size && dropLast) break;
    out.push(batch);
  }
  return out;
}
