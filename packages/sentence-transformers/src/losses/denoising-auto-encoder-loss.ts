// DenoisingAutoEncoderLoss (TSDAE, Wang et al. 2021): a decoder rebuilds the original sentence from the
// sentence embedding of a damaged copy; the embedding is all the decoder sees.
import * as fs from "node:fs";
import * as path from "node:path";
import * as torch from "@stts/torch";
import { functional as F, nn, type Tensor } from "@stts/torch";
import { requireFeature, type Features } from "../features.js";
import { BertModel } from "../models/bert.js";
import { BertLMHeadModel, tieEncoderDecoder } from "../models/bert-lm-head.js";
import { CheckpointError, readCheckpointWeights, readConfigJson } from "../models/registry.js";
import { Tokenizer } from "../models/tokenizer.js";
import { Transformer } from "../modules/transformer.js";
import type { SentenceTransformer } from "../sentence-transformer.js";
import { checkColumnCount } from "./grad-cache.js";
import type { ConfigValue } from "./loss.js";
import { Loss } from "./loss.js";
import type { InputColumns, LabelKind, DataFormatId, LossCategory } from "./loss-inputs.js";

/** Options of `DenoisingAutoEncoderLoss`. */
export interface DenoisingAutoEncoderLossOptions {
  /**
   * A Hugging Face model folder (config.json + model.safetensors, a BERT checkpoint) to initialise the decoder
   * from; needed when `tieEncoderDecoder` is false, ignored (with a warning) when it is true. Default null.
   */
  decoderNameOrPath?: string | null;
  /** Share every encoder weight with the decoder (default true, as in the paper). */
  tieEncoderDecoder?: boolean;
}

const TSDAE_CITATION = `@inproceedings{wang-2021-TSDAE,
    title = "TSDAE: Using Transformer-based Sequential Denoising Auto-Encoderfor Unsupervised Sentence Embedding Learning",
    author = "Wang, Kexin and Reimers, Nils and Gurevych, Iryna",
    booktitle = "Findings of the Association for Computational Linguistics: EMNLP 2021",
    month = nov,
    year = "2021",
    address = "Punta Cana, Dominican Republic",
    publisher = "Association for Computational Linguistics",
    pages = "671--688",
    url = "https://arxiv.org/abs/2104.06979",
}
`;

/** Checkpoint keys a causal-LM decoder never loads: the pooler, the next-sentence head, tied copies, buffers. */
const DECODER_IGNORED = [
  /^bert\.pooler\./,
  /^cls\.seq_relationship\./,
  /^cls\.predictions\.decoder\.bias$/,
  /^bert\.embeddings\.(position_ids|token_type_ids)$/,
];

/**
 * TSDAE (Wang, Reimers & Gurevych 2021): the model embeds a damaged sentence (words deleted, see
 * `damage` / `denoisingAutoEncoderDataset` in util/noise.ts), and a BERT decoder with cross-attention over
 * that single vector (`BertLMHeadModel`, registered as `decoder`) must rebuild the original sentence token
 * by token: decoder input = original ids[:, :-1], targets = original ids[:, 1:], mean cross-entropy over the
 * non-padding targets. Only the embedding links the two, so it has to carry the sentence's content.
 *
 * With `tieEncoderDecoder` (default) the decoder is the encoder's own config made a decoder (is_decoder,
 * add_cross_attention), starts from the encoder's weights, and then shares them (`tieEncoderDecoder`): the
 * encoder's parameters are replaced by the decoder's tensors, so create the loss before the optimizer. Only
 * the cross-attention blocks and the LM-head transform/bias are the decoder's own (initialised as transformers
 * does: N(0, initializer_range) weights, zero biases, unit LayerNorm gains, drawn from the default generator:
 * seed it with torch.manualSeed first for reproducible runs). Untied, the decoder is loaded
 * from `decoderNameOrPath`, and original texts are re-tokenized with its tokenizer when its vocabulary differs.
 *
 * The decoder runs in the model's mode (`model.train()` / `model.eval()` turn its dropout on and off).
 * `dispose()` frees only the decoder's own tensors, never the model's. The model must be a SentenceTransformer
 * whose first module is a Transformer over a BERT encoder, with sentence embeddings as wide as its hidden size.
 *
 * Columns: (damaged, original), both tokenized with the model's tokenizer. Labels: none.
 *
 * @example
 * const loss = new DenoisingAutoEncoderLoss(model); // tied decoder made from the model's encoder
 * const value = loss.forward([model.tokenize(damagedTexts), model.tokenize(texts)], null);
 *
 * @param model the SentenceTransformer to train (Transformer over BERT first)
 * @param options decoderNameOrPath (default null: the encoder's config), tieEncoderDecoder (default true)
 */
