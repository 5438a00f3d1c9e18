// InformationRetrievalEvaluator: retrieves the corpus entries closest to each query and scores the ranking.
import * as fs from "node:fs";
import * as path from "node:path";
import * as torch from "@stts/torch";
import type { Tensor } from "@stts/torch";
import type { ConfigValue } from "../losses/loss.js";
import type { EncodeOptions, SentenceTransformer, SimilarityFnName } from "../sentence-transformer.js";
import type { SimilarityFunction } from "../util/similarity.js";
import {
  appendCsvRow,
  argMax,
  checkSimilarityFnName,
  MATRIX_SIMILARITY,
  nameSuffix,
  pythonFloat,
  SentenceEvaluator,
  type EvaluateOptions,
} from "./evaluator.js";
import { retrievalMetrics, type RetrievalMetrics } from "./metrics.js";

/** Options of InformationRetrievalEvaluator. */
export interface InformationRetrievalEvaluatorOptions {
  /** Corpus entries embedded and scored at once (default 50000). */
  corpusChunkSize?: number;
  /** Cut-offs of MRR (default [10]). */
  mrrAtK?: number[];
  /** Cut-offs of NDCG (default [10]). */
  ndcgAtK?: number[];
  /** Cut-offs of accuracy, i.e. a relevant entry among the first k (default [1, 3, 5, 10]). */
  accuracyAtK?: number[];
  /** Cut-offs of precision and recall (default [1, 3, 5, 10]). */
  precisionRecallAtK?: number[];
  /** Cut-offs of MAP (default [100]). */
  mapAtK?: number[];
  /** Default false. */
  showProgressBar?: boolean;
  /** Sentences per encode batch (default 32). */
  batchSize?: number;
  /** Metric-key prefix and CSV file name part (default ""). */
  name?: string;
  /** Append the results to a CSV file in outputPath (default true). */
  writeCsv?: boolean;
  /** Keep only the first dimensions of the embeddings (default null: the model's truncateDim). */
  truncateDim?: number | null;
  /**
   * Name -> [queries, dim] x [corpus, dim] -> [queries, corpus] scores, higher is closer (default: the
   * function of mainScoreFunction if given, else the model's similarity under its similarityFnName).
   */
  scoreFunctions?: Record<string, SimilarityFunction> | null;
  /** The score function whose NDCG is the primary metric (default: the one with the best NDCG). */
  mainScoreFunction?: SimilarityFnName | null;
  /** Text prepended to each query (default: the model's "query" prompt, if any). */
  queryPrompt?: string | null;
  /** A key of the model's prompts for the queries. */
  queryPromptName?: string | null;
  /** Text prepended to each corpus entry (default: the model's "document" prompt, if any). */
  corpusPrompt?: string | null;
  /** A key of the model's prompts for the corpus. */
  corpusPromptName?: string | null;
  /** Also write each query's retrieved entries to a JSONL file in outputPath (default false). */
  writePredictions?: boolean;
}

/** One retrieved corpus entry. */
export interface RetrievedEntry {
  corpusId: string;
  score: number;
}

/** The metric groups, in the order the reference reports them. */
const GROUPS = [
  ["accuracy", "accuracyAtK"],
  ["precision", "precisionAtK"],
  ["recall", "recallAtK"],
  ["ndcg", "ndcgAtK"],
  ["mrr", "mrrAtK"],
  ["map", "mapAtK"],
] as const satisfies readonly (readonly [string, keyof RetrievalMetrics])[];

