import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { Tokenizer } from "../src/models/tokenizer.js";
import { readJsonObject } from "../src/models/tokenizer.js";
import { bertParityDir, bertUncasedTokenizerDir, loadCases, values, assertNoLeak } from "./models-util.js";

const tinyTokenizer = () => Tokenizer.fromFolder(path.join(bertParityDir, "tokenizer"));

describe("Tokenizer", () => {
  it("tokenizes the parity fixture texts to the real BertTokenizer's ids, masks and type ids", async () => {
    const tokenizer = tinyTokenizer();
    // tokenizer_call of cases.json: padding=True, truncation=True, max_length=16
    const cases = loadCases("bert-tiny-h32-l2").filter((c) => c.texts !== undefined || c.text_pairs !== undefined);
    assert.deepEqual(
      cases.map((c) => c.name),
      ["texts_single", "texts_pair", "no_token_type_ids"],
    );
    await assertNoLeak(() => {
      for (const c of cases) {
        const inputs = c.texts ?? c.text_pairs!;
        const features = tokenizer.encodeBatch(inputs, { maxLength: 16 });
        assert.deepEqual(features.inputIds!.shape, c.inputs.input_ids.shape, c.name);
        assert.deepEqual(values(features.inputIds!), c.inputs.input_ids.data, `${c.name} input ids`);
        assert.deepEqual(values(features.attentionMask!), c.inputs.attention_mask.data, `${c.name} attention mask`);
        if (c.inputs.token_type_ids !== null) {
          assert.deepEqual(values(features.tokenTypeIds!), c.inputs.token_type_ids.data, `${c.name} token type ids`);
        } else {
          assert.ok(
            values(features.tokenTypeIds!).every((v) => v === 0),
            `${c.name}: single texts have type 0`,
          );
        }
        assert.equal(features.inputIds!.dtype, "int64");
        for (const t of Object.values(features)) (t as { dispose(): void }).dispose();
      }
    });
  });

  it("truncates the over-long fixture text to 16 tokens keeping [SEP] last", () => {
    const tokenizer = tinyTokenizer();
    const text = "A quick brown fox jumps over the lazy dog near the old river bank today!";
    // tokens of cases.json: [CLS] a quick brown fox j ##um ##p ##s over the la ##z ##y dog [SEP]
    const encoding = tokenizer.encodeIds(text, { maxLength: 16 });
    assert.deepEqual(encoding.tokens, [
      "[CLS]",
      "a",
      "quick",
      "brown",
      "fox",
      "j",
      "##um",
      "##p",
      "##s",
      "over",
      "the",
      "la",
      "##z",
      "##y",
      "dog",
      "[SEP]",
    ]);
  });

  it("encodes with the full bert-base-uncased tokenizer", () => {
    const tokenizer = Tokenizer.fromFolder(bertUncasedTokenizerDir);
    // SOURCE.md of the tokenizer: "Hello, world!" -> [101, 7592, 1010, 2088, 999, 102]
    assert.deepEqual(tokenizer.encodeIds("Hello, world!").ids, [101, 7592, 1010, 2088, 999, 102]);
    assert.equal(tokenizer.vocabSize, 30522);
    assert.equal(tokenizer.modelMaxLength, 512);
    assert.equal(tokenizer.padTokenId, 0);
    assert.equal(tokenizer.numSpecialTokensToAdd(false), 2);
    assert.equal(tokenizer.numSpecialTokensToAdd(true), 3);
    assert.equal(tokenizer.decode([101, 7592, 1010, 2088, 999, 102]), "hello, world!");
  });

  it("truncates pairs longest_first like Hugging Face tokenizers", () => {
    const tokenizer = Tokenizer.fromFolder(bertUncasedTokenizerDir);
    const words = (s: string) => tokenizer.encodeIds(s, { maxLength: null, addSpecialTokens: false }).tokens;
    // maxLength 8 leaves 5 content tokens. 8 + 2 tokens: the short side keeps 2, the long side 5 - 2 = 3.
    const a = tokenizer.encodeIds(["a b c d e f g h", "x y"], { maxLength: 8 });
    assert.deepEqual(a.tokens, ["[CLS]", "a", "b", "c", "[SEP]", "x", "y", "[SEP]"]);
    assert.deepEqual(a.typeIds, [0, 0, 0, 0, 0, 1, 1, 1]);
    // 6 + 6 tokens: both cut, floor(5 / 2) = 2 for the first, 2 + 5 % 2 = 3 for the second.
    const b = tokenizer.encodeIds(["a b c d e f", "u v w x y z"], { maxLength: 8 });
    assert.deepEqual(b.tokens, ["[CLS]", "a", "b", "[SEP]", "u", "v", "w", "[SEP]"]);
    // 2 + 9 tokens with the long text first: 3 for it, 2 for the short one.
    const c = tokenizer.encodeIds(["a b c d e f g h i", "x y"], { maxLength: 8 });
    assert.deepEqual(c.tokens, ["[CLS]", "a", "b", "c", "[SEP]", "x", "y", "[SEP]"]);
    // Nothing to cut: unchanged.
    assert.deepEqual(words("x y"), ["x", "y"]);
    assert.equal(tokenizer.encodeIds(["x y", "z"], { maxLength: 8 }).tokens.length, 6);
  });

  it("pads to the longest row of the batch with the pad id and mask 0", () => {
    const tokenizer = Tokenizer.fromFolder(bertUncasedTokenizerDir);
    const features = tokenizer.encodeBatch(["hello", "hello world again"]);
    // [CLS] hello [SEP] + 2 pads; [CLS] hello world again [SEP]
    assert.deepEqual(features.inputIds!.shape, [2, 5]);
    assert.deepEqual(values(features.inputIds!), [101, 7592, 102, 0, 0, 101, 7592, 2088, 2153, 102]);
    assert.deepEqual(values(features.attentionMask!), [1, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
    for (const t of Object.values(features)) (t as { dispose(): void }).dispose();
  });

  it("pads on the left when tokenizer_config says padding_side left", () => {
    const json = readJsonObject(path.join(bertUncasedTokenizerDir, "tokenizer.json"));
    const config = {
      ...readJsonObject(path.join(bertUncasedTokenizerDir, "tokenizer_config.json")),
      padding_side: "left",
    };
    const features = new Tokenizer(json, config).encodeBatch(["hello", "hello world"]);
    assert.deepEqual(values(features.inputIds!), [0, 101, 7592, 102, 101, 7592, 2088, 102]);
    assert.deepEqual(values(features.attentionMask!), [0, 1, 1, 1, 1, 1, 1, 1]);
    for (const t of Object.values(features)) (t as { dispose(): void }).dispose();
  });

  it("lets tokenizer_config's do_lower_case override the BertNormalizer, as BertTokenizerFast does", () => {
    const json = readJsonObject(path.join(bertUncasedTokenizerDir, "tokenizer.json"));
    const config = readJsonObject(path.join(bertUncasedTokenizerDir, "tokenizer_config.json"));
    // The uncased vocabulary has no "Hello": with lowercasing off it becomes [UNK] (id 100).
    assert.deepEqual(new Tokenizer(json, { ...config, do_lower_case: false }).encodeIds("Hello").ids, [101, 100, 102]);
    assert.deepEqual(new Tokenizer(json, config).encodeIds("Hello").ids, [101, 7592, 102]);
  });

  it("omits tokenTypeIds for tokenizers whose models take none", () => {
    const json = readJsonObject(path.join(bertUncasedTokenizerDir, "tokenizer.json"));
    const tokenizer = new Tokenizer(json, { model_input_names: ["input_ids", "attention_mask"], pad_token: "[PAD]" });
    const features = tokenizer.encodeBatch(["hello"]);
    assert.deepEqual(Object.keys(features), ["inputIds", "attentionMask"]);
    for (const t of Object.values(features)) (t as { dispose(): void }).dispose();
  });

  it("names the missing tokenizer.json", () => {
    assert.throws(
      () => Tokenizer.fromFolder("/nonexistent/folder"),
      /\/nonexistent\/folder\/tokenizer\.json does not exist/,
    );
  });
});
