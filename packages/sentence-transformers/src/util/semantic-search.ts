// Semantic search (sentence_transformers.util.semantic_search): the top-k corpus entries of each query.
import * as torch from "@stts/torch";
import type { Tensor } from "@stts/torch";
import { cosSim, type SimilarityFunction } from "./similarity.js";

/** Embeddings given to the util functions: a [n, dim] tensor (or [dim]), or rows of numbers. */
export type EmbeddingsInput = Tensor | readonly ArrayLike<number>[];

/** One hit of `semanticSearch`. */
export interface SearchHit {
  /** The row of the corpus embeddings. */
  corpusId: number;
  score: number;
}

/** Options of `semanticSearch`. */
export interface SemanticSearchOptions {
  /** Hits per query (default 10). */
  topK?: number;
  /** Queries scored at once (default 100). */
  queryChunkSize?: number;
  /** Corpus rows scored at once (default 500000). */
  corpusChunkSize?: number;
  /** [queries, dim] x [corpus, dim] -> [queries, corpus] scores, higher is closer (default cosSim). */
  scoreFunction?: SimilarityFunction;
}

/**
 * For each query embedding, the `topK` corpus embeddings with the highest score, best first
 * (sentence-transformers' `util.semantic_search`). Scores are computed chunk by chunk (queries x corpus)
 * so a large corpus never needs one full score matrix. Ties are ordered by corpus id.
 *
 * @example
 * const hits = semanticSearch(model.encode(queries, { convertTo: "tensor" }), corpusEmbeddings, { topK: 5 });
 * hits[0]; // [{ corpusId: 17, score: 0.82 }, ...]
 *
 * @param queryEmbeddings [queries, dim] (or one query [dim])
 * @param corpusEmbeddings [corpus, dim]
 * @param options topK (10), queryChunkSize (100), corpusChunkSize (500000), scoreFunction (cosSim)
 */
export function semanticSearch(
  queryEmbeddings: EmbeddingsInput,
  corpusEmbeddings: EmbeddingsInput,
  options: SemanticSearchOptions = {},
): SearchHit[][] {
  const topK = positiveInteger(options.topK ?? 10, "topK");
  const queryChunkSize = positiveInteger(options.queryChunkSize ?? 100, "queryChunkSize");
  const corpusChunkSize = positiveInteger(options.corpusChunkSize ?? 500000, "corpusChunkSize");
  const scoreFunction = options.scoreFunction ?? cosSim;
  return torch.scope(() => {
    const queries = asMatrix(queryEmbeddings, "queryEmbeddings");
    const corpus = asMatrix(corpusEmbeddings, "corpusEmbeddings");
    const numQueries = queries.shape[0]!;
    const numCorpus = corpus.shape[0]!;
    const results: SearchHit[][] = Array.from({ length: numQueries }, () => []);
    for (let queryStart = 0; queryStart < numQueries; queryStart += queryChunkSize) {
      for (let corpusStart = 0; corpusStart < numCorpus; corpusStart += corpusChunkSize) {
        torch.scope(() => {
          const queryChunk = queries.narrow(0, queryStart, Math.min(queryChunkSize, numQueries - queryStart));
          const corpusChunk = corpus.narrow(0, corpusStart, Math.min(corpusChunkSize, numCorpus - corpusStart));
          const scores = scoreFunction(queryChunk, corpusChunk); // [queryChunk, corpusChunk]
          const k = Math.min(topK, scores.shape[1]!);
          const { values, indices } = scores.topk(k, 1, true, false);
          const scoreRows = values.float().toTypedArray() as Float32Array;
          const idRows = indices.toTypedArray() as BigInt64Array;
          for (let q = 0; q < scores.shape[0]!; q++) {
            const hits = results[queryStart + q]!;
            for (let j = 0; j < k; j++) {
              hits.push({ corpusId: corpusStart + Number(idRows[q * k + j]!), score: scoreRows[q * k + j]! });
            }
          }
        });
      }
      // Keep only the best topK of each query of this chunk between corpus chunks.
      for (let q = queryStart; q < Math.min(numQueries, queryStart + queryChunkSize); q++) {
        results[q] = results[q]!.sort(byScoreThenId).slice(0, topK);
      }
    }
    return results;
  });
}

/** Best score first; equal scores by ascending corpus id. */
function byScoreThenId(a: SearchHit, b: SearchHit): number {
  return b.score - a.score || a.corpusId - b.corpusId;
}

/** A [n, dim] float tensor from a tensor (a [dim] one gets a batch dimension) or rows. */
export function asMatrix(embeddings: EmbeddingsInput, argument: string): Tensor {
  if (embeddings instanceof torch.Tensor) {
    if (embeddings.ndim === 1) return embeddings.unsqueeze(0);
    if (embeddings.ndim !== 2)
      throw new RangeError(`${argument} must be [n, dim], got [${embeddings.shape.join(", ")}]`);
    return embeddings;
  }
  const rows = embeddings as readonly ArrayLike<number>[];
  const dim = rows[0]?.length ?? 0;
  const flat = new Float32Array(rows.length * dim);
  rows.forEach((row, i) => {
    if (row.length !== dim) throw new RangeError(`${argument}: row ${i} has ${row.length} values, expected ${dim}`);
    flat.set(row, i * dim);
  });
  return torch.fromTypedArray(flat, { shape: [rows.length, dim] });
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`semanticSearch: ${name} must be a positive integer, got ${value}`);
  return value;
}
