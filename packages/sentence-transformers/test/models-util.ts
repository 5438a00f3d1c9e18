// Test helpers for the models area (tokenizer, modules, SentenceTransformer): fixture paths,
// closeness assertions and tensor-leak checks.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "@stts/torch";

/** The repository root (/work/main): dist/test/x.test.js is four folders below it. */
export const repoRoot = path.resolve(fileURLToPath(import.meta.url), "../../../../..");
/** The BERT parity fixtures (STTS_BERT_PARITY_DIR, default ../shared/parity/bert). */
export const bertParityDir = process.env.STTS_BERT_PARITY_DIR ?? path.resolve(repoRoot, "../shared/parity/bert");
/** Shared data sets (../shared/data). */
export const sharedDataDir = path.resolve(repoRoot, "../shared/data");
/** The full bert-base-uncased tokenizer (30522 tokens). */
export const bertUncasedTokenizerDir = path.join(sharedDataDir, "bert-base-uncased-tokenizer");
/** The sentence-transformers folder of the parity set (BertModel + mean Pooling). */
export const tinyBertDir = path.join(bertParityDir, "bert-tiny-h32-l2");

/** An array of cases.json: flat row-major data with its shape. */
export interface FixtureArray {
  shape: number[];
  dtype: string;
  data: number[];
}

export interface FixtureCase {
  name: string;
  texts?: string[];
  text_pairs?: [string, string][];
  inputs: { input_ids: FixtureArray; attention_mask: FixtureArray; token_type_ids: FixtureArray | null };
  expected: { pooled: { mean: FixtureArray; cls: FixtureArray; max: FixtureArray } };
}

/** The cases of one checkpoint of the BERT parity set. */
export function loadCases(checkpoint: string): FixtureCase[] {
  const json = JSON.parse(fs.readFileSync(path.join(bertParityDir, checkpoint, "cases.json"), "utf8")) as {
    cases: FixtureCase[];
  };
  return json.cases;
}

/** The case named `name`, or a failed assertion. */
export function fixtureCase(checkpoint: string, name: string): FixtureCase {
  const found = loadCases(checkpoint).find((c) => c.name === name);
  assert.ok(found !== undefined, `${checkpoint}/cases.json has no case '${name}'`);
  return found;
}

/** Reads a tensor into a flat array of numbers. */
export function values(t: torch.Tensor): number[] {
  return Array.from(t.toTypedArray(), Number);
}

/**
 * Asserts two numbers, or two flat number arrays, agree elementwise within atol + rtol * |expected|. The one
 * implementation behind every test helper's assertClose (each area keeps its own default tolerances).
 */
export function assertClose(
  actualValues: number | ArrayLike<number>,
  expectedValues: number | ArrayLike<number>,
  atol = 1e-6,
  rtol = 0,
  what = "",
): void {
  const actual = typeof actualValues === "number" ? [actualValues] : actualValues;
  const expected = typeof expectedValues === "number" ? [expectedValues] : expectedValues;
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const tolerance = atol + rtol * Math.abs(e);
    assert.ok(Math.abs(a - e) <= tolerance, `${what}[${i}]: ${a} != ${e} (tolerance ${tolerance})`);
  }
}

/** Live tensor handles plus those the GC finalizer had to free (a leak raises it either way). */
export function handleCount(): number {
  return torch.liveTensorCount() + torch.finalizedTensorCount();
}

/** Runs `fn` in a scope and asserts it leaked no tensor handle. */
export function tidy(fn: () => void): void {
  const before = handleCount();
  torch.scope(fn);
  assert.equal(handleCount(), before, "tensors leaked");
}

/** Runs `fn` and asserts the number of tensor handles is back to where it was. */
export async function assertNoLeak(fn: () => void | Promise<void>, what = "tensors leaked"): Promise<void> {
  const before = handleCount();
  await fn();
  assert.equal(handleCount(), before, what);
}

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempFolder(prefix = "stts-test-"): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Reads a JSON file. */
export function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

/** Sentences of STS-B (train split, both columns, in file order, distinct), for batching tests. */
export function stsbSentences(count: number): string[] {
  const lines = fs.readFileSync(path.join(sharedDataDir, "stsbenchmark", "sts-train.csv"), "utf8").split("\n");
  const out = new Set<string>();
  for (const line of lines) {
    const fields = line.split("\t");
    for (const sentence of [fields[5], fields[6]]) {
      if (sentence !== undefined && sentence.trim() !== "") out.add(sentence);
      if (out.size === count) return [...out];
    }
  }
  return [...out];
}

/** Runs `fn` with HF_HUB_CACHE = `dir` and HF_HUB_OFFLINE = 1 (Hub code reads only that cache), then restores both. */
export async function withOfflineHubCache<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const saved = { HF_HUB_CACHE: process.env.HF_HUB_CACHE, HF_HUB_OFFLINE: process.env.HF_HUB_OFFLINE };
  process.env.HF_HUB_CACHE = dir;
  process.env.HF_HUB_OFFLINE = "1";
  try {
    return await fn();
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}
