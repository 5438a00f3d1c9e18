// BertConfig: config.json of a BERT checkpoint, read into camelCase fields with transformers' defaults.

/** The activations BERT's feed-forward block and LM head may use (config.json `hidden_act`). */
export type BertHiddenAct = "gelu" | "gelu_new" | "gelu_pytorch_tanh" | "relu";

/** The supported `hidden_act` values, in the order error messages list them. */
export const BERT_HIDDEN_ACTS: readonly BertHiddenAct[] = ["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"];

/** BertConfig's fields; every one is optional when building a config (defaults as transformers' BertConfig). */
export interface BertConfigOptions {
  /** Default 30522. */
  vocabSize?: number;
  /** Default 768; a multiple of numAttentionHeads. */
  hiddenSize?: number;
  /** Default 12. */
  numHiddenLayers?: number;
  /** Default 12. */
  numAttentionHeads?: number;
  /** Default 3072. */
  intermediateSize?: number;
  /** Default "gelu" (the exact erf GELU). */
  hiddenAct?: BertHiddenAct;
  /** Default 0.1. */
  hiddenDropoutProb?: number;
  /** Default 0.1. */
  attentionProbsDropoutProb?: number;
  /** Default 512. */
  maxPositionEmbeddings?: number;
  /** Default 2. */
  typeVocabSize?: number;
  /** Default 0.02 (std of the normal initialiser; stored, not used for loading). */
  initializerRange?: number;
  /** Default 1e-12. */
  layerNormEps?: number;
  /** Default 0; the word-embedding row that gets no gradient. null: none. */
  padTokenId?: number | null;
  /** Default "absolute" (the only one supported). */
  positionEmbeddingType?: "absolute";
  /** Default true (stored, not used: there is no key/value cache). */
  useCache?: boolean;
  /** Default null. */
  classifierDropout?: number | null;
  /** Causal self-attention (default false). */
  isDecoder?: boolean;
  /** Cross-attention over encoder states in every layer; needs isDecoder (default false). */
  addCrossAttention?: boolean;
  /** LM heads use the word embeddings as output weights (default true). */
  tieWordEmbeddings?: boolean;
}

type Kind = "positiveInt" | "nonNegativeInt" | "probability" | "positiveNumber" | "nonNegativeNumber" | "boolean";

interface FieldSpec {
  key: string;
  kind: Kind | "hiddenAct" | "positionEmbeddingType" | "tokenId" | "optionalProbability";
  default: unknown;
  /** Written by toJson() only when it differs from the default (PretrainedConfig's generic fields). */
  generic?: boolean;
}

const FIELDS: Record<keyof BertConfigOptions, FieldSpec> = {
  vocabSize: { key: "vocab_size", kind: "positiveInt", default: 30522 },
  hiddenSize: { key: "hidden_size", kind: "positiveInt", default: 768 },
  numHiddenLayers: { key: "num_hidden_layers", kind: "nonNegativeInt", default: 12 },
  numAttentionHeads: { key: "num_attention_heads", kind: "positiveInt", default: 12 },
  intermediateSize: { key: "intermediate_size", kind: "positiveInt", default: 3072 },
  hiddenAct: { key: "hidden_act", kind: "hiddenAct", default: "gelu" },
  hiddenDropoutProb: { key: "hidden_dropout_prob", kind: "probability", default: 0.1 },
  attentionProbsDropoutProb: { key: "attention_probs_dropout_prob", kind: "probability", default: 0.1 },
  maxPositionEmbeddings: { key: "max_position_embeddings", kind: "positiveInt", default: 512 },
  typeVocabSize: { key: "type_vocab_size", kind: "positiveInt", default: 2 },
  initializerRange: { key: "initializer_range", kind: "nonNegativeNumber", default: 0.02 },
  layerNormEps: { key: "layer_norm_eps", kind: "positiveNumber", default: 1e-12 },
  padTokenId: { key: "pad_token_id", kind: "tokenId", default: 0 },
  positionEmbeddingType: { key: "position_embedding_type", kind: "positionEmbeddingType", default: "absolute" },
  useCache: { key: "use_cache", kind: "boolean", default: true },
  classifierDropout: { key: "classifier_dropout", kind: "optionalProbability", default: null },
  isDecoder: { key: "is_decoder", kind: "boolean", default: false, generic: true },
  addCrossAttention: { key: "add_cross_attention", kind: "boolean", default: false, generic: true },
  tieWordEmbeddings: { key: "tie_word_embeddings", kind: "boolean", default: true, generic: true },
};

