// The contract every loss follows (and custom losses may follow): a Module taking the model first.
import { nn, scope, type Tensor } from "@stts/torch";
import type { EmbeddingModel, Features } from "../features.js";

/** A loss value: one scalar, or named scalar components that the trainer sums and logs one by one. */
export type LossOutput = Tensor | Record<string, Tensor>;

/** A JSON-able value for getConfigDict(). */
export type ConfigValue = string | number | boolean | null | ConfigValue[] | { [key: string]: ConfigValue };

/**
 * Base class of every loss. Subclasses take the model as their first constructor argument,
 * implement `forward(sentenceFeatures, labels)`, and describe themselves with `getConfigDict()`
 * (the constructor's parameters, reference names in camelCase) and `citation` (BibTeX or null).
 *
 * @example
 * class MyLoss extends Loss {
 *   constructor(model: EmbeddingModel, readonly scale = 20) { super(model); }
 *   override forward(features: Features[], labels: Tensor | null): Tensor {
 *     const [a, b] = features.map((f) => this.embed(f));
 *     return a!.sub(b!).pow(2).mean().mul(this.scale);
 *   }
 *   override getConfigDict() { return { scale: this.scale }; }
 * }
 */
export abstract class Loss extends nn.Module {
  constructor(readonly model: EmbeddingModel) {
    super();
  }

  abstract override forward(sentenceFeatures: Features[], labels: Tensor | null): LossOutput;

  /** The constructor's parameters with their values, for the model card. */
  getConfigDict(): Record<string, ConfigValue> {
    return {};
  }

  /** BibTeX of the paper that introduced the loss, or null. */
  get citation(): string | null {
    return null;
  }

  /** The sentence embedding of one input column ([batch, dim]). */
  protected embed(features: Features): Tensor {
    const out = this.model.forward(features).sentenceEmbedding;
    if (out === undefined) {
      throw new Error(`${this.constructor.name}: the model returned no sentenceEmbedding`);
    }
    return out;
  }
}

/**
 * A loss computed from the sentence embeddings alone: `forward` embeds each input column with the
 * model and hands the embeddings to `computeLossFromEmbeddings`, which subclasses implement (and
 * which callers holding embeddings already can use directly).
 */
export abstract class SentenceEmbeddingLoss extends Loss {
  override forward(sentenceFeatures: Features[], labels: Tensor | null): Tensor {
    return scope(() =>
      this.computeLossFromEmbeddings(
        sentenceFeatures.map((f) => this.embed(f)),
        labels,
      ),
    );
  }

  /** The loss of one batch: `embeddings` holds one [batch, dim] tensor per input column. */
  abstract computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null): Tensor;
}
