// unpadInputs: the encoder on the real tokens only (TokenPacking) gives the padded forward's embeddings and
// gradients, zeros at padded positions, and the Transformer module's null/true/false settings.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as torch from "@stts/torch";
import { SentenceTransformer, Transformer } from "../src/index.js";
import { BertModel } from "../src/models/bert.js";
import { TokenPacking } from "../src/models/token-packing.js";
import { assertNoLeak, tempFolder, tinyBertDir, values } from "./models-util.js";

const texts = [
  "a man is playing a guitar on the street tonight",
  "the cat sleeps",
  "kids play",
  "a woman cooks dinner",
];
const others = ["someone plays music", "a cat is asleep on a warm sofa in the sun", "children", "dinner is made"];

/** max |a - b| over two equally long lists */
const maxDiff = (a: number[], b: number[]) => {
  assert.equal(a.length, b.length);
  return Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
};

/** The rows of a [batch, seq, hidden] tensor at positions where mask is 1 (real) or 0 (padding). */
function positions(hidden: torch.Tensor, mask: torch.Tensor, real: boolean): number[] {
  return torch.scope(() => values(hidden.index([mask.eq(real ? 1 : 0)])));
}

describe("TokenPacking", () => {
  it("packs the real tokens in row-major order and unpacks with zeros at padding", () =>
    assertNoLeak(() =>
      torch.scope(() => {
        const mask = torch.tensor(
          [
            [1, 1, 0],
            [1, 1, 1],
            [1, 0, 0],
          ],
          { dtype: "int64" },
        );
        const packing = TokenPacking.fromMask(mask);
        assert.deepEqual(packing.index.toArray(), [0, 1, 3, 4, 5, 6]);
        assert.equal(packing.tokens, 6);
        assert.equal(packing.isDense, false);
        const x = torch.arange(0, 18, 1).view([3, 3, 2]); // [batch, seq, 2]
        const packed = packing.pack(x);
        assert.deepEqual(packed.shape, [6, 2]);
        assert.deepEqual(values(packed), [0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13]);
        assert.deepEqual(values(packing.unpack(packed)), [0, 1, 2, 3, 0, 0, 6, 7, 8, 9, 10, 11, 12, 13, 0, 0, 0, 0]);
        assert.equal(TokenPacking.fromMask(torch.ones([2, 4], { dtype: "int64" })).isDense, true);
      }),
    ));
});

describe("BertModel with unpadInputs", () => {
  const load = () => SentenceTransformer.loadFolder(tinyBertDir);

  it("gives the padded forward's values at real positions (every layer, pooler) and zeros at padding", async () => {
    const model = load().eval();
    const encoder = (model.at(0) as Transformer).autoModel as BertModel;
    await assertNoLeak(() =>
      torch.scope(() => {
        const features = model.tokenize([...texts, ...others]);
        const inputs = {
          inputIds: features.inputIds as torch.Tensor,
          attentionMask: features.attentionMask as torch.Tensor,
          tokenTypeIds: features.tokenTypeIds as torch.Tensor,
        };
        const mask = inputs.attentionMask;
        assert.ok(mask.sum().item() < mask.numel * 0.7, "the batch must contain padding");
        const padded = encoder.forward(inputs, { outputHiddenStates: true });
        const packed = encoder.forward(inputs, { outputHiddenStates: true, unpadInputs: true });
        assert.equal(packed.hiddenStates!.length, 3);
        for (const [i, state] of packed.hiddenStates!.entries()) {
          assert.deepEqual(state.shape, padded.hiddenStates![i]!.shape);
          const diff = maxDiff(positions(state, mask, true), positions(padded.hiddenStates![i]!, mask, true));
          assert.ok(diff < 2e-5, `hidden state ${i}: max difference ${diff}`);
          assert.ok(
            positions(state, mask, false).every((v) => v === 0),
            `hidden state ${i}: padded positions are not 0`,
          );
        }
        // The padded forward's padded positions are computed (non-zero), so the check above can fail.
        assert.ok(positions(padded.lastHiddenState, mask, false).some((v) => v !== 0));
        assert.ok(maxDiff(values(packed.poolerOutput!), values(padded.poolerOutput!)) < 2e-5);
        const two = encoder.forward(inputs, { numLayers: 1, unpadInputs: true }).lastHiddenState;
        assert.ok(maxDiff(positions(two, mask, true), positions(padded.hiddenStates![1]!, mask, true)) < 2e-5);
      }),
    );
    model.dispose();
  });

  it("gives the padded forward's parameter gradients through mean pooling", () => {
    const grads = (unpad: boolean) => {
      const model = load().eval(); // no dropout: the two passes must agree
      (model.at(0) as Transformer).unpadInputs = unpad;
      torch.scope(() => {
        const embeddings = model.forward(model.tokenize(texts)).sentenceEmbedding as torch.Tensor;
        embeddings
          .mul(torch.linspace(-1, 1, embeddings.numel).view(embeddings.shape))
          .sum()
          .backward();
      });
      const out = torch.scope(() =>
        [...model.namedParameters()].map(([name, p]) => ({ name, grad: p.grad === null ? [] : values(p.grad) })),
      );
      model.dispose();
      return out;
    };
    const padded = grads(false);
    const packed = grads(true);
    let checked = 0;
    for (const [i, { name, grad }] of padded.entries()) {
      if (name.includes("pooler")) continue; // mean pooling does not use the pooler
      assert.ok(grad.length > 0 && grad.some((g) => g !== 0), `${name} has no gradient`);
      const diff = maxDiff(packed[i]!.grad, grad);
      const scale = Math.max(...grad.map(Math.abs));
      assert.ok(diff <= 1e-4 * scale + 1e-7, `${name}: max gradient difference ${diff} (scale ${scale})`);
      checked++;
    }
    assert.ok(checked > 20, `only ${checked} parameters checked`);
  });
});

