// ParaphraseMiningEvaluator: mines the most similar pairs of a sentence collection and scores them against known duplicates.
import type { ConfigValue } from "../losses/loss.js";
import type { SentenceTransformer } from "../sentence-transformer.js";
import { paraphraseMining } from "../util/paraphrase-mining.js";
import { appendCsvRow, nameSuffix, SentenceEvaluator, type EvaluateOptions } from "./evaluator.js";

/** Options of ParaphraseMiningEvaluator. */
export interface ParaphraseMiningEvaluatorOptions {
  /** Duplicate id pairs [[id1, id2], ...]; pairs with an id missing from sentencesMap are ignored. */
  duplicatesList?: readonly (readonly [string, string])[];
  /** duplicatesDict[id1][id2] = true when id1 and id2 are duplicates (either direction counts). */
  duplicatesDict?: Readonly<Record<string, Readonly<Record<string, boolean>>>>;
  /** Also count a-c as duplicates when a-b and b-c are (default false). */
  addTransitiveClosure?: boolean;
  /** Sentences scored at once as queries while mining (default 5000). */
  queryChunkSize?: number;
  /** Sentences scored at once as corpus while mining (default 100000). */
  corpusChunkSize?: number;
  /** The most candidate pairs kept (default 500000). */
  maxPairs?: number;
  /** Candidates per sentence (default 100). */
  topK?: number;
  /** Default false. */
  showProgressBar?: boolean;
  /** Sentences per encode batch (default 16). */
  batchSize?: number;
  /** Metric-key prefix and CSV file name part (default ""). */
  name?: string;
  /** Append the results to a CSV file in outputPath (default true). */
  writeCsv?: boolean;
  /** Keep only the first dimensions of the embeddings (default null: the model's truncateDim). */
  truncateDim?: number | null;
}

/**
 * Mines the most similar sentence pairs with cosine similarity (paraphraseMining) and compares them,
 * best first, with the known duplicate pairs (sentence-transformers' ParaphraseMiningEvaluator):
 * `${name}_average_precision` (the mean, over all duplicate pairs, of the precision at each duplicate
 * found; duplicates never mined count 0) — the primary metric — and the best F1 over cut-offs with its
 * `_precision`, `_recall` and `_threshold` (halfway between the scores around the cut-off). Results are
 * appended to `paraphrase_mining_evaluation[_name]_results.csv` in `outputPath`.
 *
 * @example
 * const evaluator = new ParaphraseMiningEvaluator({ q1: "How do I learn Go?", q2: "Best way to learn Go?", q3: "Why is the sky blue?" }, { duplicatesList: [["q1", "q2"]] });
 * evaluator.evaluate(model)["average_precision"]; // 1
 *
 * @param sentencesMap id -> sentence
 * @param options duplicatesList / duplicatesDict (at least one duplicate pair), addTransitiveClosure (false),
 *   queryChunkSize (5000), corpusChunkSize (100000), maxPairs (500000), topK (100), showProgressBar (false),
 *   batchSize (16), name (""), writeCsv (true), truncateDim (null)
 */
export class ParaphraseMiningEvaluator extends SentenceEvaluator {
  readonly ids: readonly string[];
  readonly sentences: readonly string[];
  readonly addTransitiveClosure: boolean;
  readonly queryChunkSize: number;
  readonly corpusChunkSize: number;
  readonly maxPairs: number;
  readonly topK: number;
  readonly showProgressBar: boolean;
  readonly batchSize: number;
  readonly writeCsv: boolean;
  readonly truncateDim: number | null;
  /** How many distinct duplicate pairs have both ids in sentencesMap. */
  readonly totalNumDuplicates: number;
  /** The CSV results file name. */
  readonly csvFile: string;
  /** duplicates[id1][id2]: the duplicate graph (after the transitive closure, when asked). */
  readonly #duplicates: Map<string, Map<string, boolean>>;

