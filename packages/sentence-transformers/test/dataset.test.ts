// Datasets: loaders, the label-column convention, column helpers, and errors naming dataset/row/column.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Dataset, DatasetError, loadDelimited, loadJsonl } from "../src/training/dataset.js";

const repoRoot = resolve(fileURLToPath(import.meta.url), "../../../../..");
const dataDir = resolve(repoRoot, "../shared/data");

function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "stts-dataset-")), name);
  writeFileSync(path, text);
  return path;
}

describe("Dataset", () => {
  it("treats label/labels/score/scores as the label and every other column as an input, in order", () => {
    const d = Dataset.fromRecords([{ premise: "a", score: 0.5, hypothesis: "b" }]);
    assert.equal(d.labelColumn, "score");
    assert.deepEqual(d.inputColumns, ["premise", "hypothesis"]);
    assert.equal(Dataset.fromRecords([{ anchor: "a", positive: "b" }]).labelColumn, null);
  });

  it("selects, renames and removes columns without touching the original", () => {
    const d = Dataset.fromRecords(
      [
        { a: "x1", b: "y1", label: 1 },
        { a: "x2", b: "y2", label: 0 },
      ],
      "toy",
    );
    const renamed = d.renameColumns({ a: "anchor" });
    assert.deepEqual(renamed.columnNames, ["anchor", "b", "label"]);
    assert.deepEqual(d.columnNames, ["a", "b", "label"]);
    assert.deepEqual(d.selectColumns(["b", "a"]).row(1), { b: "y2", a: "x2" });
    assert.deepEqual(d.removeColumns(["label"]).columnNames, ["a", "b"]);
    assert.deepEqual(d.select([1, 0]).column("label"), [0, 1]);
    assert.throws(() => d.renameColumns({ a: "b" }), /two columns named 'b'/);
    assert.throws(() => d.column("nope"), /dataset 'toy': no column 'nope' \(columns: a, b, label\)/);
  });

  it("names the dataset, row and column of a record missing a column", () => {
    assert.throws(
      () => Dataset.fromRecords([{ a: "x", b: "y" }, { a: "x" }], "pairs"),
      /dataset 'pairs', row 2: missing column 'b'/,
    );
  });
});

describe("loadDelimited", () => {
  it("reads STS-B train by splitting on tabs, keeping quotes and ignoring trailing attribution fields", () => {
    const d = loadDelimited(join(dataDir, "stsbenchmark/sts-train.csv"), {
      delimiter: "\t",
      columns: [null, null, null, null, "score", "sentence1", "sentence2"],
      numericColumns: ["score"],
      ignoreExtraFields: true,
    });
    assert.equal(d.length, 5749); // SOURCE.md: sts-train.csv has 5749 rows
    assert.deepEqual(d.inputColumns, ["sentence1", "sentence2"]);
    const scores = d.column("score") as number[];
    assert.ok(scores.every((s) => s >= 0 && s <= 5));
    assert.ok(
      (d.column("sentence1") as string[]).some((s) => s.includes('"')),
      "quotes kept verbatim",
    );
  });

  it("rejects a non-numeric score naming the file, line and column", () => {
    const path = tempFile("scores.tsv", "s1\ts2\tscore\na\tb\t0.5\nc\td\thigh\n");
    assert.throws(
      () => loadDelimited(path, { numericColumns: ["score"], name: "sts" }),
      /dataset 'sts' \(.*scores\.tsv\), line 3, column 'score': 'high' is not a number/,
    );
  });

  it("rejects a row with a missing field, and extra fields unless asked to ignore them", () => {
    const path = tempFile("pairs.csv", "a,b\nx,y\nz\n");
    assert.throws(() => loadDelimited(path), /pairs\.csv\), line 3: 1 fields, expected 2 \(a, b\)/);
    const extra = tempFile("extra.csv", "a,b\nx,y,w\n");
    assert.throws(() => loadDelimited(extra), /line 2: 3 fields, expected 2 .*ignoreExtraFields/);
    assert.deepEqual(loadDelimited(extra, { ignoreExtraFields: true }).row(0), { a: "x", b: "y" });
  });
});

describe("loadJsonl", () => {
  it("reads BEIR queries", () => {
    const d = loadJsonl(join(dataDir, "beir-msmarco-subset/queries.jsonl"));
    assert.ok(d.length > 0);
    assert.ok(d.columnNames.includes("_id") && d.columnNames.includes("text"));
  });

  it("names the line of invalid JSON and of a row missing a column", () => {
    assert.throws(() => loadJsonl(tempFile("bad.jsonl", '{"a": "x"}\n{oops}\n')), /bad\.jsonl\), line 2: invalid JSON/);
    assert.throws(
      () => loadJsonl(tempFile("missing.jsonl", '{"a": "x", "b": "y"}\n\n{"a": "z"}\n'), { name: "m" }),
      (error: unknown) => error instanceof DatasetError && /dataset 'm', row 3: missing column 'b'/.test(error.message),
    );
  });
});
