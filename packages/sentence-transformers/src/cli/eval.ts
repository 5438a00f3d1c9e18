// `stts eval <model>`: STS correlations on STS-B-format files and retrieval metrics on BEIR folders.
// Also the data readers `stts train` uses for its evaluators.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Command } from "commander";
import { EmbeddingSimilarityEvaluator } from "../evaluation/embedding-similarity-evaluator.js";
import type { SentenceEvaluator } from "../evaluation/evaluator.js";
import { InformationRetrievalEvaluator } from "../evaluation/information-retrieval-evaluator.js";
import { loadDelimited } from "../training/dataset.js";
import { collect, loadModel, positiveInteger, type CliIo } from "./common.js";

/** Sentence pairs with gold similarity scores. */
export interface StsData {
  sentences1: string[];
  sentences2: string[];
  scores: number[];
}

/**
 * Reads an STS file, tab-separated: either with a header line naming `sentence1`, `sentence2` and
 * `score`, or in STS-B's layout without header (genre, file, year, id, score, sentence1, sentence2,
 * and sometimes trailing attribution fields, ignored).
 */
export function loadStsFile(file: string): StsData {
  const firstLine = fs.readFileSync(file, "utf8").split(/\r?\n/, 1)[0] ?? "";
  const header = firstLine.split("\t");
  const named = ["sentence1", "sentence2", "score"].every((column) => header.includes(column));
  const dataset = named
    ? loadDelimited(file, { delimiter: "\t", numericColumns: ["score"] })
    : loadDelimited(file, {
        delimiter: "\t",
        columns: [null, null, null, null, "score", "sentence1", "sentence2"],
        numericColumns: ["score"],
        ignoreExtraFields: true,
      });
  return {
    sentences1: dataset.column("sentence1").map(String),
    sentences2: dataset.column("sentence2").map(String),
    scores: dataset.column("score").map(Number),
  };
}

/** A retrieval benchmark: query id -> text, corpus id -> text, query id -> relevant corpus ids. */
export interface BeirData {
  queries: Record<string, string>;
  corpus: Record<string, string>;
  relevantDocs: Record<string, string[]>;
}

/**
 * Reads a BEIR folder: corpus.jsonl ({_id, title, text}: the text is "title text"), queries.jsonl
 * ({_id, text}) and qrels/<split>.tsv (query-id, corpus-id, score; a header line is skipped); pairs
 * with score > 0 are relevant.
 */
export function loadBeirFolder(folder: string, split = "test"): BeirData {
  const readJsonl = (name: string): Record<string, unknown>[] => {
    const file = path.join(folder, name);
    if (!fs.existsSync(file)) throw new Error(`BEIR folder ${folder}: missing ${name}`);
    return fs
      .readFileSync(file, "utf8")
      .split(/\r?\n/)
      .flatMap((line, i) => {
        if (line.trim() === "") return [];
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch (error) {
          throw new Error(`${file}, line ${i + 1}: invalid JSON (${(error as Error).message})`);
        }
      });
  };
  const corpus: Record<string, string> = {};
  for (const entry of readJsonl("corpus.jsonl")) {
    corpus[String(entry._id)] = `${String(entry.title ?? "")} ${String(entry.text ?? "")}`.trim();
  }
  const queries: Record<string, string> = {};
  for (const entry of readJsonl("queries.jsonl")) queries[String(entry._id)] = String(entry.text ?? "");
  const qrels = path.join(folder, "qrels", `${split}.tsv`);
  if (!fs.existsSync(qrels)) {
    const splits = fs.existsSync(path.join(folder, "qrels")) ? fs.readdirSync(path.join(folder, "qrels")) : [];
    throw new Error(`BEIR folder ${folder}: missing qrels/${split}.tsv (found: ${splits.join(", ") || "nothing"})`);
  }
  const relevantDocs: Record<string, string[]> = {};
  fs.readFileSync(qrels, "utf8")
    .split(/\r?\n/)
    .forEach((line, i) => {
      if (line.trim() === "") return;
      const [queryId, corpusId, score] = line.split("\t");
      if (i === 0 && !Number.isFinite(Number(score))) return; // the header line
      if (queryId === undefined || corpusId === undefined || !Number.isFinite(Number(score))) {
        throw new Error(`${qrels}, line ${i + 1}: expected query-id<TAB>corpus-id<TAB>score, got '${line}'`);
      }
      if (Number(score) > 0) (relevantDocs[queryId] ??= []).push(corpusId);
    });
  return { queries, corpus, relevantDocs };
}

interface EvalCommandOptions {
  sts: string[];
  ir: string[];
  irSplit: string;
  batchSize: number;
  json?: boolean;
}

/** "sts-dev_spearman_cosine: 0.8123" lines. */
export function formatMetrics(metrics: Record<string, number>): string {
  return Object.entries(metrics)
    .map(([key, value]) => `${key}: ${Number.isFinite(value) ? value.toFixed(4) : String(value)}\n`)
    .join("");
}

/** Adds `eval` to the program. */
export function registerEvalCommand(program: Command, io: CliIo): void {
  program
    .command("eval")
    .description("evaluate a model: Spearman/Pearson on STS files, retrieval metrics on BEIR folders")
    .argument("<model>", "a model folder or Hugging Face Hub id")
    .option(
      "--sts <file>",
      "an STS file (tab-separated: STS-B layout, or a header with sentence1, sentence2, score); repeatable",
      collect,
      [],
    )
    .option("--ir <folder>", "a BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv); repeatable", collect, [])
    .option("--ir-split <split>", "the qrels file of the BEIR folders", "test")
    .option("-b, --batch-size <n>", "sentences per forward pass", positiveInteger, 32)
    .option("--json", "print the metrics as one JSON object")
    .action(async (name: string, options: EvalCommandOptions) => {
      if (options.sts.length === 0 && options.ir.length === 0) {
        throw new Error("stts eval: give at least one --sts FILE or --ir FOLDER");
      }
      const evaluators: SentenceEvaluator[] = [
        ...options.sts.map((file) => {
          const data = loadStsFile(file);
          return new EmbeddingSimilarityEvaluator(data.sentences1, data.sentences2, data.scores, {
            name: path.parse(file).name,
            batchSize: options.batchSize,
          });
        }),
        ...options.ir.map((folder) => {
          const data = loadBeirFolder(folder, options.irSplit);
          return new InformationRetrievalEvaluator(data.queries, data.corpus, data.relevantDocs, {
            name: path.basename(path.resolve(folder)),
            batchSize: options.batchSize,
          });
        }),
      ];
      const model = await loadModel(name, io);
      try {
        const metrics: Record<string, number> = {};
        for (const evaluator of evaluators) Object.assign(metrics, evaluator.evaluate(model));
        io.stdout(options.json === true ? `${JSON.stringify(metrics, null, 2)}\n` : formatMetrics(metrics));
      } finally {
        model.dispose();
      }
    });
}