/**
 * Embeds the queries and the corpus, keeps the top-k corpus entries of each query per score function,
 * and reports (sentence-transformers' InformationRetrievalEvaluator), per score function,
 * `${name}_cosine_accuracy@k`, `_precision@k`, `_recall@k`, `_ndcg@k`, `_mrr@k` and `_map@k`. Only queries
 * with at least one relevant entry are evaluated. The primary metric is `_ndcg@<largest k>` of
 * `mainScoreFunction`, else of the score function with the best NDCG at the first evaluation
 * (e.g. "msmarco_cosine_ndcg@10"). Results are appended to
 * `Information-Retrieval_evaluation[_name]_results.csv` in `outputPath`.
 *
 * @example
 * const evaluator = new InformationRetrievalEvaluator(queries, corpus, relevantDocs, { name: "msmarco" });
 * evaluator.evaluate(model)["msmarco_cosine_ndcg@10"]; // 0.66
 *
 * @param queries query id -> text
 * @param corpus corpus id -> text
 * @param relevantDocs query id -> the ids of its relevant corpus entries
 * @param options corpusChunkSize (50000), mrrAtK ([10]), ndcgAtK ([10]), accuracyAtK ([1, 3, 5, 10]),
 *   precisionRecallAtK ([1, 3, 5, 10]), mapAtK ([100]), showProgressBar (false), batchSize (32), name (""),
 *   writeCsv (true), truncateDim (null), scoreFunctions (the model's), mainScoreFunction (null), queryPrompt,
 *   queryPromptName, corpusPrompt, corpusPromptName (null: the model's query / document prompts), writePredictions (false)
 */
export class InformationRetrievalEvaluator extends SentenceEvaluator {
  /** The evaluated query ids (those with relevant entries), in the order of `queries`. */
  readonly queryIds: readonly string[];
  readonly queries: readonly string[];
  readonly corpusIds: readonly string[];
  readonly corpus: readonly string[];
  readonly relevantDocs: ReadonlyMap<string, ReadonlySet<string>>;
  readonly corpusChunkSize: number;
  readonly mrrAtK: readonly number[];
  readonly ndcgAtK: readonly number[];
  readonly accuracyAtK: readonly number[];
  readonly precisionRecallAtK: readonly number[];
  readonly mapAtK: readonly number[];
  readonly showProgressBar: boolean;
  readonly batchSize: number;
  readonly writeCsv: boolean;
  readonly truncateDim: number | null;
  readonly mainScoreFunction: SimilarityFnName | null;
  readonly queryPrompt: string | null;
  readonly queryPromptName: string | null;
  readonly corpusPrompt: string | null;
  readonly corpusPromptName: string | null;
  readonly writePredictions: boolean;
  /** The CSV results file name. */
  readonly csvFile: string;
  #scoreFunctions: Record<string, SimilarityFunction> | null;
  #primaryResolved: boolean;

