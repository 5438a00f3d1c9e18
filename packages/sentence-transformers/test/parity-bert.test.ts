import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { runBertParity } from "../src/parity/bert-runner.js";
import { bertParityDir, handleCount, repoRoot, tempFolder } from "./bert-util.js";

type Json = Record<string, unknown>;

function readJson(file: string): Json {
  return JSON.parse(fs.readFileSync(file, "utf8")) as Json;
}

/** The number of cases the fixtures hold, counted from the files (forward cases, gradient, MLM, TSDAE). */
function countCases(dir: string): number {
  let total = 0;
  for (const name of fs.readdirSync(dir)) {
    const file = path.join(dir, name, "cases.json");
    if (!fs.existsSync(file)) continue;
    const fixture = readJson(file);
    const isModel = fixture.encoder_checkpoint !== undefined || fs.existsSync(path.join(dir, name, "config.json"));
    if (!isModel) continue;
    total += (fixture.cases as unknown[]).length;
    if (fixture.gradient_case !== undefined) total++;
    if (fixture.mlm_case !== undefined) total++;
  }
  return total;
}

/** The fixtures' BertModel-layout checkpoint (with a gradient_case), for building broken copies. */
function bertModelCheckpoint(dir: string): string {
  const name = fs.readdirSync(dir).find((entry) => {
    const file = path.join(dir, entry, "cases.json");
    return fs.existsSync(file) && readJson(file).layout === "BertModel" && readJson(file).gradient_case !== undefined;
  });
  assert.ok(name !== undefined, `no BertModel-layout checkpoint with a gradient_case in ${dir}`);
  return path.join(dir, name);
}

const script = path.join(repoRoot, "packages/sentence-transformers/scripts/parity-bert.mjs");

describe("BERT parity runner", () => {
  it(`passes every case of ${bertParityDir} and leaks no tensor`, () => {
    const expected = countCases(bertParityDir);
    assert.ok(expected > 0, `no cases found in ${bertParityDir}`);
    const before = handleCount();
    const { passed, failed, lines } = runBertParity(bertParityDir);
    assert.equal(handleCount(), before, "tensors leaked");
    const failures = lines.filter((line) => !line.startsWith("PASS"));
    assert.deepEqual(failures, [], "failing cases");
    assert.equal(failed, 0);
    assert.equal(passed, expected);
    assert.equal(lines.length, expected);
  });

  it("fails a case whose expected numbers are off, naming the array, and a parameter the fixture does not list", () => {
    const source = bertModelCheckpoint(bertParityDir);
    const dir = tempFolder("parity-broken");
    const folder = path.join(dir, "broken");
    fs.mkdirSync(folder);
    for (const file of ["config.json", "model.safetensors"])
      fs.copyFileSync(path.join(source, file), path.join(folder, file));
    const fixture = readJson(path.join(source, "cases.json"));
    const forward = (fixture.cases as Json[])[0]!;
    const hidden = (forward.expected as Json).last_hidden_state as { data: number[] };
    hidden.data[5] = hidden.data[5]! + 0.01; // 100 x the tolerance
    const gradient = fixture.gradient_case as Json;
    const norms = (gradient.expected as Json).grad_norms as Record<string, number | null>;
    const dropped = Object.keys(norms).find((name) => norms[name] !== null)!;
    delete norms[dropped];
    fs.writeFileSync(path.join(folder, "cases.json"), JSON.stringify({ ...fixture, cases: [forward] }));

    const { passed, failed, lines } = runBertParity(dir);
    assert.equal(passed, 0);
    assert.equal(failed, 2);
    assert.match(lines[0]!, /^FAIL broken\/\S+: last_hidden_state: 1 of \d+ elements off \(first at \[0, 0, 5\]/);
    assert.match(
      lines[1]!,
      new RegExp(`^FAIL broken/\\S+: .*${dropped.replace(/\./g, "\\.")}: parameter not in the fixture's grad_norms`),
    );

    const run = spawnSync(process.execPath, [script, "--dir", dir], { encoding: "utf8" });
    assert.equal(run.status, 1, run.stderr);
    assert.equal(run.stdout.trim().split("\n").at(-1), "0 passed, 2 failed");
  });

  it("the script prints one line per case and ends with the totals", () => {
    const run = spawnSync(process.execPath, [script, "--dir", bertParityDir], { encoding: "utf8" });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const out = run.stdout.trim().split("\n");
    const expected = countCases(bertParityDir);
    assert.equal(out.length, expected + 1);
    assert.equal(out.at(-1), `${expected} passed, 0 failed`);
  });
});
