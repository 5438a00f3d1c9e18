// A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) with the batch behaviour of
// `tokenizer(texts, padding=True, truncation="longest_first", max_length=N, return_tensors="pt")`.
import * as fs from "node:fs";
import * as path from "node:path";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import * as torch from "@stts/torch";
import type { Features } from "../features.js";

/** A JSON object as read from a file. */
export type JsonObject = Record<string, unknown>;

/** One input of a batch: a text, or a pair of texts (encoded `[CLS] a [SEP] b [SEP]` for BERT). */
export type TokenizerInput = string | readonly [string, string];

/** Options of `Tokenizer.encodeBatch` and `Tokenizer.encodeIds`. */
export interface TokenizeOptions {
  /**
   * Truncate each encoding (special tokens included) to this many tokens; pairs are truncated
   * `longest_first` as Hugging Face does. Default: the tokenizer's `modelMaxLength`; null: no limit.
   */
  maxLength?: number | null;
  /** Add the post-processor's special tokens ([CLS], [SEP], ...) (default true). */
  addSpecialTokens?: boolean;
  /** The id padding uses when the tokenizer defines no pad token (default: throw when padding is needed). */
  padTokenId?: number;
  /** Which end truncation cuts (default: the tokenizer's `truncationSide`). */
  truncationSide?: "left" | "right";
}

/** The unpadded result of encoding one input. */
export interface TokenizerEncoding {
  ids: number[];
  tokens: string[];
  typeIds: number[];
}

/** Tokenizer classes of transformers whose `model_input_names` lack `token_type_ids`. */
const NO_TOKEN_TYPE_IDS = new Set([
  "RobertaTokenizer",
  "XLMRobertaTokenizer",
  "CamembertTokenizer",
  "DistilBertTokenizer",
  "MPNetTokenizer",
  "BartTokenizer",
  "GPT2Tokenizer",
  "T5Tokenizer",
  "LlamaTokenizer",
  "Qwen2Tokenizer",
  "GemmaTokenizer",
  "ModernBertTokenizer",
]);

/** The files `save` writes besides tokenizer.json / tokenizer_config.json when they were loaded. */
const EXTRA_TOKENIZER_FILES = [
  "special_tokens_map.json",
  "vocab.txt",
  "vocab.json",
  "merges.txt",
  "sentencepiece.bpe.model",
  "spiece.model",
  "tokenizer.model",
  "added_tokens.json",
];

/** transformers' VERY_LARGE_INTEGER: the model_max_length of a tokenizer_config.json that sets none. */
const NO_MAX_LENGTH = 1e30;

/**
 * A fast tokenizer loaded from a Hugging Face `tokenizer.json` (normalizer, pre-tokenizer, model,
 * post-processor, through `@huggingface/tokenizers`) and `tokenizer_config.json` (`do_lower_case`,
 * `model_max_length`, special tokens, padding/truncation side). `encodeBatch` pads to the longest
 * encoding of the batch and truncates to `maxLength` (`longest_first` for pairs) like transformers'
 * `PreTrainedTokenizerFast.__call__`, returning int64 `inputIds`, `attentionMask`, `tokenTypeIds`.
 *
 * @example
 * const tokenizer = Tokenizer.fromFolder("bert-base-uncased");
 * const features = tokenizer.encodeBatch(["Hello, world!"], { maxLength: 128 }); // inputIds [[101, 7592, 1010, 2088, 999, 102]]
 *
 * @param tokenizerJson the parsed tokenizer.json
 * @param tokenizerConfig the parsed tokenizer_config.json (default {})
 * @param extraFiles other tokenizer files (name -> bytes) that `save` writes back unchanged (default none); the
 *   special tokens of special_tokens_map.json fill those tokenizer_config.json lacks
 */
