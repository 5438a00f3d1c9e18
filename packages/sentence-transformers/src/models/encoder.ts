// The contract every transformer encoder (BERT, and architectures added later) follows, so that the
// Transformer module, AdaptiveLayerLoss and the registry can treat them alike.
import type { nn, Tensor } from "@stts/torch";

/** What a tokenizer hands to an encoder. */
export interface EncoderInputs {
  /** [batch, seq] int64 token ids */
  inputIds: Tensor;
  /** [batch, seq] 1 for real tokens, 0 for padding (default: all ones) */
  attentionMask?: Tensor;
  /** [batch, seq] int64 segment ids (default: all zeros) */
  tokenTypeIds?: Tensor;
}

/** Options of `EncoderModel.forward`. */
export interface EncoderForwardOptions {
  /** Also return the output of the embeddings and of every layer (default false). */
  outputHiddenStates?: boolean;
  /** Also return every layer's attention probabilities (default false). */
  outputAttentions?: boolean;
  /** Run only the first k layers, 0 <= k <= numLayers (default all; 0 = embeddings only); used by AdaptiveLayerLoss. */
  numLayers?: number;
  /**
   * Run position-wise layers on the real tokens only, skipping padding (default false). Sentence embeddings and
   * gradients are unchanged up to float rounding; padded positions of the outputs are 0 instead of computed, and
   * in training dropout draws its masks over fewer elements. Encoders that cannot unpad ignore it.
   */
  unpadInputs?: boolean;
}

/** What an encoder returns. */
export interface EncoderOutput {
  /** [batch, seq, hidden]: the output of the last layer that ran */
  lastHiddenState: Tensor;
  /** k + 1 entries of [batch, seq, hidden] when asked for: index 0 = embeddings output, i = output of layer i */
  hiddenStates?: Tensor[];
  /** k entries of [batch, heads, seq, seq] softmax probabilities when asked for */
  attentions?: Tensor[];
  /** [batch, hidden] from the model's pooler, or null when it has none */
  poolerOutput?: Tensor | null;
}

/**
 * A transformer encoder loaded from (or savable to) a Hugging Face model folder. Implementations are
 * nn.Modules whose parameter names are the checkpoint's keys; `configJson` is what config.json holds.
 *
 * @example
 * const model: EncoderModel = loadEncoder("models/bert-tiny");
 * const { lastHiddenState } = model.forward({ inputIds, attentionMask }); // [batch, seq, hidden]
 */
export interface EncoderModel extends nn.Module {
  /** config.json's `model_type` ("bert"). */
  readonly modelType: string;
  readonly hiddenSize: number;
  readonly numLayers: number;
  /** The config as config.json should hold it (every field the architecture reads, plus unknown ones kept). */
  readonly configJson: Record<string, unknown>;
  forward(inputs: EncoderInputs, options?: EncoderForwardOptions): EncoderOutput;
}
