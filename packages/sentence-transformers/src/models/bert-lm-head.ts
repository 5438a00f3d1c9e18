// BERT with a language-model head: BertLMHeadModel (the causal decoder TSDAE trains, with cross-attention
// over the sentence embedding) and BertForMaskedLM, plus the encoder-decoder weight tying TSDAE uses.
import * as path from "node:path";
import * as torch from "@stts/torch";
import { nn, functional as F, type Tensor } from "@stts/torch";
import { BertConfig, type BertHiddenAct } from "./bert-config.js";
import { BertModel, bertActivation, type BertInputs } from "./bert.js";
import type { EncoderInputs } from "./encoder.js";
import { loadCheckedStateDict, readCheckpointWeights, readConfigJson } from "./registry.js";

/**
 * dense -> activation (config.hiddenAct) -> LayerNorm, applied to hidden states before the vocabulary projection
 * (BertPredictionHeadTransform).
 *
 * @example
 * const h2 = new BertPredictionHeadTransform(config).forward(h); // [batch, seq, hidden]
 *
 * @param config hiddenSize, hiddenAct, layerNormEps
 */
export class BertPredictionHeadTransform extends nn.Module {
  readonly dense: nn.Linear;
  readonly layerNorm: nn.LayerNorm;
  readonly hiddenAct: BertHiddenAct;

  constructor(config: BertConfig) {
    super();
    this.dense = this.registerModule("dense", new nn.Linear(config.hiddenSize, config.hiddenSize));
    this.hiddenAct = config.hiddenAct;
    this.layerNorm = this.registerModule(
      "LayerNorm",
      new nn.LayerNorm(config.hiddenSize, { eps: config.layerNormEps }),
    );
  }

  /** [batch, seq, hidden] -> [batch, seq, hidden] */
  override forward(hidden: Tensor): Tensor {
    return torch.scope(() => this.layerNorm.forward(bertActivation(this.hiddenAct, this.dense.forward(hidden))));
  }
}

/**
 * The vocabulary projection (BertLMPredictionHead): logits = transform(h) · Wᵀ + bias, where W is the word
 * embedding matrix when config.tieWordEmbeddings (the default; read at every call, so re-tied weights are
 * followed), else an own `decoder` weight. `bias` is "cls.predictions.bias" ([vocab], zeros at first).
 *
 * @example
 * const logits = new BertLMPredictionHead(config, bert.embeddings.wordEmbeddings).forward(h); // [batch, seq, vocab]
 *
 * @param config hiddenSize, vocabSize, hiddenAct, layerNormEps, tieWordEmbeddings
 * @param wordEmbeddings the model's word embeddings (the output weights when tied)
 */
export class BertLMPredictionHead extends nn.Module {
  readonly transform: BertPredictionHeadTransform;
  /** The untied output layer, or null when the word embeddings are used. */
  readonly decoder: nn.Linear | null;
  readonly #wordEmbeddings: nn.Embedding;

  constructor(config: BertConfig, wordEmbeddings: nn.Embedding) {
    super();
    this.transform = this.registerModule("transform", new BertPredictionHeadTransform(config));
    this.decoder = config.tieWordEmbeddings
      ? null
      : this.registerModule("decoder", new nn.Linear(config.hiddenSize, config.vocabSize, { bias: false }));
    this.registerParameter("bias", torch.zeros([config.vocabSize]));
    this.#wordEmbeddings = wordEmbeddings;
  }

  /** [vocab] */
  get bias(): Tensor {
    return this.getParameter("bias");
  }

  /** [vocab, hidden]: the output weights (the word embeddings when tied). */
  get outputWeight(): Tensor {
    return this.decoder?.weight ?? this.#wordEmbeddings.weight;
  }

  /** [batch, seq, hidden] -> [batch, seq, vocab] */
  override forward(hidden: Tensor): Tensor {
    return torch.scope(() => F.linear(this.transform.forward(hidden), this.outputWeight, this.bias));
  }
}