const EXPECTED: Record<FieldSpec["kind"], string> = {
  positiveInt: "a positive integer",
  nonNegativeInt: "a non-negative integer",
  probability: "a number in [0, 1]",
  optionalProbability: "null or a number in [0, 1]",
  positiveNumber: "a positive number",
  nonNegativeNumber: "a non-negative number",
  boolean: "true or false",
  hiddenAct: `one of ${BERT_HIDDEN_ACTS.map((a) => `"${a}"`).join(", ")}`,
  positionEmbeddingType: `"absolute" (relative_key and relative_key_query are not supported)`,
  tokenId: "null or a non-negative integer",
};

function isValid(kind: FieldSpec["kind"], value: unknown): boolean {
  const isNumber = typeof value === "number" && Number.isFinite(value);
  switch (kind) {
    case "positiveInt":
      return Number.isInteger(value) && (value as number) > 0;
    case "nonNegativeInt":
      return Number.isInteger(value) && (value as number) >= 0;
    case "probability":
      return isNumber && value >= 0 && value <= 1;
    case "optionalProbability":
      return value === null || (isNumber && value >= 0 && value <= 1);
    case "positiveNumber":
      return isNumber && value > 0;
    case "nonNegativeNumber":
      return isNumber && value >= 0;
    case "boolean":
      return typeof value === "boolean";
    case "hiddenAct":
      return typeof value === "string" && (BERT_HIDDEN_ACTS as readonly string[]).includes(value);
    case "positionEmbeddingType":
      return value === "absolute";
    case "tokenId":
      return value === null || (Number.isInteger(value) && (value as number) >= 0);
  }
}

function describe(value: unknown): string {
  if (typeof value === "string") return `"${value}" (a string)`;
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? "an array" : "an object";
}

/**
 * The configuration of a BERT model (transformers' BertConfig), with camelCase fields. Read it from
 * config.json with `BertConfig.fromJson` (fields missing there take transformers' defaults; unknown fields
 * are kept and written back by `toJson`), or build one in code.
 *
 * @example
 * const config = BertConfig.fromJson(JSON.parse(fs.readFileSync("model/config.json", "utf8")), "model/config.json");
 * const small = new BertConfig({ vocabSize: 1000, hiddenSize: 64, numHiddenLayers: 2, numAttentionHeads: 4 });
 *
 * @param options any BertConfigOptions field (defaults: those of transformers' BertConfig, listed there)
 * @param source where the values came from (a file path), named in errors
 */
export class BertConfig {
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly numHiddenLayers: number;
  readonly numAttentionHeads: number;
  readonly intermediateSize: number;
  readonly hiddenAct: BertHiddenAct;
  readonly hiddenDropoutProb: number;
  readonly attentionProbsDropoutProb: number;
  readonly maxPositionEmbeddings: number;
  readonly typeVocabSize: number;
  readonly initializerRange: number;
  readonly layerNormEps: number;
  readonly padTokenId: number | null;
  readonly positionEmbeddingType: "absolute";
  readonly useCache: boolean;
  readonly classifierDropout: number | null;
  readonly isDecoder: boolean;
  readonly addCrossAttention: boolean;
  readonly tieWordEmbeddings: boolean;
  /** config.json fields BertConfig does not interpret (model_type, architectures, transformers_version, ...). */
  readonly extra: Readonly<Record<string, unknown>>;