export class DenoisingAutoEncoderLoss extends Loss {
  static readonly inputColumns: InputColumns = { min: 2, max: 2, roles: ["damaged", "original"] };
  static readonly labelKind: LabelKind = "none";
  static readonly category: LossCategory = "table";
  static readonly description: string =
    "TSDAE (unsupervised): a decoder must rebuild the original sentence from the sentence embedding of its damaged copy.";
  static readonly dataFormats: readonly DataFormatId[] = ["damaged-pairs"];
  static readonly commonChoiceFor: readonly DataFormatId[] = ["damaged-pairs"];

  readonly decoder: BertLMHeadModel;
  /** The decoder's source folder, or null when it was made from the encoder (always null when tied). */
  readonly decoderNameOrPath: string | null;
  readonly tieEncoderDecoder: boolean;
  /** The encoder parameter names shared with the decoder (empty when untied). */
  readonly tiedParameters: readonly string[];
  /** The target id ignored by the cross-entropy (the decoder tokenizer's [PAD]). */
  readonly padTokenId: number;
  readonly #encoderTokenizer: Tokenizer;
  /** The decoder's tokenizer when the original texts must be re-tokenized for it, else null. */
  readonly #decoderTokenizer: Tokenizer | null;
  readonly #encoder: BertModel;

  constructor(model: SentenceTransformer, options: DenoisingAutoEncoderLossOptions = {}) {
    super(model);
    const who = new.target.name;
    const tie = options.tieEncoderDecoder ?? true;
    const requested = options.decoderNameOrPath ?? null;
    const transformer = (model.moduleList as SentenceTransformer["moduleList"] | undefined)?.[0];
    if (!(transformer instanceof Transformer) || !(transformer.autoModel instanceof BertModel)) {
      const got =
        transformer instanceof Transformer
          ? `a Transformer over ${transformer.autoModel.constructor.name}`
          : (transformer?.constructor.name ?? `a ${model.constructor.name} without modules`);
      throw new Error(
        `${who}: the model's first module must be a Transformer over a BERT encoder (the decoder is a BertLMHeadModel), got ${got}`,
      );
    }
    const encoder = transformer.autoModel;
    if (!tie && requested === null) {
      throw new Error(`${who}: decoderNameOrPath (a model folder) is required when tieEncoderDecoder is false`);
    }
    if (tie && requested !== null) {
      console.warn(`${who}: tieEncoderDecoder is true, so decoderNameOrPath '${requested}' is ignored`);
    }
    this.tieEncoderDecoder = tie;
    this.decoderNameOrPath = tie ? null : requested;
    this.#encoder = encoder;
    this.#encoderTokenizer = transformer.tokenizer;

    const decoder = tie ? decoderFromEncoder(encoder) : decoderFromFolder(requested!, who);
    try {
      checkWidths(who, model, encoder, decoder);
      this.#decoderTokenizer = tie ? null : retokenizerFor(requested!, transformer.tokenizer);
      const tokenizer = this.#decoderTokenizer ?? transformer.tokenizer;
      const padTokenId = tokenizer.padTokenId ?? decoder.config.padTokenId;
      if (padTokenId === null) {
        throw new Error(`${who}: neither the tokenizer nor the decoder config names a padding token id`);
      }
      this.padTokenId = padTokenId;
      this.tiedParameters = tie ? tieEncoderDecoder(encoder, decoder) : [];
    } catch (error) {
      decoder.dispose();
      throw error;
    }
    this.decoder = this.registerModule("decoder", decoder.train(model.training));
  }