/**
 * The masked/causal LM head holder (BertOnlyMLMHead), registered as "cls" so keys read "cls.predictions.*".
 *
 * @example
 * const logits = new BertOnlyMLMHead(config, bert.embeddings.wordEmbeddings).forward(h); // [batch, seq, vocab]
 *
 * @param config see BertLMPredictionHead
 * @param wordEmbeddings the model's word embeddings
 */
export class BertOnlyMLMHead extends nn.Module {
  readonly predictions: BertLMPredictionHead;

  constructor(config: BertConfig, wordEmbeddings: nn.Embedding) {
    super();
    this.predictions = this.registerModule("predictions", new BertLMPredictionHead(config, wordEmbeddings));
  }

  /** [batch, seq, hidden] -> [batch, seq, vocab] */
  override forward(hidden: Tensor): Tensor {
    return this.predictions.forward(hidden);
  }
}

function toConfig(config: BertConfig | Record<string, unknown>): BertConfig {
  return config instanceof BertConfig ? config : BertConfig.fromJson(config);
}

/**
 * A BERT decoder with a language-model head (transformers' BertLMHeadModel): `bert` is a BertModel without
 * pooler (causal self-attention when config.isDecoder; a `crossattention` block per layer over
 * `encoderHiddenStates` when config.addCrossAttention), `cls` the LM head whose output weights are the word
 * embeddings. Keys: "bert.embeddings...", "bert.encoder.layer.N.crossattention...", "cls.predictions.bias",
 * "cls.predictions.transform...". TSDAE's decoder is this class with is_decoder and add_cross_attention.
 *
 * @example
 * const decoder = new BertLMHeadModel({ ...encoder.configJson, is_decoder: true, add_cross_attention: true });
 * const logits = decoder.forward({ inputIds, encoderHiddenStates: embedding.unsqueeze(1) }); // [batch, seq, vocab]
 *
 * @param config a BertConfig or config.json's contents
 */
export class BertLMHeadModel extends nn.Module {
  readonly config: BertConfig;
  readonly bert: BertModel;
  readonly cls: BertOnlyMLMHead;

  constructor(config: BertConfig | Record<string, unknown>) {
    super();
    this.config = toConfig(config);
    this.bert = this.registerModule("bert", new BertModel(this.config, { addPoolingLayer: false }));
    this.cls = this.registerModule("cls", new BertOnlyMLMHead(this.config, this.bert.embeddings.wordEmbeddings));
  }

  /**
   * inputIds, attentionMask (default all ones; the causal mask is added), tokenTypeIds: [batch, seq];
   * encoderHiddenStates [batch, sourceSeq, hidden], encoderAttentionMask [batch, sourceSeq] -> logits [batch, seq, vocab]
   */
  override forward(inputs: BertInputs): Tensor {
    return torch.scope(() => this.cls.forward(this.bert.forward(inputs).lastHiddenState));
  }
}

/** Checkpoint keys BertForMaskedLM does not load: tied copies, the pooler and next-sentence head of BertForPreTraining. */
const MLM_IGNORED = [
  /^cls\.predictions\.decoder\.bias$/,
  /^bert\.pooler\./,
  /^cls\.seq_relationship\./,
  /^bert\.embeddings\.(position_ids|token_type_ids)$/,
];

/**
 * BERT with the masked-language-model head (transformers' BertForMaskedLM): `bert` without pooler, `cls` the LM
 * head tied to the word embeddings. Load a checkpoint with `BertForMaskedLM.fromPretrained(folder)`.
 *
 * @example
 * const mlm = BertForMaskedLM.fromPretrained("models/bert-tiny-mlm");
 * const logits = mlm.forward({ inputIds, attentionMask }); // [batch, seq, vocab]
 *
 * @param config a BertConfig or config.json's contents
 */
export class BertForMaskedLM extends nn.Module {
  readonly config: BertConfig;
  readonly bert: BertModel;
  readonly cls: BertOnlyMLMHead;