  constructor(sentencesMap: Readonly<Record<string, string>>, options: ParaphraseMiningEvaluatorOptions = {}) {
    super(options.name ?? "");
    const who = "ParaphraseMiningEvaluator";
    this.ids = Object.keys(sentencesMap);
    this.sentences = this.ids.map((id) => sentencesMap[id]!);
    this.addTransitiveClosure = options.addTransitiveClosure ?? false;
    this.queryChunkSize = options.queryChunkSize ?? 5000;
    this.corpusChunkSize = options.corpusChunkSize ?? 100000;
    this.maxPairs = options.maxPairs ?? 500000;
    this.topK = options.topK ?? 100;
    this.showProgressBar = options.showProgressBar ?? false;
    this.batchSize = options.batchSize ?? 16;
    this.writeCsv = options.writeCsv ?? true;
    this.truncateDim = options.truncateDim ?? null;

    const known = new Set(this.ids);
    const duplicates = new Map<string, Map<string, boolean>>();
    for (const [id1, inner] of Object.entries(options.duplicatesDict ?? {})) {
      duplicates.set(id1, new Map(Object.entries(inner)));
    }
    for (const [id1, id2] of options.duplicatesList ?? []) {
      if (!known.has(id1) || !known.has(id2)) continue;
      neighbours(duplicates, id1).set(id2, true);
      neighbours(duplicates, id2).set(id1, true);
    }
    if (this.addTransitiveClosure) closeTransitively(duplicates);
    this.#duplicates = duplicates;

    const positivePairs = new Set<string>();
    for (const [id1, inner] of duplicates) {
      for (const id2 of inner.keys()) {
        if (known.has(id1) && known.has(id2) && this.#isDuplicate(id1, id2)) {
          positivePairs.add(JSON.stringify([id1, id2].sort()));
        }
      }
    }
    this.totalNumDuplicates = positivePairs.size;
    if (this.totalNumDuplicates === 0) {
      throw new Error(
        `${who}: no duplicate pair has both ids in sentencesMap (${this.ids.length} sentences); pass duplicatesList or duplicatesDict`,
      );
    }
    this.csvFile = `paraphrase_mining_evaluation${nameSuffix(this.name)}_results.csv`;
    this.primaryMetric = this.fullKey("average_precision");
  }

  override evaluate(model: SentenceTransformer, options: EvaluateOptions = {}): Record<string, number> {
    const { outputPath, epoch = -1, steps = -1 } = options;
    const pairs = paraphraseMining(model, this.sentences, {
      showProgressBar: this.showProgressBar,
      batchSize: this.batchSize,
      queryChunkSize: this.queryChunkSize,
      corpusChunkSize: this.corpusChunkSize,
      maxPairs: this.maxPairs,
      topK: this.topK,
      truncateDim: this.truncateDim,
    });

    // Walk the pairs best first: precision and recall after each duplicate found.
    let extracted = 0;
    let correct = 0;
    let sumPrecision = 0;
    const best = { f1: 0, precision: 0, recall: 0, threshold: 0 };
    pairs.forEach(([score, i, j], index) => {
      extracted++;
      if (!this.#isDuplicate(this.ids[i]!, this.ids[j]!)) return;
      correct++;
      const precision = correct / extracted;
      const recall = correct / this.totalNumDuplicates;
      const f1 = (2 * precision * recall) / (precision + recall);
      sumPrecision += precision;
      if (f1 > best.f1) {
        const next = pairs[Math.min(index + 1, pairs.length - 1)]![0];
        Object.assign(best, { f1, precision, recall, threshold: (score + next) / 2 });
      }
    });
    const averagePrecision = sumPrecision / this.totalNumDuplicates;

    if (outputPath !== undefined && this.writeCsv) {
      const headers = ["epoch", "steps", "precision", "recall", "f1", "threshold", "average_precision"];
      const values = [best.precision, best.recall, best.f1, best.threshold, averagePrecision];
      appendCsvRow(outputPath, this.csvFile, headers, epoch, steps, values);
    }
    return this.prefixNameToMetrics({
      average_precision: averagePrecision,
      f1: best.f1,
      precision: best.precision,
      recall: best.recall,
      threshold: best.threshold,
    });
  }

  override getConfigDict(): Record<string, ConfigValue> {
    const config: Record<string, ConfigValue> = {
      addTransitiveClosure: this.addTransitiveClosure,
      maxPairs: this.maxPairs,
      topK: this.topK,
    };
    if (this.truncateDim !== null) config["truncateDim"] = this.truncateDim;
    return config;
  }

  #isDuplicate(id1: string, id2: string): boolean {
    return this.#duplicates.get(id1)?.get(id2) === true || this.#duplicates.get(id2)?.get(id1) === true;
  }
}

function neighbours(graph: Map<string, Map<string, boolean>>, id: string): Map<string, boolean> {
  let inner = graph.get(id);
  if (inner === undefined) graph.set(id, (inner = new Map()));
  return inner;
}

/**
 * Marks every two nodes reachable from one another as duplicates, component by component in key
 * order, following every listed neighbour (as the reference's add_transitive_closure).
 */
function closeTransitively(graph: Map<string, Map<string, boolean>>): void {
  const visited = new Set<string>();
  for (const start of [...graph.keys()]) {
    if (visited.has(start)) continue;
    const component = new Set([start]);
    const queue = [...neighbours(graph, start).keys()];
    while (queue.length > 0) {
      const node = queue.shift()!;
      if (component.has(node)) continue;
      component.add(node);
      queue.push(...neighbours(graph, node).keys());
    }
    const members = [...component];
    for (let a = 0; a < members.length - 1; a++) {
      for (let b = a + 1; b < members.length; b++) {
        neighbours(graph, members[a]!).set(members[b]!, true);
        neighbours(graph, members[b]!).set(members[a]!, true);
        visited.add(members[a]!).add(members[b]!);
      }
    }
  }
}