  constructor(
    queries: Readonly<Record<string, string>>,
    corpus: Readonly<Record<string, string>>,
    relevantDocs: Readonly<Record<string, ReadonlySet<string> | readonly string[]>>,
    options: InformationRetrievalEvaluatorOptions = {},
  ) {
    super(options.name ?? "");
    const who = "InformationRetrievalEvaluator";
    const relevant = new Map<string, ReadonlySet<string>>();
    for (const [queryId, ids] of Object.entries(relevantDocs)) relevant.set(queryId, new Set(ids));
    this.relevantDocs = relevant;
    this.queryIds = Object.keys(queries).filter((id) => (relevant.get(id)?.size ?? 0) > 0);
    if (this.queryIds.length === 0) {
      throw new Error(`${who}: no query has relevant documents (relevantDocs has ${relevant.size} query ids)`);
    }
    this.queries = this.queryIds.map((id) => queries[id]!);
    this.corpusIds = Object.keys(corpus);
    if (this.corpusIds.length === 0) throw new Error(`${who}: the corpus is empty`);
    this.corpus = this.corpusIds.map((id) => corpus[id]!);
    this.corpusChunkSize = positiveInteger(options.corpusChunkSize ?? 50000, who, "corpusChunkSize");
    const ks = (value: number[] | undefined, fallback: number[], argument: string) => {
      const list = value ?? fallback;
      if (list.length === 0) throw new RangeError(`${who}: ${argument} must list at least one k`);
      return list.map((k) => positiveInteger(k, who, argument));
    };
    this.mrrAtK = ks(options.mrrAtK, [10], "mrrAtK");
    this.ndcgAtK = ks(options.ndcgAtK, [10], "ndcgAtK");
    this.accuracyAtK = ks(options.accuracyAtK, [1, 3, 5, 10], "accuracyAtK");
    this.precisionRecallAtK = ks(options.precisionRecallAtK, [1, 3, 5, 10], "precisionRecallAtK");
    this.mapAtK = ks(options.mapAtK, [100], "mapAtK");
    this.showProgressBar = options.showProgressBar ?? false;
    this.batchSize = options.batchSize ?? 32;
    this.writeCsv = options.writeCsv ?? true;
    this.truncateDim = options.truncateDim ?? null;
    this.mainScoreFunction =
      options.mainScoreFunction == null
        ? null
        : checkSimilarityFnName(options.mainScoreFunction, who, "mainScoreFunction");
    // Unlike the reference (whose primary metric could then be missing), a main function alone is what is scored.
    const main = this.mainScoreFunction;
    this.#scoreFunctions =
      options.scoreFunctions != null
        ? { ...options.scoreFunctions }
        : main === null
          ? null
          : { [main]: MATRIX_SIMILARITY[main] };
    if (this.#scoreFunctions !== null && Object.keys(this.#scoreFunctions).length === 0) {
      throw new Error(`${who}: scoreFunctions is empty`);
    }
    if (
      this.mainScoreFunction !== null &&
      this.#scoreFunctions !== null &&
      !(this.mainScoreFunction in this.#scoreFunctions)
    ) {
      throw new Error(
        `${who}: mainScoreFunction '${this.mainScoreFunction}' is not a key of scoreFunctions (${Object.keys(this.#scoreFunctions).join(", ")})`,
      );
    }
    this.queryPrompt = options.queryPrompt ?? null;
    this.queryPromptName = options.queryPromptName ?? null;
    this.corpusPrompt = options.corpusPrompt ?? null;
    this.corpusPromptName = options.corpusPromptName ?? null;
    this.writePredictions = options.writePredictions ?? false;
    this.csvFile = `Information-Retrieval_evaluation${nameSuffix(this.name)}_results.csv`;

    // Known now when one function decides it; otherwise fixed by the first evaluation (as the reference).
    const names = this.#scoreFunctions === null ? null : Object.keys(this.#scoreFunctions);
    const decided = this.mainScoreFunction ?? (names?.length === 1 ? names[0]! : null);
    this.#primaryResolved = decided !== null;
    this.primaryMetric = this.fullKey(`${decided ?? "cosine"}_ndcg@${Math.max(...this.ndcgAtK)}`);
  }

  /** The score function names, sorted (the CSV column order); the model's similarity until evaluate says otherwise. */
  get scoreFunctionNames(): readonly string[] {
    return this.#scoreFunctions === null ? [] : Object.keys(this.#scoreFunctions).sort();
  }

  override evaluate(model: SentenceTransformer, options: EvaluateOptions = {}): Record<string, number> {
    const { outputPath, epoch = -1, steps = -1 } = options;
    const scoreFunctions = (this.#scoreFunctions ??= { [model.similarityFnName]: model.similarityFn });
    const ranked = this.retrieve(model);
    if (this.writePredictions && outputPath !== undefined) this.#writePredictions(outputPath, ranked);

    const scores: Record<string, RetrievalMetrics> = {};
    const relevant = this.queryIds.map((id) => this.relevantDocs.get(id)!);
    for (const fn of Object.keys(scoreFunctions)) {
      const rankedIds = ranked[fn]!.map((hits) => hits.map((hit) => hit.corpusId));
      scores[fn] = retrievalMetrics(rankedIds, relevant, {
        accuracy: [...this.accuracyAtK],
        precisionRecall: [...this.precisionRecallAtK],
        mrr: [...this.mrrAtK],
        ndcg: [...this.ndcgAtK],
        map: [...this.mapAtK],
      });
    }
    if (outputPath !== undefined && this.writeCsv) this.#appendCsv(outputPath, epoch, steps, scores);

    const maxNdcgK = Math.max(...this.ndcgAtK);
    if (!this.#primaryResolved) {
      const names = this.scoreFunctionNames;
      const best = this.mainScoreFunction ?? names[argMax(names.map((fn) => scores[fn]!.ndcgAtK[maxNdcgK]!))]!;
      this.primaryMetric = this.fullKey(`${best}_ndcg@${maxNdcgK}`);
      this.#primaryResolved = true;
    }
    const metrics: Record<string, number> = {};
    for (const [fn, table] of Object.entries(scores)) {
      for (const [group, field] of GROUPS) {
        for (const [k, value] of Object.entries(table[field])) metrics[`${fn}_${group}@${k}`] = value;
      }
    }
    return this.prefixNameToMetrics(metrics);
  }

  /**
   * Each query's best corpus entries per score function, best first: the top-k of each corpus chunk are
   * merged through a bounded min-heap of (score, corpus id) exactly as the reference's heapq, so ties
   * are broken as it does.
   */
  retrieve(model: SentenceTransformer): Record<string, RetrievedEntry[][]> {
    const scoreFunctions = this.#scoreFunctions ?? { [model.similarityFnName]: model.similarityFn };
    const maxK = Math.max(
      ...this.mrrAtK,
      ...this.ndcgAtK,
      ...this.accuracyAtK,
      ...this.precisionRecallAtK,
      ...this.mapAtK,
    );
    const heaps: Record<string, HeapEntry[][]> = {};
    for (const fn of Object.keys(scoreFunctions)) heaps[fn] = this.queries.map(() => []);
    const queryEmbeddings = model.encodeQuery(this.queries, {
      ...this.#encodeOptions(this.queryPrompt, this.queryPromptName),
      convertTo: "tensor",
    });
    try {
      for (let start = 0; start < this.corpus.length; start += this.corpusChunkSize) {
        const chunk = this.corpus.slice(start, start + this.corpusChunkSize);
        const chunkEmbeddings = model.encodeDocument(chunk, {
          ...this.#encodeOptions(this.corpusPrompt, this.corpusPromptName),
          convertTo: "tensor",
        });
        try {
          for (const [fn, scoreFunction] of Object.entries(scoreFunctions)) {
            this.#pushChunk(heaps[fn]!, scoreFunction, queryEmbeddings, chunkEmbeddings, start, maxK);
          }
        } finally {
          chunkEmbeddings.dispose();
        }
      }
    } finally {
      queryEmbeddings.dispose();
    }
    const out: Record<string, RetrievedEntry[][]> = {};
    for (const [fn, perQuery] of Object.entries(heaps)) {
      // A stable sort by score, descending, of the heap's array order (Python's sorted(reverse=True)).
      out[fn] = perQuery.map((heap) =>
        heap.map(([score, corpusId]) => ({ corpusId, score })).sort((a, b) => b.score - a.score),
      );
    }
    return out;
  }

  override getConfigDict(): Record<string, ConfigValue> {
    const config: Record<string, ConfigValue> = {};
    if (this.truncateDim !== null) config["truncateDim"] = this.truncateDim;
    if (this.queryPrompt !== null) config["queryPrompt"] = this.queryPrompt;
    if (this.queryPromptName !== null) config["queryPromptName"] = this.queryPromptName;
    if (this.corpusPrompt !== null) config["corpusPrompt"] = this.corpusPrompt;
    if (this.corpusPromptName !== null) config["corpusPromptName"] = this.corpusPromptName;
    return config;
  }

  #encodeOptions(prompt: string | null, promptName: string | null): Omit<EncodeOptions, "outputValue" | "convertTo"> {
    return {
      batchSize: this.batchSize,
      showProgressBar: this.showProgressBar,
      truncateDim: this.truncateDim ?? undefined,
      ...(prompt === null ? {} : { prompt }),
      ...(promptName === null ? {} : { promptName }),
    };
  }

  /** Scores queries x one corpus chunk and offers each query's chunk top-k to its heap. */
  #pushChunk(
    heaps: HeapEntry[][],
    scoreFunction: SimilarityFunction,
    queries: Tensor,
    chunk: Tensor,
    chunkStart: number,
    maxK: number,
  ): void {
    torch.scope(() => {
      const scores = scoreFunction(queries, chunk); // [queries, chunk]
      const k = Math.min(maxK, scores.shape[1]!);
      const { values, indices } = scores.topk(k, 1, true, false); // unsorted, as the reference
      const topScores = values.float().contiguous().toTypedArray() as Float32Array;
      const topIndices = indices.contiguous().toTypedArray() as BigInt64Array;
      heaps.forEach((heap, q) => {
        for (let t = 0; t < k; t++) {
          const entry: HeapEntry = [
            topScores[q * k + t]!,
            this.corpusIds[chunkStart + Number(topIndices[q * k + t]!)]!,
          ];
          if (heap.length < maxK) heapPush(heap, entry);
          else heapPushPop(heap, entry);
        }
      });
    });
  }

