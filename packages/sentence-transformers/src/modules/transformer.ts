// Transformer: a Hugging Face encoder and its tokenizer, the input module of most SentenceTransformers.
import * as fs from "node:fs";
import * as path from "node:path";
import * as torch from "@stts/torch";
import { nn } from "@stts/torch";
import { requireFeature, type Features } from "../features.js";
import type { EncoderModel } from "../models/encoder.js";
import { loadEncoder, saveEncoder } from "../models/registry.js";
import { Tokenizer, type TokenizerInput } from "../models/tokenizer.js";
import { ConfigReader, writeJson } from "./module-io.js";

/** The module config file, then the names older sentence-transformers versions used. */
const SENTENCE_CONFIG_FILES = [
  "sentence_bert_config.json",
  "sentence_roberta_config.json",
  "sentence_distilbert_config.json",
  "sentence_camembert_config.json",
  "sentence_albert_config.json",
  "sentence_xlm-roberta_config.json",
  "sentence_xlnet_config.json",
];

/** Options of `Transformer`. */
export interface TransformerOptions {
  /**
   * Truncate inputs to this many tokens. Default: min(config.json `max_position_embeddings`,
   * tokenizer_config `model_max_length`), as the reference infers it; null when neither is known.
   */
  maxSeqLength?: number | null;
  /** Lowercase texts before tokenizing (default false; the tokenizer may lowercase on its own). */
  doLowerCase?: boolean;
  /**
   * Skip padding inside the encoder (`unpad_inputs` in sentence_bert_config.json, as sentence-transformers v6):
   * true in training and inference, false never, null (default) in eval mode only (encode, evaluators), where it
   * changes no number beyond float rounding. See `Transformer.unpadInputs`.
   */
  unpadInputs?: boolean | null;
}

/** Per-call options of `Transformer.forward`, overriding the module's `outputHiddenStates` / `numLayers`. */
export interface TransformerForwardOptions {
  /** Also add `allLayerEmbeddings` (embeddings output, then every layer's output). */
  outputHiddenStates?: boolean;
  /** Run only the first k encoder layers. */
  numLayers?: number;
}

/**
 * Wraps a Hugging Face encoder (`autoModel`) and its tokenizer (sentence-transformers' `models.Transformer`).
 * `tokenize` strips (and, with `doLowerCase`, lowercases) the texts, then tokenizes them padded to the
 * longest and truncated to `maxSeqLength`; `forward` adds `tokenEmbeddings` [batch, seq, hidden].
 *
 * AdaptiveLayerLoss and other layer-wise users: set `outputHiddenStates = true` (as the reference sets
 * `auto_model.config.output_hidden_states`) and `forward` also adds `allLayerEmbeddings` (index 0 = the
 * embeddings output, i = layer i's output); set `numLayers = k` to run only the first k layers
 * (`tokenEmbeddings` is then layer k's output), `null` for all. Both can also be passed per call as
 * `forward(features, { outputHiddenStates, numLayers })`.
 *
 * Padding: tokenized batches are padded to their longest text, and `unpadInputs` decides whether the encoder
 * skips that padding (runs its linear layers, LayerNorms, activations and dropout on the real tokens only).
 * Sentence embeddings are the same up to float rounding either way; padded positions of `tokenEmbeddings` are 0
 * instead of computed values, which pooling ignores. The default (null) unpads in eval mode only; `true` also
 * unpads in training, which is faster but draws dropout masks over fewer elements, so a seeded run differs from a
 * padded one (and from Python sentence-transformers, which on CPU always pads). sentence-transformers v6 has the
 * same setting for flash-attention models; there null means "when flash attention is available". A folder saved
 * with `unpad_inputs: true` loads in Python v6 with the same embeddings (on CPU it logs that it falls back to
 * padding); versions before v6 have no such key.
 *
 * Saved in the reference layout: the encoder's config.json + model.safetensors, the tokenizer files,
 * and sentence_bert_config.json (`max_seq_length`, `do_lower_case`, and `unpad_inputs` when not null).
 *
 * @example
 * const transformer = Transformer.load("models/bert-tiny");
 * const features = transformer.forward(transformer.tokenize(["A man is eating."])); // features.tokenEmbeddings
 *
 * @param autoModel the encoder (its parameters are named "auto_model.*" inside this module)
 * @param tokenizer its tokenizer
 * @param options maxSeqLength (default inferred from the config and tokenizer), doLowerCase (default false),
 *   unpadInputs (default null: unpad in eval mode only)
 */
