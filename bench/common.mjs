// Shared pieces of the stts benchmarks: data, the MiniLM-L6-sized model, timers, memory, output.
// bench/python/bench_st.py mirrors every choice made here (same data, same batches, same model config).
import { appendFileSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const benchDir = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(benchDir, "..");

/** The command line as {flags, options}: `--name value` pairs and bare `--flag`s. */
export function parseArgs(argv, flagNames) {
  const options = {};
  const flags = new Set();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) throw new Error(`bench: unexpected argument '${arg}'`);
    const name = arg.slice(2);
    if (flagNames.includes(name)) flags.add(name);
    else if (i + 1 < argv.length) options[name] = argv[++i];
    else throw new Error(`bench: option --${name} needs a value`);
  }
  return { flags, options };
}

/**
 * The shared data folder: --data-dir, else $STTS_DATA_DIR, else ../shared/data next to the repository
 * (a copy of the repository elsewhere, e.g. /tmp/stts-torch2, sets STTS_DATA_DIR=/work/shared/data).
 */
export function dataDir(options = {}) {
  return options["data-dir"] ?? process.env.STTS_DATA_DIR ?? resolve(repoRoot, "../shared/data");
}

/** MiniLM-L6's dimensions (sentence-transformers/all-MiniLM-L6-v2), freshly initialised. */
export const MINILM_L6_CONFIG = {
  model_type: "bert",
  vocab_size: 30522,
  hidden_size: 384,
  num_hidden_layers: 6,
  num_attention_heads: 12,
  intermediate_size: 1536,
  max_position_embeddings: 512,
};
export const MAX_SEQ_LENGTH = 128;
export const SEED = 0;

/** SNLI dev entailment pairs [premise, hypothesis] in file order (SOURCE.md: line-aligned, trim lines). */
export function snliEntailmentPairs(data) {
  const lines = (name) => readFileSync(resolve(data, "snli-dev-test", name), "utf8").split("\n");
  const [premises, hypotheses, labels] = [lines("s1.dev"), lines("s2.dev"), lines("labels.dev")];
  const pairs = [];
  labels.forEach((label, i) => {
    const a = premises[i]?.trim();
    const b = hypotheses[i]?.trim();
    if (label.trim() === "entailment" && a && b) pairs.push([a, b]);
  });
  return pairs;
}

/** STS-B rows of one split: {sentence1, sentence2, score} (tab-separated, fields 4-6; extra fields ignored). */
export function stsbRows(data, split) {
  return readFileSync(resolve(data, "stsbenchmark", `sts-${split}.csv`), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const fields = line.split("\t");
      return { score: Number(fields[4]), sentence1: fields[5], sentence2: fields[6] };
    });
}

/** The i-th batch of `size` consecutive items (file order), wrapping around at the end. */
export function batchAt(items, i, size) {
  const batches = Math.floor(items.length / size);
  const start = (i % batches) * size;
  return items.slice(start, start + size);
}

export const now = () => process.hrtime.bigint();
export const seconds = (from, to = now()) => Number(to - from) / 1e9;

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** A field of /proc/self/status (VmHWM, VmRSS) in MiB. */
export function procStatusMb(field) {
  const match = new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(readFileSync("/proc/self/status", "utf8"));
  if (match === null) throw new Error(`/proc/self/status has no ${field}`);
  return Number(match[1]) / 1024;
}

export const round = (x, digits = 4) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

/** Prints one measurement as a JSON line (required keys first) and appends it to --json-out when given. */
export function emit(record, jsonOut) {
  const line = JSON.stringify(record);
  console.log(line);
  if (jsonOut) appendFileSync(jsonOut, line + "\n");
}