  #appendCsv(outputPath: string, epoch: number, steps: number, scores: Record<string, RetrievalMetrics>): void {
    const headers = ["epoch", "steps"];
    const values: number[] = [];
    for (const fn of this.scoreFunctionNames) {
      const table = scores[fn]!;
      for (const k of this.accuracyAtK) {
        headers.push(`${fn}-Accuracy@${k}`);
        values.push(table.accuracyAtK[k]!);
      }
      for (const k of this.precisionRecallAtK) {
        headers.push(`${fn}-Precision@${k}`, `${fn}-Recall@${k}`);
        values.push(table.precisionAtK[k]!, table.recallAtK[k]!);
      }
      for (const k of this.mrrAtK) {
        headers.push(`${fn}-MRR@${k}`);
        values.push(table.mrrAtK[k]!);
      }
      for (const k of this.ndcgAtK) {
        headers.push(`${fn}-NDCG@${k}`);
        values.push(table.ndcgAtK[k]!);
      }
      for (const k of this.mapAtK) {
        headers.push(`${fn}-MAP@${k}`);
        values.push(table.mapAtK[k]!);
      }
    }
    appendCsvRow(outputPath, this.csvFile, headers, epoch, steps, values, "\n");
  }

  /** One JSON line per query, {"query_id", "query", "results": [{"corpus_id", "score"}]}, one file per score function. */
  #writePredictions(outputPath: string, ranked: Record<string, RetrievedEntry[][]>): void {
    fs.mkdirSync(outputPath, { recursive: true });
    for (const [fn, perQuery] of Object.entries(ranked)) {
      const lines = perQuery.map((hits, q) => {
        const results = hits.map(
          (hit) => `{"corpus_id": ${JSON.stringify(hit.corpusId)}, "score": ${pythonFloat(hit.score)}}`,
        );
        return `{"query_id": ${JSON.stringify(this.queryIds[q])}, "query": ${JSON.stringify(this.queries[q])}, "results": [${results.join(", ")}]}\n`;
      });
      const file = `Information-Retrieval_evaluation${nameSuffix(this.name)}_predictions_${fn}.jsonl`;
      fs.writeFileSync(path.join(outputPath, file), lines.join(""), "utf8");
    }
  }
}