  constructor(options: BertConfigOptions = {}, source?: string, extra: Record<string, unknown> = {}) {
    const where = source === undefined ? "BertConfig" : `BertConfig (${source})`;
    const values = new Map<string, unknown>();
    for (const [name, spec] of Object.entries(FIELDS) as [keyof BertConfigOptions, FieldSpec][]) {
      const given = options[name];
      const value = given === undefined ? spec.default : given;
      if (!isValid(spec.kind, value)) {
        throw new TypeError(`${where}: '${spec.key}' (${name}) must be ${EXPECTED[spec.kind]}, got ${describe(value)}`);
      }
      values.set(name, value);
    }
    const get = <T>(name: keyof BertConfigOptions): T => values.get(name) as T;
    this.vocabSize = get("vocabSize");
    this.hiddenSize = get("hiddenSize");
    this.numHiddenLayers = get("numHiddenLayers");
    this.numAttentionHeads = get("numAttentionHeads");
    this.intermediateSize = get("intermediateSize");
    this.hiddenAct = get("hiddenAct");
    this.hiddenDropoutProb = get("hiddenDropoutProb");
    this.attentionProbsDropoutProb = get("attentionProbsDropoutProb");
    this.maxPositionEmbeddings = get("maxPositionEmbeddings");
    this.typeVocabSize = get("typeVocabSize");
    this.initializerRange = get("initializerRange");
    this.layerNormEps = get("layerNormEps");
    this.padTokenId = get("padTokenId");
    this.positionEmbeddingType = get("positionEmbeddingType");
    this.useCache = get("useCache");
    this.classifierDropout = get("classifierDropout");
    this.isDecoder = get("isDecoder");
    this.addCrossAttention = get("addCrossAttention");
    this.tieWordEmbeddings = get("tieWordEmbeddings");
    this.extra = { ...extra };

    if (this.hiddenSize % this.numAttentionHeads !== 0) {
      throw new RangeError(
        `${where}: 'hidden_size' (${this.hiddenSize}) must be a multiple of 'num_attention_heads' (${this.numAttentionHeads})`,
      );
    }
    if (this.padTokenId !== null && this.padTokenId >= this.vocabSize) {
      throw new RangeError(
        `${where}: 'pad_token_id' (${this.padTokenId}) must be below 'vocab_size' (${this.vocabSize})`,
      );
    }
    if (this.addCrossAttention && !this.isDecoder) {
      throw new RangeError(
        `${where}: 'add_cross_attention' is true but 'is_decoder' is false; cross-attention needs a decoder`,
      );
    }
  }

  /** Size of one attention head: hiddenSize / numAttentionHeads. */
  get attentionHeadSize(): number {
    return this.hiddenSize / this.numAttentionHeads;
  }

  /**
   * Reads config.json's contents (snake_case keys). Missing fields take transformers' defaults; a field of the
   * wrong type throws an error naming the field and `source`.
   */
  static fromJson(json: unknown, source?: string): BertConfig {
    const where = source === undefined ? "BertConfig" : `BertConfig (${source})`;
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
      throw new TypeError(`${where}: expected a JSON object, got ${describe(json)}`);
    }
    const record = json as Record<string, unknown>;
    const options: Record<string, unknown> = {};
    const known = new Set<string>();
    for (const [name, spec] of Object.entries(FIELDS)) {
      known.add(spec.key);
      if (spec.key in record) options[name] = record[spec.key];
    }
    const extra = Object.fromEntries(Object.entries(record).filter(([key]) => !known.has(key)));
    return new BertConfig(options as BertConfigOptions, source, extra);
  }

  /** The options this config was built from (every field), e.g. to derive a changed copy. */
  toOptions(): Required<BertConfigOptions> {
    const out: Record<string, unknown> = {};
    for (const name of Object.keys(FIELDS)) out[name] = this[name as keyof BertConfigOptions];
    return out as Required<BertConfigOptions>;
  }

  /**
   * config.json's contents: the unknown fields kept from the source, `model_type` "bert", every BertConfig field,
   * and the generic fields (is_decoder, add_cross_attention, tie_word_embeddings) only when not at their default,
   * as transformers' save_pretrained writes them; keys sorted.
   */
  toJson(): Record<string, unknown> {
    const out: Record<string, unknown> = { ...this.extra, model_type: "bert" };
    for (const [name, spec] of Object.entries(FIELDS)) {
      const value = this[name as keyof BertConfigOptions];
      if (spec.generic === true && value === spec.default) continue;
      out[spec.key] = value;
    }
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}