  override forward(sentenceFeatures: Features[], _labels: Tensor | null): Tensor {
    const who = this.constructor.name;
    checkColumnCount(who, DenoisingAutoEncoderLoss, sentenceFeatures.length);
    const [source, target] = sentenceFeatures as [Features, Features];
    if (this.decoder.training !== this.model.training) this.decoder.train(this.model.training);
    return torch.scope(() => {
      const targetIds = this.#targetIds(target); // [batch, seq]
      const [batch, length] = targetIds.shape as [number, number];
      const embedding = this.embed(source); // [batch, hidden]
      if (embedding.size(0) !== batch) {
        throw new Error(`${who}: ${embedding.size(0)} damaged sentences but ${batch} original ones`);
      }
      if (length < 2) throw new Error(`${who}: the original sentences must tokenize to at least 2 tokens`);
      const decoderInputIds = targetIds.narrow(1, 0, length - 1); // [batch, seq - 1]
      const labelIds = targetIds.narrow(1, 1, length - 1); // [batch, seq - 1]
      const sourceMask = source.attentionMask;
      const logits = this.decoder.forward({
        inputIds: decoderInputIds,
        encoderHiddenStates: embedding.unsqueeze(1), // [batch, 1, hidden]
        encoderAttentionMask: sourceMask === undefined ? undefined : sourceMask.narrow(1, 0, 1), // [batch, 1]
      }); // [batch, seq - 1, vocab]
      const vocab = logits.size(-1);
      return F.crossEntropy(logits.reshape([-1, vocab]), labelIds.reshape([-1]), { ignoreIndex: this.padTokenId });
    });
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return { decoderNameOrPath: this.decoderNameOrPath, tieEncoderDecoder: this.tieEncoderDecoder };
  }

  override get citation(): string {
    return TSDAE_CITATION;
  }

  /** Frees the decoder's own tensors (cross-attention, LM head); those shared with the model stay. */
  override dispose(): void {
    const shared = new Set(this.#encoder.parameters());
    const own = new Set([...this.decoder.namedParameters().values(), ...this.decoder.namedBuffers().values()]);
    for (const tensor of own) if (!shared.has(tensor)) tensor.dispose();
  }

  /** The original sentences' ids for the decoder: as tokenized, or re-tokenized with the decoder's tokenizer. */
  #targetIds(target: Features): Tensor {
    const ids = requireFeature(target, "inputIds", this.constructor.name); // [batch, seq]
    const decoderTokenizer = this.#decoderTokenizer;
    if (decoderTokenizer === null) return ids;
    const [batch, length] = ids.shape as [number, number];
    const flat = Array.from(ids.toTypedArray(), Number);
    const texts = Array.from({ length: batch }, (_, row) =>
      this.#encoderTokenizer.decode(flat.slice(row * length, (row + 1) * length), true),
    );
    const features = decoderTokenizer.encodeBatch(texts, { maxLength: this.decoder.config.maxPositionEmbeddings });
    return features.inputIds!;
  }
}

/** The encoder's config as a decoder, with the encoder's weights copied into `bert.*`. */
function decoderFromEncoder(encoder: BertModel): BertLMHeadModel {
  const decoder = new BertLMHeadModel({ ...encoder.configJson, is_decoder: true, add_cross_attention: true });
  try {
    initLikeTransformers(decoder);
    torch.scope(() => {
      const state = new Map([...encoder.stateDict()].filter(([key]) => !key.startsWith("pooler.")));
      const { missingKeys, unexpectedKeys } = decoder.bert.loadStateDict(state, { strict: false });
      const notCross = missingKeys.filter((key) => !key.includes(".crossattention."));
      if (notCross.length > 0 || unexpectedKeys.length > 0) {
        throw new Error(
          `DenoisingAutoEncoderLoss: the decoder made from the encoder's config does not match the encoder (missing: ${notCross.join(", ") || "none"}; unexpected: ${unexpectedKeys.join(", ") || "none"})`,
        );
      }
    });
    return decoder;
  } catch (error) {
    decoder.dispose();
    throw error;
  }
}

