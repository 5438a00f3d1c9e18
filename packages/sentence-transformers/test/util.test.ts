import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as torch from "@stts/torch";
import { quantizeEmbeddings } from "../src/util/quantization.js";
import { semanticSearch } from "../src/util/semantic-search.js";
import { paraphraseMining, paraphraseMiningEmbeddings } from "../src/util/paraphrase-mining.js";
import { dotScore } from "../src/util/similarity.js";
import { SentenceTransformer } from "../src/sentence-transformer.js";
import { assertClose, assertNoLeak, tinyBertDir, values } from "./models-util.js";

const rows = (xs: ArrayLike<number>[]) => xs.map((x) => Array.from(x));

describe("quantizeEmbeddings", () => {
  const embeddings = [
    [0.12, -0.53, 0.91],
    [-0.44, 0.27, 0.05],
    [0.33, 0.81, -0.62],
    [0.0, -0.1, 0.2],
  ];

  it("buckets each dimension's own range into int8 and uint8 as numpy does (float32, truncation)", () => {
    // numpy oracle: r = vstack((e.min(0), e.max(0))); ((e - r[0]) / ((r[1] - r[0]) / 255) - 128).astype(int8)
    assert.deepEqual(rows(quantizeEmbeddings(embeddings, "int8")), [
      [57, -128, 127],
      [-128, 24, -16],
      [126, 127, -128],
      [17, -46, 8],
    ]);
    // ... and without "- 128", .astype(uint8); 254 rather than 255 comes from float32 rounding of the steps
    assert.deepEqual(rows(quantizeEmbeddings(embeddings, "uint8")), [
      [185, 0, 255],
      [0, 152, 111],
      [254, 255, 0],
      [145, 81, 136],
    ]);
    // numpy oracle for [[0, -1], [1, 1], [0.5, 0]]: int8 [[-128, -128], [126, 126], [0, 0]]
    assert.deepEqual(
      rows(
        quantizeEmbeddings(
          [
            [0, -1],
            [1, 1],
            [0.5, 0],
          ],
          "int8",
        ),
      ),
      [
        [-128, -128],
        [126, 126],
        [0, 0],
      ],
    );
  });

  it("takes the ranges from calibration embeddings or from `ranges`", () => {
    // numpy oracle with calibration [[-1, -1, -1], [1, 1, 1]]
    const expected = [
      [14, -68, 115],
      [-56, 33, 5],
      [41, 102, -79],
      [0, -13, 25],
    ];
    const calibrationEmbeddings = [
      [-1, -1, -1],
      [1, 1, 1],
    ];
    assert.deepEqual(rows(quantizeEmbeddings(embeddings, "int8", { calibrationEmbeddings })), expected);
    assert.deepEqual(
      rows(
        quantizeEmbeddings(embeddings, "int8", {
          ranges: [
            [-1, -1, -1],
            [1, 1, 1],
          ],
        }),
      ),
      expected,
    );
  });

  it("packs signs into bits, most significant first (np.packbits), minus 128 for binary", () => {
    const x = [
      [1, -1, 0, 2, 0, 0, 0, 3],
      [0.1, 0.2, -0.3, 0, 0, 0, 0, -1],
    ];
    // bits 10010001 = 145 and 11000000 = 192 (numpy oracle)
    assert.deepEqual(rows(quantizeEmbeddings(x, "ubinary")), [[145], [192]]);
    assert.deepEqual(rows(quantizeEmbeddings(x, "binary")), [[17], [64]]);
    // 10 dimensions take 2 bytes, the last 6 bits zero: 1 at bit 9 -> 0b01000000
    assert.deepEqual(rows(quantizeEmbeddings([[0, 0, 0, 0, 0, 0, 0, 0, 0, 1]], "ubinary")), [[0, 64]]);
  });

  it("returns tensors of the quantized dtype for tensor input, leaking nothing", async () => {
    await assertNoLeak(() => {
      const input = torch.tensor(embeddings);
      const q = quantizeEmbeddings(input, "int8");
      assert.equal(q.dtype, "int8");
      assert.deepEqual(q.shape, [4, 3]);
      assert.deepEqual(values(q), [57, -128, 127, -128, 24, -16, 126, 127, -128, 17, -46, 8]);
      const b = quantizeEmbeddings(input, "ubinary");
      assert.equal(b.dtype, "uint8");
      assert.deepEqual(b.shape, [4, 1]);
      for (const t of [input, q, b]) t.dispose();
    });
  });

  it("rejects integer input and unknown precisions", () => {
    assert.throws(() => quantizeEmbeddings([Int8Array.from([1, 2])], "int8"), /must be float/);
    assert.throws(() => quantizeEmbeddings([[1]], "int4" as "int8"), /precision 'int4' is not supported/);
  });
});