  constructor(config: BertConfig | Record<string, unknown>) {
    super();
    this.config = toConfig(config);
    this.bert = this.registerModule("bert", new BertModel(this.config, { addPoolingLayer: false }));
    this.cls = this.registerModule("cls", new BertOnlyMLMHead(this.config, this.bert.embeddings.wordEmbeddings));
  }

  /**
   * Reads folder/config.json and folder/model.safetensors (keys "bert.*" and "cls.predictions.*"; the tied
   * "cls.predictions.decoder.weight" may be absent) into a model in eval mode.
   *
   * @throws CheckpointError naming the folder, file and key on missing/unexpected keys or wrong shapes
   */
  static fromPretrained(folder: string): BertForMaskedLM {
    const who = "BertForMaskedLM.fromPretrained";
    const config = BertConfig.fromJson(readConfigJson(folder, who), path.join(folder, "config.json"));
    return torch.scope(() => {
      const { tensors, file } = readCheckpointWeights(folder, who);
      const state = new Map([...tensors].filter(([key]) => !MLM_IGNORED.some((pattern) => pattern.test(key))));
      if (config.tieWordEmbeddings) state.delete("cls.predictions.decoder.weight");
      const model = new BertForMaskedLM(config);
      try {
        loadCheckedStateDict(model, state, { who, folder, file });
      } catch (error) {
        model.dispose();
        throw error;
      }
      return model.eval();
    });
  }

  /** inputIds, attentionMask, tokenTypeIds: [batch, seq] -> logits [batch, seq, vocab] */
  override forward(inputs: EncoderInputs): Tensor {
    return torch.scope(() => this.cls.forward(this.bert.forward(inputs).lastHiddenState));
  }
}

/**
 * Makes `encoder` use `decoder.bert`'s parameters, as transformers' `_tie_encoder_decoder_weights(encoder,
 * decoder.bert, "bert")` does for TSDAE: walking both module trees by name from the decoder's side, every encoder
 * submodule that has a `weight` (Linear, Embedding, LayerNorm) gets the decoder's `weight` and `bias` tensor
 * objects (its own are disposed). Decoder-only parts (`crossattention`, the LM head) and encoder-only parts (the
 * pooler) stay unshared. Afterwards one set of tensors serves both, so their gradients add up.
 *
 * @returns the encoder parameter names now shared with the decoder (e.g. "embeddings.word_embeddings.weight")
 *
 * @example
 * const tied = tieEncoderDecoder(encoder, decoder);
 * encoder.getParameter(tied[0]!) === decoder.getParameter(`bert.${tied[0]}`); // true
 */
export function tieEncoderDecoder(encoder: BertModel, decoder: BertLMHeadModel): string[] {
  const tied: string[] = [];
  tieRecursively(decoder.bert, encoder, "", tied);
  return tied;
}

function tieRecursively(decoderPart: nn.Module, encoderPart: nn.Module, prefix: string, tied: string[]): void {
  const decoderOwn = decoderPart.namedParameters({ recurse: false });
  const encoderOwn = encoderPart.namedParameters({ recurse: false });
  const decoderWeight = decoderOwn.get("weight");
  if (decoderWeight !== undefined && encoderOwn.has("weight")) {
    for (const name of ["weight", "bias"]) {
      const shared = decoderOwn.get(name);
      const own = encoderOwn.get(name);
      if (shared === undefined || own === undefined) continue;
      if (shared.shape.join() !== own.shape.join()) {
        throw new RangeError(
          `tieEncoderDecoder: '${prefix}${name}' has shape [${own.shape.join(", ")}] in the encoder but ` +
            `[${shared.shape.join(", ")}] in the decoder; the two must share one architecture`,
        );
      }
      encoderPart.setParameter(name, shared);
      tied.push(`${prefix}${name}`);
    }
    return;
  }
  const encoderChildren = encoderPart.namedChildren();
  for (const [name, decoderChild] of decoderPart.namedChildren()) {
    const encoderChild = encoderChildren.get(name);
    if (encoderChild !== undefined) tieRecursively(decoderChild, encoderChild, `${prefix}${name}.`, tied);
  }
}