export class Transformer extends nn.Module {
  /** The reference saves the first module's files in the model's root folder when it is a Transformer. */
  readonly saveInRoot = true;
  readonly autoModel: EncoderModel;
  readonly tokenizer: Tokenizer;
  maxSeqLength: number | null;
  doLowerCase: boolean;
  /** Add `allLayerEmbeddings` in forward (default false). */
  outputHiddenStates = false;
  /** Run only the first k layers (default null: all). */
  numLayers: number | null = null;
  /** Skip padding in the encoder: true always, false never, null (default) in eval mode only. */
  unpadInputs: boolean | null;

  constructor(autoModel: EncoderModel, tokenizer: Tokenizer, options: TransformerOptions = {}) {
    super();
    this.autoModel = this.registerModule("auto_model", autoModel);
    this.tokenizer = tokenizer;
    this.doLowerCase = options.doLowerCase ?? false;
    this.unpadInputs = options.unpadInputs ?? null;
    this.maxSeqLength =
      options.maxSeqLength === undefined ? inferMaxSeqLength(autoModel, tokenizer) : options.maxSeqLength;
  }

  /**
   * Loads a Transformer from a Hugging Face model folder: config.json + model.safetensors (the
   * encoder), tokenizer.json (+ tokenizer_config.json), and sentence_bert_config.json when present
   * (or a legacy `sentence_<arch>_config.json`). `options` override the folder's config. The keys
   * sentence-transformers v6 adds (transformer_task, modality_config, module_output_name, ...) are
   * accepted at their text-embedding values and rejected otherwise; v6 keeps max_seq_length in
   * tokenizer_config.json's model_max_length, which the default maxSeqLength reads.
   */
  static load(folder: string, options: TransformerOptions = {}): Transformer {
    const configFile = SENTENCE_CONFIG_FILES.map((name) => path.join(folder, name)).find((file) => fs.existsSync(file));
    let fromFile: TransformerOptions = {};
    if (configFile !== undefined) {
      const config = ConfigReader.fromFile(configFile, "Transformer");
      checkV6Settings(config);
      fromFile = { doLowerCase: config.boolean("do_lower_case", false) };
      if (config.has("unpad_inputs") && config.json.unpad_inputs !== null) {
        fromFile.unpadInputs = config.boolean("unpad_inputs", false);
      }
      if (config.has("max_seq_length")) fromFile.maxSeqLength = config.optionalInteger("max_seq_length", { min: 1 });
    }
    const encoder = loadEncoder(folder);
    return new Transformer(encoder, Tokenizer.fromFolder(folder), { ...fromFile, ...options });
  }

  /** The hidden size of the encoder: the width of `tokenEmbeddings`. */
  getWordEmbeddingDimension(): number {
    return this.autoModel.hiddenSize;
  }

  /** What sentence_bert_config.json holds (`unpad_inputs` only when set, as the reference). */
  getConfigDict(): { max_seq_length: number | null; do_lower_case: boolean; unpad_inputs?: boolean } {
    const config = { max_seq_length: this.maxSeqLength, do_lower_case: this.doLowerCase };
    return this.unpadInputs === null ? config : { ...config, unpad_inputs: this.unpadInputs };
  }

  /**
   * Tokenizes texts (or pairs of texts): stripped, lowercased when `doLowerCase`, padded to the
   * longest, truncated to `maxSeqLength` (`longest_first` for pairs). The caller owns the tensors.
   */
  tokenize(texts: readonly TokenizerInput[]): Features {
    const prepare = (text: string) => {
      const stripped = String(text).trim();
      return this.doLowerCase ? stripped.toLowerCase() : stripped;
    };
    const inputs = texts.map((text): TokenizerInput =>
      typeof text === "string" ? prepare(text) : [prepare(text[0]), prepare(text[1])],
    );
    return this.tokenizer.encodeBatch(inputs, { maxLength: this.maxSeqLength ?? undefined });
  }

