import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as torch from "@stts/torch";
import { Pooling, POOLING_MODES, type PoolingOptions } from "../src/modules/pooling.js";
import type { Features } from "../src/features.js";
import { assertClose, tempFolder, tidy, values } from "./bert-util.js";

// A batch of 2 sequences of 3 tokens, dim 2; the first row's last token is padding.
//   row 0: [1, 2], [3, -4], ([5, 6] padded)    mask [1, 1, 0]
//   row 1: [-1, 0], [2, 8], [4, -2]            mask [1, 1, 1]
function features(): Features {
  return {
    tokenEmbeddings: torch.tensor([
      [
        [1, 2],
        [3, -4],
        [5, 6],
      ],
      [
        [-1, 0],
        [2, 8],
        [4, -2],
      ],
    ]),
    attentionMask: torch
      .tensor([
        [1, 1, 0],
        [1, 1, 1],
      ])
      .long(),
  };
}

function pool(options: PoolingOptions, input: Features = features()): number[] {
  return values(new Pooling(2, options).forward(input).sentenceEmbedding!);
}

const SQRT2 = Math.SQRT2;
const SQRT3 = Math.sqrt(3);

describe("Pooling", () => {
  it("cls takes the first token", () => {
    tidy(() => assert.deepEqual(pool({ poolingMode: "cls" }), [1, 2, -1, 0]));
  });

  it("max ignores padded tokens", () => {
    // row 0: max([1, 2], [3, -4]) = [3, 2] (the padded [5, 6] is set to -1e9); row 1: [4, 8]
    tidy(() => assert.deepEqual(pool({ poolingMode: "max" }), [3, 2, 4, 8]));
  });

  it("mean divides the masked sum by the number of real tokens", () => {
    // row 0: ([1, 2] + [3, -4]) / 2 = [2, -1]; row 1: ([-1, 0] + [2, 8] + [4, -2]) / 3 = [5/3, 2]
    tidy(() => assertClose(pool({}), [2, -1, 5 / 3, 2], 1e-6));
  });

  it("mean_sqrt_len_tokens divides the masked sum by sqrt(the number of real tokens)", () => {
    // row 0: [4, -2] / sqrt 2; row 1: [5, 6] / sqrt 3
    tidy(() =>
      assertClose(pool({ poolingMode: "mean_sqrt_len_tokens" }), [4 / SQRT2, -2 / SQRT2, 5 / SQRT3, 6 / SQRT3], 1e-6),
    );
  });

  it("weightedmean weights token i (1-based) by i", () => {
    // row 0: (1·[1, 2] + 2·[3, -4]) / (1 + 2) = [7, -6] / 3; row 1: (1·[-1, 0] + 2·[2, 8] + 3·[4, -2]) / 6 = [15, 10] / 6
    tidy(() => assertClose(pool({ poolingMode: "weightedmean" }), [7 / 3, -2, 2.5, 10 / 6], 1e-6));
  });

  it("lasttoken takes the last real token", () => {
    // row 0: position 1 ([3, -4]); row 1: position 2 ([4, -2])
    tidy(() => assert.deepEqual(pool({ poolingMode: "lasttoken" }), [3, -4, 4, -2]));
  });

  it("concatenates several modes in the reference's order: cls, max, mean, mean_sqrt_len, weightedmean, lasttoken", () => {
    tidy(() => {
      const pooling = new Pooling(2, {
        poolingModeLasttoken: true,
        poolingModeMeanTokens: true,
        poolingModeMaxTokens: true,
        poolingModeClsToken: true,
      });
      assert.equal(pooling.getSentenceEmbeddingDimension(), 8);
      assert.equal(pooling.getPoolingModeStr(), "cls+mean+max+lasttoken");
      const out = pooling.forward(features()).sentenceEmbedding!;
      assert.deepEqual(out.shape, [2, 8]);
      // [cls | max | mean | lasttoken] per row
      assertClose(values(out), [1, 2, 3, 2, 2, -1, 3, -4, -1, 0, 4, 8, 5 / 3, 2, 4, -2], 1e-6);
    });
  });

  it("handles a row that is all padding like the reference (mean 0, max -1e9, lasttoken 0)", () => {
    tidy(() => {
      const input = {
        ...features(),
        attentionMask: torch
          .tensor([
            [0, 0, 0],
            [1, 1, 1],
          ])
          .long(),
      };
      assertClose(pool({ poolingMode: "mean" }, input).slice(0, 2), [0, 0]);
      assert.deepEqual(pool({ poolingMode: "max" }, input).slice(0, 2), [-1e9, -1e9].map(Math.fround));
      assert.deepEqual(pool({ poolingMode: "lasttoken" }, input).slice(0, 2), [0, 0]);
    });
  });

  it("uses all ones without an attention mask or with one of another length", () => {
    tidy(() => {
      const { tokenEmbeddings } = features();
      // row 0 with all three tokens: ([1, 2] + [3, -4] + [5, 6]) / 3 = [3, 4/3]
      const expected = [3, 4 / 3, 5 / 3, 2];
      assertClose(pool({}, { tokenEmbeddings }), expected, 1e-6);
      assertClose(pool({}, { tokenEmbeddings, attentionMask: torch.ones([2, 5]).long() }), expected, 1e-6);
    });
  });

  it("with includePrompt false, drops the first promptLength tokens (as the reference's prompt_length)", () => {
    tidy(() => {
      const input = { ...features(), promptLength: torch.tensor([1]).long() };
      // row 0: mask [0, 1, 0] -> [3, -4]; row 1: mask [0, 1, 1] -> ([2, 8] + [4, -2]) / 2 = [3, 3]
      assertClose(pool({ includePrompt: false }, input), [3, -4, 3, 3], 1e-6);
      // includePrompt true (the default) ignores promptLength
      assertClose(pool({}, input), [2, -1, 5 / 3, 2], 1e-6);
      // the caller's mask is left untouched
      assert.deepEqual(values(input.attentionMask!), [1, 1, 0, 1, 1, 1]);
    });
  });

  it("uses tokenWeightsSum and clsTokenEmbeddings when a module provides them", () => {
    tidy(() => {
      const weighted = { ...features(), tokenWeightsSum: torch.tensor([4, 2]) };
      // masked sums [4, -2] and [5, 6] divided by 4 and 2
      assertClose(pool({}, weighted), [1, -0.5, 2.5, 3], 1e-6);
      const withCls = {
        ...features(),
        clsTokenEmbeddings: torch.tensor([
          [7, 7],
          [8, 8],
        ]),
      };
      assert.deepEqual(pool({ poolingMode: "cls" }, withCls), [7, 7, 8, 8]);
    });
  });

  it("sends no gradient to padded tokens", () => {
    tidy(() => {
      const input = features();
      const tokens = input.tokenEmbeddings!.requiresGrad_();
      for (const mode of ["mean", "max", "weightedmean", "lasttoken"] as const) {
        new Pooling(2, { poolingMode: mode }).forward(input).sentenceEmbedding!.sum().backward();
      }
      const grad = values(tokens.grad!);
      assert.deepEqual(grad.slice(4, 6), [0, 0], "row 0's padded token");
      // mean: 1/2 per real token of row 0; max: [3, 2] comes from tokens 1 (dim 0) and 0 (dim 1);
      // weightedmean: 1/3 and 2/3; lasttoken: token 1. Token 0: [1/2 + 1/3, 1/2 + 1 + 1/3]
      assertClose(grad.slice(0, 4), [1 / 2 + 1 / 3, 1 / 2 + 1 + 1 / 3, 1 / 2 + 1 + 2 / 3 + 1, 1 / 2 + 2 / 3 + 1], 1e-6);
    });
  });

  it("adds sentenceEmbedding to the features and keeps the others", () => {
    tidy(() => {
      const input = features();
      const out = new Pooling(2).forward(input);
      assert.equal(out.tokenEmbeddings, input.tokenEmbeddings);
      assert.equal(out.attentionMask, input.attentionMask);
      assert.equal(input.sentenceEmbedding, undefined);
      assert.deepEqual(out.sentenceEmbedding!.shape, [2, 2]);
    });
  });

  it("rejects unknown modes, listing the valid ones, and a Pooling with no mode", () => {
    assert.throws(
      () => new Pooling(2, { poolingMode: "median" as never }),
      /invalid pooling mode "median"; valid pooling modes are: cls, lasttoken, max, mean, mean_sqrt_len_tokens, weightedmean/,
    );
    assert.throws(() => new Pooling(2, { poolingModeMeanTokens: false }), /no pooling mode is enabled/);
    assert.throws(() => new Pooling(0), /wordEmbeddingDimension must be a positive integer/);
    assert.deepEqual([...POOLING_MODES], ["cls", "lasttoken", "max", "mean", "mean_sqrt_len_tokens", "weightedmean"]);
  });
});

