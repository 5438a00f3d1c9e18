// Parquet datasets: columns in file order, value types, and errors naming the file, row and column.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { parquetWriteFile } from "hyparquet-writer";
import { loadParquet } from "../src/training/parquet.js";
import { tempFolder } from "./models-util.js";

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