  /** Adds `tokenEmbeddings` [batch, seq, hidden] (and `allLayerEmbeddings` when asked for). */
  override forward(features: Features, options: TransformerForwardOptions = {}): Features {
    const inputIds = requireFeature(features, "inputIds", "Transformer");
    const outputHiddenStates = options.outputHiddenStates ?? this.outputHiddenStates;
    const numLayers = options.numLayers ?? this.numLayers ?? undefined;
    return torch.scope(() => {
      const output = this.autoModel.forward(
        {
          inputIds,
          attentionMask: tensorOrUndefined(features.attentionMask),
          tokenTypeIds: tensorOrUndefined(features.tokenTypeIds),
        },
        { outputHiddenStates, numLayers, unpadInputs: this.unpadInputs ?? !this.training },
      );
      const result: Features = { ...features, tokenEmbeddings: output.lastHiddenState };
      if (outputHiddenStates && output.hiddenStates !== undefined) result.allLayerEmbeddings = output.hiddenStates;
      return result;
    });
  }

  /** Writes config.json, model.safetensors, the tokenizer files and sentence_bert_config.json into `folder`. */
  save(folder: string): void {
    fs.mkdirSync(folder, { recursive: true });
    saveEncoder(this.autoModel, folder);
    this.tokenizer.save(folder);
    writeJson(path.join(folder, "sentence_bert_config.json"), this.getConfigDict());
  }

  override extraRepr(): string {
    const unpad = this.unpadInputs === null ? "" : `, unpadInputs=${this.unpadInputs}`;
    return `maxSeqLength=${this.maxSeqLength}, doLowerCase=${this.doLowerCase}${unpad}, architecture=${this.autoModel.constructor.name}`;
  }
}

/**
 * sentence_bert_config.json of sentence-transformers v6 describes what the module computes; anything but a
 * text encoder's token embeddings (a classifier, an MLM head, chat-formatted inputs, ...) would silently give
 * other numbers here, so it throws naming the key.
 */
function checkV6Settings(config: ConfigReader): void {
  const expect = (key: string, ok: boolean, expected: string) => {
    if (!ok) throw config.error(key, `${expected} (other values are not supported)`, config.json[key]);
  };
  if (config.has("transformer_task")) {
    expect("transformer_task", config.json.transformer_task === "feature-extraction", '"feature-extraction"');
  }
  if (config.has("module_output_name")) {
    expect("module_output_name", config.json.module_output_name === "token_embeddings", '"token_embeddings"');
  }
  if (config.has("modality_config")) {
    const modalities = config.json.modality_config as Record<string, unknown> | null;
    const text = (typeof modalities === "object" && modalities !== null ? modalities.text : undefined) as
      Record<string, unknown> | undefined;
    expect(
      "modality_config",
      text?.method === "forward" && text.method_output_name === "last_hidden_state",
      'a "text" entry {"method": "forward", "method_output_name": "last_hidden_state"}',
    );
  }
  const processing = config.json.processing_kwargs;
  if (processing !== undefined && processing !== null) {
    expect("processing_kwargs", typeof processing === "object" && Object.keys(processing).length === 0, "empty");
  }
  for (const key of ["query_length", "document_length", "query_expansion"]) {
    if (config.has(key)) expect(key, config.json[key] === null, "null (multi-vector settings)");
  }
}

function inferMaxSeqLength(model: EncoderModel, tokenizer: Tokenizer): number | null {
  const positions = model.configJson.max_position_embeddings;
  const candidates = [typeof positions === "number" ? positions : null, tokenizer.modelMaxLength].filter(
    (value): value is number => value !== null,
  );
  return candidates.length === 0 ? null : Math.min(...candidates);
}

function tensorOrUndefined(value: Features[string]): torch.Tensor | undefined {
  return value === undefined || Array.isArray(value) ? undefined : value;
}