/**
 * A decoder from a BERT model folder: config.json made a decoder, then the checkpoint's weights (BertModel
 * keys, or "bert."/"cls." keys of BertLMHeadModel / BertForMaskedLM / BertForPreTraining); parts the checkpoint
 * lacks (cross-attention, usually the LM head) keep transformers-style fresh weights.
 */
function decoderFromFolder(folder: string, who: string): BertLMHeadModel {
  const configJson = readConfigJson(folder, who);
  if (configJson.model_type !== "bert") {
    throw new Error(
      `${who}: ${path.join(folder, "config.json")} has model_type ${JSON.stringify(configJson.model_type)}; only "bert" decoders (BertLMHeadModel) are supported`,
    );
  }
  const decoder = new BertLMHeadModel({ ...configJson, is_decoder: true, add_cross_attention: true });
  try {
    initLikeTransformers(decoder);
    torch.scope(() => {
      const { tensors, file } = readCheckpointWeights(folder, who);
      const prefixed = [...tensors.keys()].some((key) => key.startsWith("bert."));
      const state = new Map<string, Tensor>();
      for (const [key, tensor] of tensors) {
        const name = prefixed || key.startsWith("cls.") ? key : `bert.${key}`;
        if (DECODER_IGNORED.some((pattern) => pattern.test(name))) continue;
        if (name === "cls.predictions.decoder.weight" && decoder.config.tieWordEmbeddings) continue;
        state.set(name, tensor);
      }
      const { unexpectedKeys } = decoder.loadStateDict(state, { strict: false });
      if (unexpectedKeys.length > 0) {
        throw new CheckpointError(
          `${who}: ${path.join(folder, file)} has weights a BertLMHeadModel does not: ${unexpectedKeys.slice(0, 8).join(", ")}`,
          folder,
          file,
          unexpectedKeys,
        );
      }
    });
    return decoder;
  } catch (error) {
    decoder.dispose();
    throw error;
  }
}

/** transformers' BertPreTrainedModel._init_weights: N(0, initializer_range) weights, zero biases and [PAD] row, unit gains. */
function initLikeTransformers(decoder: BertLMHeadModel): void {
  const std = decoder.config.initializerRange;
  torch.noGrad(() => {
    for (const module of decoder.modules()) {
      if (module instanceof nn.Linear) {
        nn.init.normal_(module.weight, 0, std);
        if (module.bias !== null) nn.init.zeros_(module.bias);
      } else if (module instanceof nn.Embedding) {
        nn.init.normal_(module.weight, 0, std);
        const paddingIdx = module.paddingIdx;
        if (paddingIdx !== null) torch.scope(() => void module.weight.select(0, paddingIdx).zero_());
      } else if (module instanceof nn.LayerNorm) {
        if (module.weight !== null) nn.init.ones_(module.weight);
        if (module.bias !== null) nn.init.zeros_(module.bias);
      }
    }
    nn.init.zeros_(decoder.cls.predictions.bias);
  });
}

/** The decoder must take the sentence embedding as its cross-attention input: same width as its hidden states. */
function checkWidths(who: string, model: SentenceTransformer, encoder: BertModel, decoder: BertLMHeadModel): void {
  const hidden = decoder.config.hiddenSize;
  if (encoder.hiddenSize !== hidden) {
    throw new Error(`${who}: hidden sizes differ: encoder ${encoder.hiddenSize}, decoder ${hidden}`);
  }
  const dimension = model.getSentenceEmbeddingDimension();
  if (dimension !== null && dimension !== hidden) {
    throw new Error(
      `${who}: the sentence embeddings have ${dimension} dimensions but the decoder's cross-attention takes ${hidden} (its hidden size)`,
    );
  }
}

/** The tokenizer of a decoder folder when its vocabulary differs from the encoder's, else null (no re-tokenizing). */
function retokenizerFor(folder: string, encoderTokenizer: Tokenizer): Tokenizer | null {
  if (!fs.existsSync(path.join(folder, "tokenizer.json"))) return null;
  const tokenizer = Tokenizer.fromFolder(folder);
  const size = tokenizer.vocabSize;
  let same = size === encoderTokenizer.vocabSize;
  for (let id = 0; same && id < size; id++) same = tokenizer.idToToken(id) === encoderTokenizer.idToToken(id);
  return same ? null : tokenizer;
}