describe("semanticSearch", () => {
  const queries = [
    [1, 0],
    [0, 1],
  ];
  const corpus = [
    [1, 0],
    [1, 1],
    [0, 1],
    [-1, 0],
  ];

  it("returns the top-k corpus rows of each query by cosine similarity, best first", async () => {
    await assertNoLeak(() => {
      const hits = semanticSearch(queries, corpus, { topK: 2 });
      // cos(q0, .) = [1, 0.7071, 0, -1]; cos(q1, .) = [0, 0.7071, 1, 0]
      assert.deepEqual(
        hits.map((h) => h.map((x) => x.corpusId)),
        [
          [0, 1],
          [2, 1],
        ],
      );
      assertClose(
        hits.flatMap((h) => h.map((x) => x.score)),
        [1, Math.SQRT1_2, 1, Math.SQRT1_2],
        1e-6,
      );
      // topK larger than the corpus: every row; equal scores by ascending corpus id
      const all = semanticSearch(queries, corpus, { topK: 10 });
      assert.deepEqual(
        all[1]!.map((x) => x.corpusId),
        [2, 1, 0, 3],
      );
    });
  });

  it("gives the same hits whatever the chunk sizes", async () => {
    torch.manualSeed(7);
    const q = torch.randn([13, 8]);
    const c = torch.randn([37, 8]);
    await assertNoLeak(() => {
      const whole = semanticSearch(q, c, { topK: 5 });
      const chunked = semanticSearch(q, c, { topK: 5, queryChunkSize: 4, corpusChunkSize: 6 });
      assert.deepEqual(
        chunked.map((h) => h.map((x) => x.corpusId)),
        whole.map((h) => h.map((x) => x.corpusId)),
      );
      assertClose(
        chunked.flatMap((h) => h.map((x) => x.score)),
        whole.flatMap((h) => h.map((x) => x.score)),
        1e-6,
      );
    });
    q.dispose();
    c.dispose();
  });

  it("uses the given score function", () => {
    // dot(q0, .) = [1, 1, 0, -1]: ties 0 and 1 by id
    const hits = semanticSearch([[1, 0]], corpus, { topK: 3, scoreFunction: dotScore });
    assert.deepEqual(hits[0], [
      { corpusId: 0, score: 1 },
      { corpusId: 1, score: 1 },
      { corpusId: 2, score: 0 },
    ]);
  });

  it("checks its arguments", () => {
    assert.throws(() => semanticSearch(queries, corpus, { topK: 0 }), /topK must be a positive integer, got 0/);
    assert.throws(() => semanticSearch([[1, 0]], [[1, 0, 0], [1]]), /corpusEmbeddings: row 1 has 1 values, expected 3/);
  });
});

describe("paraphraseMining", () => {
  // unit vectors: cos(0,1) = 0.8, cos(2,3) = 0.8, cos(1,2) = 0.6, cos(0,2) = cos(1,3) = 0, cos(0,3) = -0.6
  const embeddings = [
    [1, 0],
    [0.8, 0.6],
    [0, 1],
    [-0.6, 0.8],
  ];

  it("lists every distinct pair once, i < j, highest score first", () => {
    const pairs = paraphraseMiningEmbeddings(embeddings);
    assert.equal(pairs.length, 6);
    assertClose(
      pairs.map((p) => p[0]),
      [0.8, 0.8, 0.6, 0, 0, -0.6],
      1e-6,
    );
    assert.deepEqual(new Set(pairs.slice(0, 2).map((p) => `${p[1]},${p[2]}`)), new Set(["0,1", "2,3"]));
    assert.deepEqual(pairs[2]!.slice(1), [1, 2]);
    assert.deepEqual(new Set(pairs.slice(3, 5).map((p) => `${p[1]},${p[2]}`)), new Set(["0,2", "1,3"]));
    assert.deepEqual(pairs[5]!.slice(1), [0, 3]);
  });

  it("keeps topK candidates per sentence and at most maxPairs pairs", () => {
    // topK 1: each sentence's best other sentence: 0<->1 and 2<->3
    const best = paraphraseMiningEmbeddings(embeddings, { topK: 1 });
    assert.deepEqual(new Set(best.map((p) => `${p[1]},${p[2]}`)), new Set(["0,1", "2,3"]));
    const chunked = paraphraseMiningEmbeddings(embeddings, { queryChunkSize: 1, corpusChunkSize: 3 });
    assert.equal(chunked.length, 6);
    const capped = paraphraseMiningEmbeddings(embeddings, { maxPairs: 3 });
    assert.ok(capped.length <= 3, `${capped.length} pairs`);
    assertClose([capped[0]![0]], [0.8], 1e-6);
  });

  it("encodes the sentences with the model first", async () => {
    const model = await SentenceTransformer.load(tinyBertDir);
    const sentences = ["The cat sat on the mat.", "A cat sat on a mat.", "Hello, world"];
    await assertNoLeak(() => {
      const pairs = paraphraseMining(model, sentences);
      const embeddings = model.encode(sentences);
      const expected = paraphraseMiningEmbeddings(embeddings);
      assert.deepEqual(
        pairs.map((p) => p.slice(1)),
        expected.map((p) => p.slice(1)),
      );
      assertClose(
        pairs.map((p) => p[0]),
        expected.map((p) => p[0]),
        1e-6,
      );
    });
    model.dispose();
  });
});