export class Tokenizer {
  readonly tokenizerJson: JsonObject;
  readonly tokenizerConfig: JsonObject;
  readonly extraFiles: ReadonlyMap<string, Uint8Array>;
  /** The longest input the model was trained on (tokenizer_config `model_max_length`), or null when unset. */
  readonly modelMaxLength: number | null;
  /** The id used for padding, or null when the tokenizer defines no pad token. */
  readonly padTokenId: number | null;
  /** The token type id of padded positions (tokenizer.json `padding.pad_type_id`, default 0). */
  readonly padTokenTypeId: number;
  /** "right" (default) or "left" (tokenizer_config `padding_side`). */
  readonly paddingSide: "left" | "right";
  /** "right" (default) or "left" (tokenizer_config `truncation_side`). */
  readonly truncationSide: "left" | "right";
  /** Whether `encodeBatch` returns `tokenTypeIds` (false for tokenizers whose models take none, e.g. RoBERTa). */
  readonly returnTokenTypeIds: boolean;
  readonly #hf: HfTokenizer;
  readonly #addedTokenIds = new Map<string, number>();
  readonly #unkTokenId: number | undefined;
  readonly #specialTokenCount: { single: number; pair: number };

  constructor(tokenizerJson: JsonObject, tokenizerConfig: JsonObject = {}, extraFiles = new Map<string, Uint8Array>()) {
    this.tokenizerJson = tokenizerJson;
    this.tokenizerConfig = tokenizerConfig;
    this.extraFiles = extraFiles;
    // special_tokens_map.json fills the special tokens tokenizer_config.json lacks, as transformers reads them.
    const specialTokensMap = extraFiles.get("special_tokens_map.json");
    const config: JsonObject =
      specialTokensMap === undefined
        ? tokenizerConfig
        : {
            ...parseJsonObject(Buffer.from(specialTokensMap).toString("utf8"), "special_tokens_map.json"),
            ...tokenizerConfig,
          };
    this.#hf = new HfTokenizer(withConfigOverrides(tokenizerJson, config), config);

    const maxLength = config.model_max_length;
    this.modelMaxLength = typeof maxLength === "number" && maxLength < NO_MAX_LENGTH ? maxLength : null;
    this.paddingSide = config.padding_side === "left" ? "left" : "right";
    this.truncationSide = config.truncation_side === "left" ? "left" : "right";
    const inputNames = config.model_input_names;
    this.returnTokenTypeIds = Array.isArray(inputNames)
      ? inputNames.includes("token_type_ids")
      : !NO_TOKEN_TYPE_IDS.has(String(config.tokenizer_class ?? "").replace(/Fast$/, ""));

    for (const added of (tokenizerJson.added_tokens ?? []) as { id: number; content: string; normalized?: boolean }[]) {
      this.#addedTokenIds.set(added.content, added.id);
      const normalizer = this.#hf.normalizer;
      if (added.normalized === true && normalizer !== null)
        this.#addedTokenIds.set(normalizer(added.content), added.id);
    }
    const model = (tokenizerJson.model ?? {}) as JsonObject;
    const unkToken = tokenText(config.unk_token) ?? (typeof model.unk_token === "string" ? model.unk_token : null);
    this.#unkTokenId = unkToken === null ? undefined : this.tokenToId(unkToken);

    const padding = tokenizerJson.padding as JsonObject | null | undefined;
    const padToken = tokenText(config.pad_token);
    const padFromConfig = padToken === null ? undefined : this.tokenToId(padToken);
    this.padTokenId = padFromConfig ?? (typeof padding?.pad_id === "number" ? padding.pad_id : null);
    this.padTokenTypeId = typeof padding?.pad_type_id === "number" ? padding.pad_type_id : 0;
    this.#specialTokenCount = {
      single: this.#postProcess([], null).tokens.length,
      pair: this.#postProcess([], []).tokens.length,
    };
  }

  /**
   * Loads `tokenizer.json` (required) and, when present, `tokenizer_config.json` and
   * `special_tokens_map.json` (its special tokens fill those the config lacks) from a folder.
   */
  static fromFolder(folder: string): Tokenizer {
    const tokenizerFile = path.join(folder, "tokenizer.json");
    if (!fs.existsSync(tokenizerFile)) {
      throw new Error(
        `Tokenizer.fromFolder: ${tokenizerFile} does not exist (a fast tokenizer's tokenizer.json is required; ` +
          `slow-only tokenizers (vocab.txt alone) are not supported)`,
      );
    }
    const tokenizerJson = readJsonObject(tokenizerFile);
    const configFile = path.join(folder, "tokenizer_config.json");
    const config = fs.existsSync(configFile) ? readJsonObject(configFile) : {};
    const extraFiles = new Map<string, Uint8Array>();
    for (const name of EXTRA_TOKENIZER_FILES) {
      const file = path.join(folder, name);
      if (fs.existsSync(file)) extraFiles.set(name, fs.readFileSync(file));
    }
    return new Tokenizer(tokenizerJson, config, extraFiles);
  }

  /** The number of ids (vocabulary and added tokens). */
  get vocabSize(): number {
    return this.#hf.get_vocab(true).size;
  }

  /** The id of a token string, or undefined when it is not in the vocabulary. */
  tokenToId(token: string): number | undefined {
    return this.#addedTokenIds.get(token) ?? this.#hf.token_to_id(token);
  }

  /** The token string of an id, or undefined. */
  idToToken(id: number): string | undefined {
    return this.#hf.id_to_token(id);
  }

  /** How many special tokens the post-processor adds to one text (`pair` false) or a pair. */
  numSpecialTokensToAdd(pair = false): number {
    return pair ? this.#specialTokenCount.pair : this.#specialTokenCount.single;
  }

  /** The tokens of a text, without special tokens. */
  tokenize(text: string): string[] {
    return this.#hf.tokenize(text, { add_special_tokens: false });
  }

  /** Decodes ids back to text (special tokens skipped unless `skipSpecialTokens` is false). */
  decode(ids: readonly number[], skipSpecialTokens = true): string {
    if (ids.length === 0) return "";
    return this.#hf.decode([...ids], { skip_special_tokens: skipSpecialTokens });
  }

  /** Encodes one text or pair, truncated but not padded. */
  encodeIds(input: TokenizerInput, options: TokenizeOptions = {}): TokenizerEncoding {
    const maxLength = options.maxLength === undefined ? this.modelMaxLength : options.maxLength;
    const addSpecialTokens = options.addSpecialTokens ?? true;
    const isPair = typeof input !== "string";
    let first = this.tokenize(isPair ? input[0] : input);
    let second = isPair ? this.tokenize(input[1]) : null;
    if (maxLength !== null) {
      const budget = Math.max(0, maxLength - (addSpecialTokens ? this.numSpecialTokensToAdd(isPair) : 0));
      [first, second] = this.#truncate(first, second, budget, options.truncationSide ?? this.truncationSide);
    }
    const processed = addSpecialTokens
      ? this.#postProcess(first, second)
      : {
          tokens: [...first, ...(second ?? [])],
          typeIds: [...first.map(() => 0), ...(second ?? []).map(() => 1)],
        };
    const ids = processed.tokens.map((token) => {
      const id = this.tokenToId(token) ?? this.#unkTokenId;
      if (id === undefined)
        throw new Error(`Tokenizer: token '${token}' is not in the vocabulary and there is no unk token`);
      return id;
    });
    return { ids, tokens: processed.tokens, typeIds: processed.typeIds };
  }

  /**
   * Encodes a batch: each input truncated to `maxLength`, every row padded to the longest of the
   * batch. Returns int64 tensors `inputIds`, `attentionMask` (1 = token, 0 = padding) and, when
   * the model takes them, `tokenTypeIds`, all [batch, seq]. The caller owns the tensors.
   */
  encodeBatch(inputs: readonly TokenizerInput[], options: TokenizeOptions = {}): Features {
    const encodings = inputs.map((input) => this.encodeIds(input, options));
    const seqLength = Math.max(0, ...encodings.map((e) => e.ids.length));
    const needsPadding = encodings.some((e) => e.ids.length < seqLength);
    const padId = this.padTokenId ?? options.padTokenId ?? null;
    if (needsPadding && padId === null) {
      throw new Error(
        "Tokenizer: the batch needs padding but the tokenizer defines no pad token " +
          "(set pad_token in tokenizer_config.json, or pass padTokenId)",
      );
    }
    const batch = encodings.length;
    const ids = new BigInt64Array(batch * seqLength);
    const mask = new BigInt64Array(batch * seqLength);
    const types = new BigInt64Array(batch * seqLength);
    encodings.forEach((encoding, row) => {
      const padCount = seqLength - encoding.ids.length;
      const offset = row * seqLength + (this.paddingSide === "left" ? padCount : 0);
      const padStart = row * seqLength + (this.paddingSide === "left" ? 0 : encoding.ids.length);
      ids.fill(BigInt(padId ?? 0), padStart, padStart + padCount);
      types.fill(BigInt(this.padTokenTypeId), padStart, padStart + padCount);
      encoding.ids.forEach((id, i) => {
        ids[offset + i] = BigInt(id);
        mask[offset + i] = 1n;
        types[offset + i] = BigInt(encoding.typeIds[i] ?? 0);
      });
    });
    const shape = [batch, seqLength];
    const features: Features = {
      inputIds: torch.fromTypedArray(ids, { shape }),
      attentionMask: torch.fromTypedArray(mask, { shape }),
    };
    if (this.returnTokenTypeIds) features.tokenTypeIds = torch.fromTypedArray(types, { shape });
    return features;
  }

  /** Writes tokenizer.json, tokenizer_config.json and the other tokenizer files it was loaded with. */
  save(folder: string): void {
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, "tokenizer.json"), JSON.stringify(this.tokenizerJson, null, 2));
    fs.writeFileSync(path.join(folder, "tokenizer_config.json"), JSON.stringify(this.tokenizerConfig, null, 2));
    for (const [name, bytes] of this.extraFiles) fs.writeFileSync(path.join(folder, name), bytes);
  }

  /**
   * Hugging Face's truncation of the content tokens to `budget` (special tokens excluded). For pairs,
   * `longest_first`: the shorter text keeps min(its length, max(budget - longer, budget / 2)) tokens.
   */
  #truncate(
    first: string[],
    second: string[] | null,
    budget: number,
    side: "left" | "right",
  ): [string[], string[] | null] {
    const cut = (tokens: string[], length: number) =>
      tokens.length <= length
        ? tokens
        : side === "left"
          ? tokens.slice(tokens.length - length)
          : tokens.slice(0, length);
    if (second === null) return [cut(first, budget), null];
    if (first.length + second.length <= budget) return [first, second];
    const swap = first.length > second.length;
    let short = swap ? second.length : first.length;
    let long: number;
    // tokenizers' LongestFirst: the short side keeps its length when the long side can fill the rest.
    long = short > budget ? short : Math.max(short, budget - short);
    if (short + long > budget) {
      short = Math.floor(budget / 2);
      long = short + (budget % 2);
    }
    const [firstLength, secondLength] = swap ? [long, short] : [short, long];
    return [cut(first, firstLength), cut(second, secondLength)];
  }

  #postProcess(first: string[], second: string[] | null): { tokens: string[]; typeIds: number[] } {
    const processor = this.#hf.post_processor;
    if (processor === null) {
      return {
        tokens: [...first, ...(second ?? [])],
        typeIds: [...first.map(() => 0), ...(second ?? []).map(() => 1)],
      };
    }
    const out = processor(first, second, true);
    const tokens =
      out.tokens_pair === undefined || out.tokens_pair === null ? out.tokens : [...out.tokens, ...out.tokens_pair];
    const typeIds = out.token_type_ids ?? [...out.tokens.map(() => 0), ...(out.tokens_pair ?? []).map(() => 1)];
    return { tokens, typeIds };
  }
}

