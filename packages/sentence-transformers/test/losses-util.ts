// Test helpers for the losses: leak checks, closeness, finite differences and a tiny real model.
import assert from "node:assert/strict";
import * as torch from "@stts/torch";
import { nn, type Tensor } from "@stts/torch";
import type { EmbeddingModel, Features } from "../src/features.js";

import { assertClose as assertCloseBase, values } from "./models-util.js";

export { handleCount, tidy, values } from "./models-util.js";

/** Asserts |actual - expected| <= atol + rtol * |expected| elementwise, with the losses' float64 tolerances. */
export function assertClose(actual: number | number[], expected: number | number[], atol = 1e-12, rtol = 1e-10): void {
  assertCloseBase(actual, expected, atol, rtol);
}

/** A float64 tensor from nested numbers. */
export function f64(data: torch.NestedArray<number>): Tensor {
  return torch.tensor(data, { dtype: "float64" });
}

/** An int64 tensor from nested numbers. */
export function i64(data: torch.NestedArray<number>): Tensor {
  return torch.tensor(data, { dtype: "int64" });
}

/**
 * Checks the autograd gradient of `fn` (a scalar loss of float64 inputs) against central finite
 * differences, element by element.
 */
export function checkGradients(fn: (inputs: Tensor[]) => Tensor, inputs: Tensor[], eps = 1e-6, tolerance = 1e-6): void {
  torch.scope(() => {
    const leaves = inputs.map((x) => x.detach().double().requiresGrad_(true));
    fn(leaves).backward();
    leaves.forEach((leaf, k) => {
      const base = values(leaf);
      const grad = leaf.grad;
      const analytic = grad === null ? base.map(() => 0) : values(grad);
      base.forEach((_, i) => {
        const at = (delta: number): number =>
          torch.noGrad(() =>
            torch.scope(() => {
              const shifted = base.slice();
              shifted[i] = shifted[i]! + delta;
              const moved = leaves.map((x, j) => (j === k ? f64(shifted).reshape(x.shape) : x));
              return fn(moved).item();
            }),
          );
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        assert.ok(
          Math.abs(analytic[i]! - numeric) <= tolerance * Math.max(1, Math.abs(numeric)),
          `gradient of input ${k}[${i}]: autograd ${analytic[i]} vs finite differences ${numeric}`,
        );
      });
    });
  });
}

/**
 * A tiny real embedding model: a token embedding table, mean-pooled over the attention mask.
 * `features(rows)` tokenizes rows of token ids (0 = padding) into inputIds/attentionMask.
 */
export class TinyModel extends nn.Module implements EmbeddingModel {
  readonly embeddings: nn.Embedding;

  constructor(
    vocab = 12,
    readonly dim = 4,
    seed = 7,
  ) {
    super();
    torch.manualSeed(seed);
    this.embeddings = this.registerModule("embeddings", new nn.Embedding(vocab, dim, { dtype: "float64" }));
  }

  override forward(features: Features): Features {
    const ids = features.inputIds;
    const mask = features.attentionMask;
    if (ids === undefined || mask === undefined) throw new Error("TinyModel: needs inputIds and attentionMask");
    const sentenceEmbedding = torch.scope(() => {
      const tokens = this.embeddings.forward(ids); // [batch, seq, dim]
      const weights = mask.unsqueeze(-1).to(tokens.dtype); // [batch, seq, 1]
      return tokens.mul(weights).sum(1).div(weights.sum(1).clampMin(1e-9)); // [batch, dim]
    });
    return { ...features, sentenceEmbedding };
  }

  getSentenceEmbeddingDimension(): number {
    return this.dim;
  }

  /** An independent copy with the same weights. */
  clone(): TinyModel {
    const copy = new TinyModel(this.embeddings.numEmbeddings, this.dim);
    torch.noGrad(() => torch.scope(() => void copy.embeddings.weight.copy_(this.embeddings.weight)));
    return copy;
  }

  /** Features for rows of token ids; 0 is padding. */
  static features(rows: number[][]): Features {
    const width = Math.max(...rows.map((r) => r.length));
    const padded = rows.map((r) => [...r, ...new Array<number>(width - r.length).fill(0)]);
    return { inputIds: i64(padded), attentionMask: i64(padded.map((r) => r.map((id) => (id === 0 ? 0 : 1)))) };
  }
}