function positiveInteger(value: number, who: string, argument: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${who}: ${argument} must hold positive integers, got ${value}`);
  return value;
}

/** (score, corpus id), compared as a Python tuple. */
type HeapEntry = [score: number, corpusId: string];

function less(a: HeapEntry, b: HeapEntry): boolean {
  return a[0] !== b[0] ? a[0] < b[0] : a[1] < b[1];
}

/** Python's heapq.heappush. */
function heapPush(heap: HeapEntry[], item: HeapEntry): void {
  heap.push(item);
  siftDown(heap, 0, heap.length - 1);
}

/** Python's heapq.heappushpop: push `item`, then pop the smallest (which may be `item` itself). */
function heapPushPop(heap: HeapEntry[], item: HeapEntry): void {
  if (heap.length > 0 && less(heap[0]!, item)) {
    heap[0] = item;
    siftUp(heap, 0);
  }
}

/** heapq._siftdown: moves the item at `pos` up towards `start` while it is smaller than its parent. */
function siftDown(heap: HeapEntry[], start: number, pos: number): void {
  const item = heap[pos]!;
  while (pos > start) {
    const parentPos = (pos - 1) >> 1;
    const parent = heap[parentPos]!;
    if (!less(item, parent)) break;
    heap[pos] = parent;
    pos = parentPos;
  }
  heap[pos] = item;
}

/** heapq._siftup: moves the smaller child up until a leaf, puts the item there, then sifts it down. */
function siftUp(heap: HeapEntry[], pos: number): void {
  const end = heap.length;
  const start = pos;
  const item = heap[pos]!;
  let child = 2 * pos + 1;
  while (child < end) {
    const right = child + 1;
    if (right < end && !less(heap[child]!, heap[right]!)) child = right;
    heap[pos] = heap[child]!;
    pos = child;
    child = 2 * pos + 1;
  }
  heap[pos] = item;
  siftDown(heap, start, pos);
}