/**
 * What transformers' BertTokenizerFast does on load: tokenizer_config's `do_lower_case` and
 * `strip_accents` override the BertNormalizer of tokenizer.json when they differ.
 */
function withConfigOverrides(tokenizerJson: JsonObject, config: JsonObject): JsonObject {
  const json: JsonObject = {
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    added_tokens: [],
    ...tokenizerJson,
  };
  const normalizer = json.normalizer as JsonObject | null;
  if (normalizer?.type !== "BertNormalizer") return json;
  const overridden = { ...normalizer };
  if (typeof config.do_lower_case === "boolean") overridden.lowercase = config.do_lower_case;
  if ("strip_accents" in config && (config.strip_accents === null || typeof config.strip_accents === "boolean")) {
    overridden.strip_accents = config.strip_accents;
  }
  return { ...json, normalizer: overridden };
}

/** A special token as tokenizer_config writes it: "[PAD]" or {"content": "[PAD]", ...}. */
function tokenText(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null && typeof (value as JsonObject).content === "string") {
    return (value as JsonObject).content as string;
  }
  return null;
}

/** Reads a JSON file that must hold an object; errors name the file. */
export function readJsonObject(file: string): JsonObject {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as Error).message}`);
  }
  return parseJsonObject(text, file);
}

function parseJsonObject(text: string, file: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${file} must hold a JSON object, got ${Array.isArray(value) ? "an array" : typeof value}`);
  }
  return value as JsonObject;
}
