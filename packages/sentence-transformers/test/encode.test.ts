import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import * as torch from "@stts/torch";
import { createEncoder } from "../src/models/registry.js";
import { Tokenizer } from "../src/models/tokenizer.js";
import { Pooling } from "../src/modules/pooling.js";
import { Transformer } from "../src/modules/transformer.js";
import { SentenceTransformer } from "../src/sentence-transformer.js";
import { quantizeEmbeddings } from "../src/util/quantization.js";
import { assertClose, assertNoLeak, bertUncasedTokenizerDir, stsbSentences, values } from "./models-util.js";

/** A small random BERT (hidden 32, 2 layers) with the bert-base-uncased tokenizer and mean pooling. */
function randomBertModel(): SentenceTransformer {
  torch.manualSeed(42);
  const encoder = createEncoder({
    model_type: "bert",
    vocab_size: 30522,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 64,
    max_position_embeddings: 512,
  });
  const transformer = new Transformer(encoder, Tokenizer.fromFolder(bertUncasedTokenizerDir), { maxSeqLength: 128 });
  return new SentenceTransformer([transformer, new Pooling(32, { poolingMode: "mean" })]);
}

const norm = (row: ArrayLike<number>) => Math.sqrt(Array.from(row).reduce((s, v) => s + v * v, 0));

