// Test helpers for the cached losses and loss modifiers: small real trainable models built from the
// engine's nn modules, token-id features, and a synchronous tensor-leak check (closeness and handle
// counting come from models-util).
import assert from "node:assert/strict";
import * as torch from "@stts/torch";
import { nn, type DType, type Tensor } from "@stts/torch";
import type { EmbeddingModel, Features } from "../src/features.js";
import { assertClose, handleCount, values } from "./models-util.js";

export { assertClose, handleCount, values };

/** Options of the tiny models. */
export interface TinyModelOptions {
  vocabSize?: number;
  hidden?: number;
  out?: number;
  /** Dropout probability after the token embeddings (default 0.1). */
  dropout?: number;
  dtype?: DType;
  /** Whether getSentenceEmbeddingDimension() reports `out` (default true) or null (unknown). */
  reportDimension?: boolean;
}

/** Mean of the token vectors where attentionMask is 1: [batch, seq, hidden] -> [batch, hidden]. */
function maskedMean(tokens: Tensor, attentionMask: Tensor): Tensor {
  return torch.scope(() => {
    const mask = attentionMask.unsqueeze(-1).to(tokens.dtype); // [batch, seq, 1]
    return tokens.mul(mask).sum(1).div(mask.sum(1).clampMin(1));
  });
}

/**
 * token ids -> nn.Embedding -> nn.Dropout -> masked mean pooling -> nn.Linear: a real trainable
 * EmbeddingModel, small enough for exact gradient comparisons.
 */
export class TinyEmbeddingModel extends nn.Module implements EmbeddingModel {
  readonly options: Required<TinyModelOptions>;
  readonly embedding: nn.Embedding;
  readonly dropout: nn.Dropout;
  readonly dense: nn.Linear;

  constructor(options: TinyModelOptions = {}) {
    super();
    this.options = {
      vocabSize: 20,
      hidden: 8,
      out: 6,
      dropout: 0.1,
      dtype: "float64",
      reportDimension: true,
      ...options,
    };
    const { vocabSize, hidden, out, dtype } = this.options;
    this.embedding = this.registerModule("embedding", new nn.Embedding(vocabSize, hidden, { paddingIdx: 0, dtype }));
    this.dropout = this.registerModule("dropout", new nn.Dropout(this.options.dropout));
    this.dense = this.registerModule("dense", new nn.Linear(hidden, out, { dtype }));
  }

  override forward(features: Features): Features {
    const { inputIds, attentionMask } = features;
    if (inputIds === undefined || attentionMask === undefined)
      throw new Error("TinyEmbeddingModel: needs inputIds and attentionMask");
    return torch.scope(() => {
      const tokenEmbeddings = this.dropout.forward(this.embedding.forward(inputIds)); // [batch, seq, hidden]
      const sentenceEmbedding = this.dense.forward(maskedMean(tokenEmbeddings, attentionMask)); // [batch, out]
      return { ...features, tokenEmbeddings, sentenceEmbedding };
    });
  }

  getSentenceEmbeddingDimension(): number | null {
    return this.options.reportDimension ? this.options.out : null;
  }

  /** An independent copy with the same parameter values. */
  clone(): TinyEmbeddingModel {
    const copy = new TinyEmbeddingModel(this.options);
    torch.scope(() => void copy.loadStateDict(this.stateDict()));
    copy.train(this.training);
    return copy;
  }
}

/**
 * token ids -> nn.Embedding -> `layers` x (nn.Linear + tanh, residual) -> masked mean pooling: an
 * EmbeddingModel exposing every layer (LayerwiseEmbeddingModel) for AdaptiveLayerLoss.
 */
export class TinyLayeredModel extends nn.Module implements EmbeddingModel {
  outputHiddenStates = false;
  readonly embedding: nn.Embedding;
  readonly layers: nn.ModuleList<nn.Linear>;
  readonly hidden: number;

  constructor(options: { vocabSize?: number; hidden?: number; layers?: number; dtype?: DType } = {}) {
    super();
    const { vocabSize = 20, hidden = 6, layers = 3, dtype = "float64" } = options;
    this.hidden = hidden;
    this.embedding = this.registerModule("embedding", new nn.Embedding(vocabSize, hidden, { paddingIdx: 0, dtype }));
    this.layers = this.registerModule(
      "layers",
      new nn.ModuleList(Array.from({ length: layers }, () => new nn.Linear(hidden, hidden, { dtype }))),
    );
  }

  /** The hidden states: [embedding output, layer 1, ..., layer L], each [batch, seq, hidden]. */
  hiddenStates(inputIds: Tensor): Tensor[] {
    return torch.scope(() => {
      const states = [this.embedding.forward(inputIds)];
      for (const layer of this.layers) {
        const h = states[states.length - 1]!;
        states.push(h.add(layer.forward(h).tanh()));
      }
      return states;
    });
  }

  override forward(features: Features): Features {
    return torch.scope(() => {
      const states = this.hiddenStates(features.inputIds!);
      const out = this.forwardFromTokenEmbeddings({ ...features, tokenEmbeddings: states[states.length - 1]! });
      return this.outputHiddenStates ? { ...out, allLayerEmbeddings: states } : out;
    });
  }

  /** Pooling: the modules after the "transformer". */
  forwardFromTokenEmbeddings(features: Features): Features {
    return { ...features, sentenceEmbedding: maskedMean(features.tokenEmbeddings!, features.attentionMask!) };
  }

  getSentenceEmbeddingDimension(): number {
    return this.hidden;
  }
}

/** Features of random token ids [batch, seq] (0 = padding at the end of some rows) with their mask. */
export function randomFeatures(batch: number, seq = 5, vocabSize = 20): Features {
  return torch.scope(() => {
    const inputIds = torch.randint(1, vocabSize, [batch, seq]);
    const lengths = torch.randint(1, seq + 1, [batch, 1]); // at least one real token per row
    const attentionMask = torch.arange(0, seq, 1, { dtype: "int64" }).unsqueeze(0).lt(lengths).long(); // [batch, seq]
    return { inputIds: inputIds.mul(attentionMask), attentionMask };
  });
}

/** Frees every tensor of a features record. */
export function disposeFeatures(...all: Features[]): void {
  for (const features of all) {
    for (const value of Object.values(features)) {
      if (Array.isArray(value)) value.forEach((t) => t.dispose());
      else value?.dispose();
    }
  }
}

/** The gradients of a module's parameters as flat arrays (zeros where none), by name. */
export function parameterGrads(module: nn.Module): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [name, parameter] of module.namedParameters()) {
    const grad = parameter.grad;
    out.set(name, grad === null ? new Array<number>(parameter.numel).fill(0) : values(grad));
    grad?.dispose();
  }
  return out;
}

/** Runs `fn` and asserts that every tensor handle it created was freed. */
export function assertNoLeak(fn: () => void, what = "tensors leaked"): void {
  const before = handleCount();
  fn();
  assert.equal(handleCount(), before, what);
}