describe("Pooling config", () => {
  // What sentence-transformers v5.1.2 writes to 1_Pooling/config.json for Pooling(32, "mean").
  const REFERENCE = {
    word_embedding_dimension: 32,
    pooling_mode_cls_token: false,
    pooling_mode_mean_tokens: true,
    pooling_mode_max_tokens: false,
    pooling_mode_mean_sqrt_len_tokens: false,
    pooling_mode_weightedmean_tokens: false,
    pooling_mode_lasttoken: false,
    include_prompt: true,
  };

  it("reads the legacy pooling_mode_* flags and writes the same keys in the reference's order", () => {
    const pooling = Pooling.fromConfig(REFERENCE, "1_Pooling/config.json");
    assert.deepEqual(pooling.modes(), ["mean"]);
    assert.equal(pooling.getSentenceEmbeddingDimension(), 32);
    assert.deepEqual(Object.keys(pooling.toConfig()), Object.keys(REFERENCE));
    assert.deepEqual(pooling.toConfig(), REFERENCE);
    const combined = Pooling.fromConfig({ ...REFERENCE, pooling_mode_cls_token: true, include_prompt: false });
    assert.deepEqual(combined.modes(), ["cls", "mean"]);
    assert.equal(combined.includePrompt, false);
    assert.equal(combined.getSentenceEmbeddingDimension(), 64);
  });

  it("reads the pooling_mode string form, which overrides the flags (case-insensitive)", () => {
    assert.deepEqual(Pooling.fromConfig({ word_embedding_dimension: 4, pooling_mode: "CLS" }).modes(), ["cls"]);
    const overridden = Pooling.fromConfig({
      word_embedding_dimension: 4,
      pooling_mode: "max",
      pooling_mode_mean_tokens: true,
    });
    assert.deepEqual(overridden.modes(), ["max"]);
    assert.deepEqual(overridden.toConfig(), {
      ...REFERENCE,
      word_embedding_dimension: 4,
      pooling_mode_mean_tokens: false,
      pooling_mode_max_tokens: true,
    });
  });

  it("names the key, the file and the valid values in its errors", () => {
    assert.throws(
      () => Pooling.fromConfig({ word_embedding_dimension: 4, pooling_mode: "sum" }, "m/1_Pooling/config.json"),
      /m\/1_Pooling\/config\.json.*'pooling_mode'.*"sum".*valid pooling modes are: cls, lasttoken, max/,
    );
    assert.throws(
      () => Pooling.fromConfig({ ...REFERENCE, pooling_mode_max: true }),
      /unknown key\(s\) pooling_mode_max; valid keys/,
    );
    assert.throws(
      () => Pooling.fromConfig({ ...REFERENCE, include_prompt: "no" }),
      /'include_prompt' must be true or false/,
    );
    assert.throws(
      () => Pooling.fromConfig({ pooling_mode: "mean" }),
      /'word_embedding_dimension' must be a positive integer/,
    );
  });

  it("saves and loads 1_Pooling/config.json as the reference writes it (json.dump indent=4, no final newline)", () => {
    const folder = tempFolder("pooling");
    new Pooling(32).save(folder);
    const text = fs.readFileSync(path.join(folder, "config.json"), "utf8");
    assert.equal(text, JSON.stringify(REFERENCE, null, 4));
    assert.deepEqual(Pooling.load(folder).toConfig(), REFERENCE);
  });
});