describe("SentenceTransformer.encode", () => {
  let model: SentenceTransformer;
  let sentences: string[];
  before(() => {
    model = randomBertModel();
    sentences = stsbSentences(1000);
  });
  after(() => model.dispose());

  it("returns, for 1,000 sentences of different lengths, the rows encoding them one by one gives, in input order", async () => {
    assert.equal(sentences.length, 1000);
    const lengths = new Set(sentences.map((s) => s.length));
    assert.ok(lengths.size > 50, `only ${lengths.size} distinct lengths`);
    await assertNoLeak(() => {
      const batched = model.encode(sentences, { batchSize: 32 });
      assert.equal(batched.length, 1000);
      // The rows differ from sentence to sentence, so a wrong order could not pass unnoticed.
      const spread = Math.max(...batched[0]!.map((v, d) => Math.abs(v - batched[1]![d]!)));
      assert.ok(spread > 1e-3, `rows 0 and 1 differ by only ${spread}`);
      sentences.forEach((sentence, i) => {
        const alone = model.encode([sentence], { batchSize: 1 })[0]!;
        assertClose(batched[i]!, alone, 1e-5, 0, `sentence ${i}`);
      });
    });
  });

  it("sorts batches by length but restores the order, whatever the batch size", () => {
    const sample = sentences.slice(0, 50);
    const a = model.encode(sample, { batchSize: 7 });
    const b = model.encode([...sample].reverse(), { batchSize: 50 }).reverse();
    a.forEach((row, i) => assertClose(row, b[i]!, 1e-5, 0, `row ${i}`));
  });

  it("returns one [n, dim] tensor owned by the caller with convertTo 'tensor'", async () => {
    const sample = sentences.slice(0, 20);
    const rows = model.encode(sample);
    await assertNoLeak(() => {
      const tensor = model.encode(sample, { convertTo: "tensor" });
      assert.deepEqual(tensor.shape, [20, 32]);
      assert.equal(tensor.dtype, "float32");
      assertClose(
        values(tensor),
        rows.flatMap((r) => Array.from(r)),
        1e-6,
      );
      tensor.dispose();
    });
  });

  it("gives one Float32Array for a single string", () => {
    const one = model.encode(sentences[0]!);
    assert.ok(one instanceof Float32Array);
    assertClose(one, model.encode([sentences[0]!])[0]!, 1e-6);
    const tensor = model.encode(sentences[0]!, { convertTo: "tensor" });
    assert.deepEqual(tensor.shape, [32]);
    tensor.dispose();
  });

  it("normalizes and truncates dimensions (truncate first, then normalize)", () => {
    const sample = sentences.slice(0, 10);
    const raw = model.encode(sample);
    const unit = model.encode(sample, { normalizeEmbeddings: true });
    unit.forEach((row) => assertClose([norm(row)], [1], 1e-5));
    const cut = model.encode(sample, { truncateDim: 8, normalizeEmbeddings: true });
    cut.forEach((row, i) => {
      assert.equal(row.length, 8);
      const head = raw[i]!.slice(0, 8);
      assertClose(
        row,
        Array.from(head, (v) => v / norm(head)),
        1e-5,
      );
    });
    model.truncateDim = 16;
    try {
      assert.equal(model.encode(sample)[0]!.length, 16);
      assert.equal(model.getSentenceEmbeddingDimension(), 16);
    } finally {
      model.truncateDim = null;
    }
  });

  it("quantizes with precision, as quantizeEmbeddings on the float rows", async () => {
    const sample = sentences.slice(0, 30);
    const floats = model.encode(sample);
    await assertNoLeak(() => {
      for (const precision of ["int8", "uint8", "binary", "ubinary"] as const) {
        const got = model.encode(sample, { precision }) as Int8Array[] | Uint8Array[];
        const expected = quantizeEmbeddings(floats, precision);
        assert.deepEqual(
          got.map((r) => Array.from(r)),
          expected.map((r) => Array.from(r)),
          precision,
        );
        const tensor = model.encode(sample, { precision, convertTo: "tensor" });
        assert.equal(tensor.dtype, precision === "int8" || precision === "binary" ? "int8" : "uint8");
        assert.deepEqual(tensor.shape, [30, precision.endsWith("binary") ? 4 : 32]);
        tensor.dispose();
      }
    });
  });

  it("returns each sentence's token embeddings without padding", async () => {
    const sample = ["hello world", "a much longer sentence with many more tokens in it"];
    await assertNoLeak(() => {
      const tokens = model.encode(sample, { outputValue: "token_embeddings" });
      // [CLS] hello world [SEP] = 4 tokens; [CLS] a much longer sentence with many more token ##s in it [SEP] = 13
      assert.deepEqual(
        tokens.map((t) => t.length),
        [4, 13],
      );
      assert.ok(tokens.every((t) => t.every((row) => row.length === 32)));
      const tensors = model.encode(sample, { outputValue: "token_embeddings", convertTo: "tensor" });
      assert.deepEqual(
        tensors.map((t) => t.shape),
        [
          [4, 32],
          [13, 32],
        ],
      );
      assertClose(
        values(tensors[0]!),
        tokens[0]!.flatMap((r) => Array.from(r)),
        1e-6,
      );
      for (const t of tensors) t.dispose();
    });
    // The mean of the token embeddings is the (mean-pooled) sentence embedding.
    const [t0] = model.encode(["hello world"], { outputValue: "token_embeddings" });
    const mean = Array.from({ length: 32 }, (_, d) => t0!.reduce((s, row) => s + row[d]!, 0) / t0!.length);
    assertClose(model.encode(["hello world"])[0]!, mean, 1e-5);
  });

  it("prepends prompts: prompt, promptName, defaultPromptName, encodeQuery / encodeDocument", () => {
    model.prompts = { query: "query: ", document: "passage: " };
    try {
      const text = ["how do cats sleep"];
      const expected = model.encode(["query: how do cats sleep"])[0]!;
      assertClose(model.encode(text, { prompt: "query: " })[0]!, expected, 1e-6);
      assertClose(model.encode(text, { promptName: "query" })[0]!, expected, 1e-6);
      assertClose(model.encodeQuery(text)[0]!, expected, 1e-6);
      const passage = model.encode(["passage: how do cats sleep"])[0]!;
      assertClose(model.encodeDocument(text)[0]!, passage, 1e-6);
      model.defaultPromptName = "document";
      assertClose(model.encode(text)[0]!, passage, 1e-6);
      assert.throws(
        () => model.encode(text, { promptName: "title" }),
        /prompt name 'title' not found in the configured prompts \(keys: query, document\)/,
      );
    } finally {
      model.defaultPromptName = null;
      model.prompts = { query: "", document: "" };
    }
  });

  it("tells Pooling the prompt's length so includePrompt false pools over the text tokens only", () => {
    const [transformer] = model.moduleList;
    const withoutPrompt = new SentenceTransformer([
      transformer!,
      new Pooling(32, { poolingMode: "mean", includePrompt: false }),
    ]);
    withoutPrompt.eval();
    // "query: " tokenizes to [CLS] query : [SEP]: prompt_length = 4 - 1 = 3 positions ([CLS] query :) are dropped.
    const [tokens] = model.encode(["query: hello world"], { outputValue: "token_embeddings" });
    const textTokens = tokens!.slice(3); // hello world [SEP]
    const mean = Array.from(
      { length: 32 },
      (_, d) => textTokens.reduce((s, row) => s + row[d]!, 0) / textTokens.length,
    );
    assertClose(withoutPrompt.encode(["hello world"], { prompt: "query: " })[0]!, mean, 1e-5);
  });

  it("draws a progress bar on a terminal's stderr, and nothing otherwise", () => {
    const writes: string[] = [];
    const write = process.stderr.write;
    const isTTY = process.stderr.isTTY;
    process.stderr.write = ((chunk: string) => writes.push(chunk) > 0) as typeof process.stderr.write;
    try {
      process.stderr.isTTY = false;
      model.encode(sentences.slice(0, 5), { batchSize: 3, showProgressBar: true });
      assert.deepEqual(writes, []);
      process.stderr.isTTY = true;
      model.encode(sentences.slice(0, 5), { batchSize: 3, showProgressBar: true });
      model.encode(sentences.slice(0, 5), { batchSize: 3 });
    } finally {
      process.stderr.write = write;
      process.stderr.isTTY = isTTY;
    }
    // 0/2, 1/2, 2/2 then a newline; the call without showProgressBar writes nothing
    assert.equal(writes.length, 4);
    assert.match(writes[0]!, /^\rBatches: {3}0%\| {30}\| 0\/2$/);
    assert.match(writes[2]!, /^\rBatches: 100%\|█{30}\| 2\/2$/);
    assert.equal(writes[3], "\n");
  });

  it("runs in eval mode without gradients and restores the training mode", () => {
    model.train();
    const tensor = model.encode(["hello"], { convertTo: "tensor" });
    assert.equal(model.training, true);
    assert.equal(tensor.requiresGrad, false);
    tensor.dispose();
    model.eval();
    // Dropout is off during encode: two calls in training mode agree.
    model.train();
    assertClose(model.encode(["hello world"])[0]!, model.encode(["hello world"])[0]!, 0);
    model.eval();
  });

  it("handles an empty list and checks its options", () => {
    assert.deepEqual(model.encode([]), []);
    const empty = model.encode([], { convertTo: "tensor" });
    assert.deepEqual(empty.shape, [0, 32]);
    empty.dispose();
    assert.throws(() => model.encode(["a"], { batchSize: 0 }), /batchSize must be a positive integer, got 0/);
    assert.throws(() => model.encode(["a"], { precision: "int4" as "int8" }), /precision 'int4' is not supported/);
    assert.throws(
      () => model.encode(["a"], { outputValue: "token_embeddings", precision: "int8" }),
      /applies to sentence embeddings only/,
    );
  });
});