describe("Transformer.unpadInputs", () => {
  /** Token embeddings at padded positions: all 0 when the encoder unpadded. */
  const paddedPositionsAreZero = (model: SentenceTransformer): boolean =>
    torch.noGrad(() =>
      torch.scope(() => {
        const features = model.forward(model.tokenize(texts));
        return positions(features.tokenEmbeddings as torch.Tensor, features.attentionMask as torch.Tensor, false).every(
          (v) => v === 0,
        );
      }),
    );

  it("null (default) unpads in eval mode only; true always; false never", () => {
    const model = SentenceTransformer.loadFolder(tinyBertDir);
    const transformer = model.at(0) as Transformer;
    assert.equal(transformer.unpadInputs, null);
    assert.equal(paddedPositionsAreZero(model.eval()), true);
    assert.equal(paddedPositionsAreZero(model.train()), false);
    transformer.unpadInputs = true;
    assert.equal(paddedPositionsAreZero(model.train()), true);
    transformer.unpadInputs = false;
    assert.equal(paddedPositionsAreZero(model.eval()), false);
    model.dispose();
  });

  it("encode gives the same embeddings padded and unpadded", () => {
    const model = SentenceTransformer.loadFolder(tinyBertDir);
    const transformer = model.at(0) as Transformer;
    const sentences = [...texts, ...others];
    const unpadded = model.encode(sentences, { batchSize: 8 }).flatMap((row) => Array.from(row));
    transformer.unpadInputs = false;
    const padded = model.encode(sentences, { batchSize: 8 }).flatMap((row) => Array.from(row));
    const diff = maxDiff(unpadded, padded);
    assert.ok(diff < 1e-5, `max difference ${diff}`);
    model.dispose();
  });

  it("is saved as unpad_inputs in sentence_bert_config.json only when set, and loaded back", () => {
    const { dir, cleanup } = tempFolder("stts-unpad-");
    try {
      const model = SentenceTransformer.loadFolder(tinyBertDir);
      const transformer = model.at(0) as Transformer;
      const config = () => JSON.parse(fs.readFileSync(path.join(dir, "sentence_bert_config.json"), "utf8")) as object;
      model.save(dir);
      assert.equal("unpad_inputs" in config(), false);
      transformer.unpadInputs = true;
      model.save(dir);
      assert.equal((config() as { unpad_inputs: boolean }).unpad_inputs, true);
      const loaded = SentenceTransformer.loadFolder(dir);
      assert.equal((loaded.at(0) as Transformer).unpadInputs, true);
      fs.writeFileSync(path.join(dir, "sentence_bert_config.json"), JSON.stringify({ ...config(), unpad_inputs: 3 }));
      assert.throws(() => SentenceTransformer.loadFolder(dir), /unpad_inputs/);
      loaded.dispose();
      model.dispose();
    } finally {
      cleanup();
    }
  });
});
