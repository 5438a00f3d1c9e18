// The feature records that flow through a SentenceTransformer's module stack and into losses.
import type { Tensor } from "@stts/torch";

/**
 * What a tokenizer produces and each module of the stack adds to, like sentence-transformers'
 * `features` dict (camelCase keys): `inputIds`, `attentionMask`, `tokenTypeIds` from the
 * tokenizer; `tokenEmbeddings` (and `allLayerEmbeddings`) from the Transformer module;
 * `sentenceEmbedding` from Pooling, then Dense/Normalize.
 */
export interface Features {
  /** [batch, seq] int64 */
  inputIds?: Tensor;
  /** [batch, seq] int64, 1 for real tokens, 0 for padding */
  attentionMask?: Tensor;
  /** [batch, seq] int64 */
  tokenTypeIds?: Tensor;
  /** [batch, seq, hidden] */
  tokenEmbeddings?: Tensor;
  /** [batch, dim] */
  sentenceEmbedding?: Tensor;
  /** hidden states of every layer (index 0 = embeddings output), each [batch, seq, hidden] */
  allLayerEmbeddings?: Tensor[];
  /** Any other tensor a custom module adds. */
  [key: string]: Tensor | Tensor[] | undefined;
}

/**
 * What losses need from a model: turn tokenized features into features holding a
 * `sentenceEmbedding`. `SentenceTransformer` implements it; so can any custom model.
 */
export interface EmbeddingModel {
  forward(features: Features): Features;
  /** The output dimension, or null when unknown. */
  getSentenceEmbeddingDimension(): number | null;
  /** Whether dropout and friends are on. */
  readonly training: boolean;
}

/** Reads a required tensor from features, with an error naming who needed it. */
export function requireFeature(features: Features, key: string, who: string): Tensor {
  const value = features[key];
  if (value === undefined || Array.isArray(value)) {
    throw new Error(
      `${who}: features have no '${key}' tensor (keys present: ${Object.keys(features).join(", ") || "none"})`,
    );
  }
  return value;
}
