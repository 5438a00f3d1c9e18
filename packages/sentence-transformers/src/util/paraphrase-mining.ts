// Paraphrase mining (sentence_transformers.util.paraphrase_mining): the most similar pairs of a list of sentences.
import * as torch from "@stts/torch";
import type { SentenceTransformer } from "../sentence-transformer.js";
import { asMatrix, type EmbeddingsInput } from "./semantic-search.js";
import { cosSim, type SimilarityFunction } from "./similarity.js";

/** One mined pair: [score, i, j] with i < j, as the reference's lists. */
export type ParaphrasePair = [score: number, i: number, j: number];

/** Options of `paraphraseMiningEmbeddings`. */
export interface ParaphraseMiningEmbeddingsOptions {
  /** Rows scored at once as queries (default 5000). */
  queryChunkSize?: number;
  /** Rows scored at once as corpus (default 100000). */
  corpusChunkSize?: number;
  /** The most pairs kept (default 500000). */
  maxPairs?: number;
  /** Candidates per sentence (default 100). */
  topK?: number;
  /** [n, dim] x [m, dim] -> [n, m] scores (default cosSim). */
  scoreFunction?: SimilarityFunction;
}

/** Options of `paraphraseMining`: the embedding options plus how to encode. */
export interface ParaphraseMiningOptions extends ParaphraseMiningEmbeddingsOptions {
  /** Default false. */
  showProgressBar?: boolean;
  /** Default 32. */
  batchSize?: number;
  /** Keep only the first dimensions of each embedding (default: the model's). */
  truncateDim?: number | null;
  promptName?: string;
  prompt?: string;
}

/**
 * Encodes `sentences` with `model` and returns the pairs with the highest similarity, best first
 * (sentence-transformers' `util.paraphrase_mining`), each [score, i, j] with i < j.
 *
 * @example
 * const pairs = paraphraseMining(model, ["A man eats.", "A man is eating.", "The sky is blue."]);
 * pairs[0]; // [0.93, 0, 1]
 *
 * @param model the SentenceTransformer
 * @param sentences the texts
 * @param options see ParaphraseMiningOptions (defaults as the reference)
 */
export function paraphraseMining(
  model: SentenceTransformer,
  sentences: readonly string[],
  options: ParaphraseMiningOptions = {},
): ParaphrasePair[] {
  const embeddings = model.encode([...sentences], {
    showProgressBar: options.showProgressBar ?? false,
    batchSize: options.batchSize ?? 32,
    convertTo: "tensor",
    truncateDim: options.truncateDim ?? undefined,
    promptName: options.promptName,
    prompt: options.prompt,
  });
  try {
    return paraphraseMiningEmbeddings(embeddings, options);
  } finally {
    embeddings.dispose();
  }
}

/**
 * The most similar pairs among embeddings: for each row its `topK` best other rows, kept in a
 * min-heap of at most `maxPairs` entries, then de-duplicated ((i, j) and (j, i) are one pair) and
 * sorted best first, as the reference's `paraphrase_mining_embeddings`.
 */
export function paraphraseMiningEmbeddings(
  embeddings: EmbeddingsInput,
  options: ParaphraseMiningEmbeddingsOptions = {},
): ParaphrasePair[] {
  const queryChunkSize = options.queryChunkSize ?? 5000;
  const corpusChunkSize = options.corpusChunkSize ?? 100000;
  const maxPairs = options.maxPairs ?? 500000;
  // A sentence is most similar to itself: one more candidate to get topK distinct ones.
  const topK = (options.topK ?? 100) + 1;
  const scoreFunction = options.scoreFunction ?? cosSim;
  const heap = new MinHeap();
  let minScore = -1;
  let numAdded = 0;
  torch.scope(() => {
    const matrix = asMatrix(embeddings, "embeddings");
    const n = matrix.shape[0]!;
    for (let corpusStart = 0; corpusStart < n; corpusStart += corpusChunkSize) {
      for (let queryStart = 0; queryStart < n; queryStart += queryChunkSize) {
        torch.scope(() => {
          const queries = matrix.narrow(0, queryStart, Math.min(queryChunkSize, n - queryStart));
          const corpus = matrix.narrow(0, corpusStart, Math.min(corpusChunkSize, n - corpusStart));
          const scores = scoreFunction(queries, corpus); // [queries, corpus]
          const k = Math.min(topK, scores.shape[1]!);
          const { values, indices } = scores.topk(k, 1, true, false);
          const scoreRows = values.float().toTypedArray() as Float32Array;
          const idRows = indices.toTypedArray() as BigInt64Array;
          for (let q = 0; q < scores.shape[0]!; q++) {
            for (let t = 0; t < k; t++) {
              const i = queryStart + q;
              const j = corpusStart + Number(idRows[q * k + t]!);
              const score = scoreRows[q * k + t]!;
              if (i !== j && score > minScore) {
                heap.push([score, i, j]);
                numAdded += 1;
                // The reference's quirk: once maxPairs entries were ever added, every addition pops the lowest.
                if (numAdded >= maxPairs) minScore = heap.pop()![0];
              }
            }
          }
        });
      }
    }
  });
  const seen = new Set<string>();
  const pairs: ParaphrasePair[] = [];
  for (let entry = heap.pop(); entry !== undefined; entry = heap.pop()) {
    const [score, a, b] = entry;
    const [i, j] = a < b ? [a, b] : [b, a];
    const key = `${i},${j}`;
    if (i !== j && !seen.has(key)) {
      seen.add(key);
      pairs.push([score, i, j]);
    }
  }
  // Stable sort, highest score first (popping gave ascending (score, i, j) order).
  return pairs.sort((x, y) => y[0] - x[0]);
}

/** A binary min-heap of [score, i, j] ordered as Python tuples (score, then i, then j). */
class MinHeap {
  readonly #items: ParaphrasePair[] = [];

  push(item: ParaphrasePair): void {
    const items = this.#items;
    items.push(item);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!less(items[index]!, items[parent]!)) break;
      [items[index], items[parent]] = [items[parent]!, items[index]!];
      index = parent;
    }
  }

  pop(): ParaphrasePair | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    items[0] = last;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < items.length && less(items[left]!, items[smallest]!)) smallest = left;
      if (right < items.length && less(items[right]!, items[smallest]!)) smallest = right;
      if (smallest === index) break;
      [items[index], items[smallest]] = [items[smallest]!, items[index]!];
      index = smallest;
    }
    return top;
  }
}

function less(a: ParaphrasePair, b: ParaphrasePair): boolean {
  return a[0] !== b[0] ? a[0] < b[0] : a[1] !== b[1] ? a[1] < b[1] : a[2] < b[2];
}
