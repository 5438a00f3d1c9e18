// Parquet datasets: columns in file order, value types, and errors naming the file, row and column.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { parquetWriteFile } from "hyparquet-writer";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadParquet } from "../src/training/parquet.js";
import { loadDatasetFile } from "../src/training/load-dataset-file.js";
import { loadHubDataset } from "../src/hub/datasets.js";
import { tempFolder, withOfflineHubCache } from "./models-util.js";

describe("loadParquet", () => {
  it("reads text, score and embedding columns in the file's order", async () => {
    const { dir, cleanup } = tempFolder();
    try {
      const filename = join(dir, "train.parquet");
      parquetWriteFile({
        filename,
        columnData: [
          { name: "sentence1", data: ["a cat", "a dog"], type: "STRING" },
          { name: "sentence2", data: ["a kitten", "a puppy"], type: "STRING" },
          { name: "score", data: [0.9, 0.25], type: "DOUBLE" },
          { name: "count", data: [3n, 4n], type: "INT64" },
        ],
      });
      const dataset = await loadParquet(filename, { name: "pairs" });
      assert.equal(dataset.name, "pairs");
      assert.deepEqual(dataset.columnNames, ["sentence1", "sentence2", "score", "count"]);
      assert.equal(dataset.labelColumn, "score");
      assert.deepEqual(dataset.row(1), { sentence1: "a dog", sentence2: "a puppy", score: 0.25, count: 4 });
      const selected = await loadParquet(filename, { columns: ["sentence2", "score"] });
      assert.deepEqual(selected.columnNames, ["sentence2", "score"]);
    } finally {
      cleanup();
    }
  });

  it("names the file when it is not Parquet", async () => {
    const { dir, cleanup } = tempFolder();
    try {
      const filename = join(dir, "broken.parquet");
      (await import("node:fs")).writeFileSync(filename, "not parquet at all");
      await assert.rejects(
        loadParquet(filename),
        /dataset 'broken\.parquet' \(.*broken\.parquet\): cannot read Parquet/,
      );
    } finally {
      cleanup();
    }
  });
});

describe("loadDatasetFile", () => {
  it("reads .parquet, .jsonl and delimited files by their extension", async () => {
    const { dir, cleanup } = tempFolder();
    try {
      parquetWriteFile({
        filename: join(dir, "pairs.parquet"),
        columnData: [
          { name: "a", data: ["x1", "x2"], type: "STRING" },
          { name: "score", data: [0.5, 1], type: "DOUBLE" },
        ],
      });
      writeFileSync(join(dir, "pairs.jsonl"), '{"a": "x1", "score": 0.5}\n{"a": "x2", "score": 1}\n');
      writeFileSync(join(dir, "pairs.csv"), "a,score\nx1,0.5\nx2,1\n");
      writeFileSync(join(dir, "pairs.tsv"), "a\tscore\nx1\t0.5\nx2\t1\n");
      for (const file of ["pairs.parquet", "pairs.jsonl"]) {
        const dataset = await loadDatasetFile(join(dir, file), { name: file });
        assert.equal(dataset.name, file);
        assert.deepEqual(dataset.row(1), { a: "x2", score: 1 }, file);
      }
      for (const file of ["pairs.csv", "pairs.tsv"]) {
        const dataset = await loadDatasetFile(join(dir, file), { numericColumns: ["score"] });
        assert.equal(dataset.name, file);
        assert.deepEqual(dataset.row(0), { a: "x1", score: 0.5 }, file);
      }
    } finally {
      cleanup();
    }
  });
});

describe("loadHubDataset", () => {
  it("loads a Parquet split from the Hugging Face cache, offline", async () => {
    const { dir, cleanup } = tempFolder();
    try {
      await withOfflineHubCache(dir, async () => {
        const snapshot = join(dir, "datasets--org--pairs", "snapshots", "main", "data");
        mkdirSync(snapshot, { recursive: true });
        for (const split of ["train", "test"]) {
          parquetWriteFile({
            filename: join(snapshot, `${split}-00000-of-00001.parquet`),
            columnData: [
              { name: "anchor", data: [`${split} a`, `${split} b`], type: "STRING" },
              { name: "positive", data: ["p1", "p2"], type: "STRING" },
            ],
          });
        }
        const test = await loadHubDataset("org/pairs", { split: "test" });
        assert.equal(test.name, "org/pairs");
        assert.deepEqual(test.column("anchor"), ["test a", "test b"]);
        assert.deepEqual((await loadHubDataset("org/pairs")).column("anchor"), ["train a", "train b"]);
        await assert.rejects(loadHubDataset("org/missing"), /is not in the Hugging Face cache .*HF_HUB_OFFLINE is set/);
      });
    } finally {
      cleanup();
    }
  });
});
