// Pooling: token embeddings -> one sentence embedding (sentence-transformers' models.Pooling, v5.1.2;
// reads v6 configs too).
import * as fs from "node:fs";
import * as path from "node:path";
import * as torch from "@stts/torch";
import { nn, type Tensor } from "@stts/torch";
import { requireFeature, type Features } from "../features.js";

/** A pooling strategy; several can be combined (their outputs are concatenated). */
export type PoolingMode = "cls" | "lasttoken" | "max" | "mean" | "mean_sqrt_len_tokens" | "weightedmean";

/** The valid `pooling_mode` strings, as the reference lists them. */
export const POOLING_MODES: readonly PoolingMode[] = [
  "cls",
  "lasttoken",
  "max",
  "mean",
  "mean_sqrt_len_tokens",
  "weightedmean",
];

/** Options of `Pooling` (the reference's keyword arguments in camelCase). */
export interface PoolingOptions {
  /**
   * One mode by name, or several (their outputs concatenated in the order listed, as sentence-transformers
   * v6's `pooling_mode` tuple); when given it overrides every poolingMode* flag (default null).
   */
  poolingMode?: PoolingMode | readonly PoolingMode[] | null;
  /** The first token's embedding (default false). */
  poolingModeClsToken?: boolean;
  /** Per-dimension max over the real tokens (default false). */
  poolingModeMaxTokens?: boolean;
  /** Mean over the real tokens (default true). */
  poolingModeMeanTokens?: boolean;
  /** Sum over the real tokens divided by sqrt(their count) (default false). */
  poolingModeMeanSqrtLenTokens?: boolean;
  /** Mean weighted by position 1..seq (SGPT) (default false). */
  poolingModeWeightedmeanTokens?: boolean;
  /** The last real token's embedding (default false). */
  poolingModeLasttoken?: boolean;
  /** Pool over prompt tokens too (default true); false drops the first `features.promptLength` tokens. */
  includePrompt?: boolean;
}

/** The keys sentence-transformers writes to 1_Pooling/config.json, in its order. */
export interface PoolingConfig {
  word_embedding_dimension: number;
  pooling_mode_cls_token: boolean;
  pooling_mode_mean_tokens: boolean;
  pooling_mode_max_tokens: boolean;
  pooling_mode_mean_sqrt_len_tokens: boolean;
  pooling_mode_weightedmean_tokens: boolean;
  pooling_mode_lasttoken: boolean;
  include_prompt: boolean;
}

/**
 * What sentence-transformers v6 writes to 1_Pooling/config.json. Pooling writes this form only for modes
 * listed in an order other than the reference's fixed one (cls, max, mean, ...), which the v5 flags cannot
 * express; v5 cannot load it.
 */
export interface PoolingConfigV6 {
  embedding_dimension: number;
  pooling_mode: PoolingMode | PoolingMode[];
  include_prompt: boolean;
}

/** The order in which the reference (v5) concatenates the enabled modes. */
const CANONICAL_ORDER: readonly PoolingMode[] = [
  "cls",
  "max",
  "mean",
  "mean_sqrt_len_tokens",
  "weightedmean",
  "lasttoken",
];

/** config.json key -> option name, for the boolean settings. */
const FLAG_KEYS = {
  pooling_mode_cls_token: "poolingModeClsToken",
  pooling_mode_mean_tokens: "poolingModeMeanTokens",
  pooling_mode_max_tokens: "poolingModeMaxTokens",
  pooling_mode_mean_sqrt_len_tokens: "poolingModeMeanSqrtLenTokens",
  pooling_mode_weightedmean_tokens: "poolingModeWeightedmeanTokens",
  pooling_mode_lasttoken: "poolingModeLasttoken",
  include_prompt: "includePrompt",
} as const satisfies Record<string, keyof PoolingOptions>;

// "embedding_dimension" is sentence-transformers v6's name for word_embedding_dimension.
const CONFIG_KEYS = ["word_embedding_dimension", "embedding_dimension", "pooling_mode", ...Object.keys(FLAG_KEYS)];

function checkMode(mode: unknown, where: string): PoolingMode {
  const name = typeof mode === "string" ? mode.toLowerCase() : mode;
  if (typeof name !== "string" || !(POOLING_MODES as readonly string[]).includes(name)) {
    throw new RangeError(
      `${where}: invalid pooling mode ${JSON.stringify(mode)}; valid pooling modes are: ${POOLING_MODES.join(", ")}`,
    );
  }
  return name as PoolingMode;
}

/** One mode or a non-empty list of distinct modes (v6 writes a list for combined modes). */
function checkModes(modes: unknown, where: string): PoolingMode[] {
  if (!Array.isArray(modes)) return [checkMode(modes, where)];
  if (modes.length === 0) throw new RangeError(`${where}: expected at least one pooling mode, got []`);
  const checked = modes.map((mode: unknown) => checkMode(mode, where));
  const repeated = checked.find((mode, i) => checked.indexOf(mode) !== i);
  if (repeated !== undefined) throw new RangeError(`${where}: pooling mode '${repeated}' is listed twice`);
  return checked;
}

/** A tensor feature other than the required ones, or undefined. */
function optionalFeature(features: Features, key: string): Tensor | undefined {
  const value = features[key];
  return value === undefined || Array.isArray(value) ? undefined : value;
}

/**
 * Turns token embeddings into a fixed-size sentence embedding (sentence-transformers' Pooling). Reads
 * `tokenEmbeddings` [batch, seq, dim] and `attentionMask` [batch, seq] (all ones when absent or of another
 * length) and adds `sentenceEmbedding` [batch, k · dim], the enabled modes concatenated in the reference's
 * order: cls, max, mean, mean_sqrt_len_tokens, weightedmean, lasttoken (for a `poolingMode` list: the list's
 * order).
 *   cls: h[:, 0] (or `features.clsTokenEmbeddings`); max: max over seq after padded positions are set to -1e9;
 *   mean: Σ(h·mask) / max(Σmask, 1e-9); mean_sqrt_len_tokens: Σ(h·mask) / sqrt(max(Σmask, 1e-9));
 *   weightedmean: the same with mask·position (1..seq); lasttoken: h at the last position whose mask is 1
 *   (zeros for an all-padding row). `features.tokenWeightsSum` [batch], when present, replaces Σmask.
 * With includePrompt false and a `features.promptLength` tensor (its first element is the prompt's token
 * count, as the reference's prompt_length), the first promptLength positions of every row are masked out.
 * Unlike the reference, the input features are never modified in place (the reference writes -1e9 into
 * token_embeddings for max pooling and zeros into attention_mask for the prompt).
 *
 * @example
 * const pooling = new Pooling(384, { poolingMode: "mean" });
 * const { sentenceEmbedding } = pooling.forward({ tokenEmbeddings, attentionMask }); // [batch, 384]
 *
 * @param wordEmbeddingDimension the token embeddings' size (dim)
 * @param options poolingMode (a mode or a list of modes; default null) or the poolingMode* flags (default: mean
 *   only), includePrompt
 *   (default true)
 */
export class Pooling extends nn.Module {
  readonly wordEmbeddingDimension: number;
  readonly poolingModeClsToken: boolean;
  readonly poolingModeMaxTokens: boolean;
  readonly poolingModeMeanTokens: boolean;
  readonly poolingModeMeanSqrtLenTokens: boolean;
  readonly poolingModeWeightedmeanTokens: boolean;
  readonly poolingModeLasttoken: boolean;
  readonly includePrompt: boolean;
  /** The sentence embedding's size: (number of enabled modes) · wordEmbeddingDimension. */
  readonly poolingOutputDimension: number;
  /** The enabled modes in the order their outputs are concatenated. */
  readonly #order: readonly PoolingMode[];

  constructor(wordEmbeddingDimension: number, options: PoolingOptions = {}) {
    super();
    if (!Number.isInteger(wordEmbeddingDimension) || wordEmbeddingDimension <= 0) {
      throw new RangeError(`Pooling: wordEmbeddingDimension must be a positive integer, got ${wordEmbeddingDimension}`);
    }
    const listed = options.poolingMode == null ? null : checkModes(options.poolingMode, "Pooling");
    const flag = (name: PoolingMode, given: boolean | undefined, byDefault: boolean) =>
      listed !== null ? listed.includes(name) : (given ?? byDefault);
    this.wordEmbeddingDimension = wordEmbeddingDimension;
    this.poolingModeClsToken = flag("cls", options.poolingModeClsToken, false);
    this.poolingModeMaxTokens = flag("max", options.poolingModeMaxTokens, false);
    this.poolingModeMeanTokens = flag("mean", options.poolingModeMeanTokens, true);
    this.poolingModeMeanSqrtLenTokens = flag("mean_sqrt_len_tokens", options.poolingModeMeanSqrtLenTokens, false);
    this.poolingModeWeightedmeanTokens = flag("weightedmean", options.poolingModeWeightedmeanTokens, false);
    this.poolingModeLasttoken = flag("lasttoken", options.poolingModeLasttoken, false);
    this.includePrompt = options.includePrompt ?? true;
    const enabledFlags: [boolean, PoolingMode][] = [
      [this.poolingModeClsToken, "cls"],
      [this.poolingModeMaxTokens, "max"],
      [this.poolingModeMeanTokens, "mean"],
      [this.poolingModeMeanSqrtLenTokens, "mean_sqrt_len_tokens"],
      [this.poolingModeWeightedmeanTokens, "weightedmean"],
      [this.poolingModeLasttoken, "lasttoken"],
    ];
    this.#order = listed ?? enabledFlags.filter(([on]) => on).map(([, mode]) => mode);
    const enabled = this.#order.length;
    if (enabled === 0) {
      throw new RangeError(`Pooling: no pooling mode is enabled; enable at least one of ${POOLING_MODES.join(", ")}`);
    }
    this.poolingOutputDimension = enabled * wordEmbeddingDimension;
  }

  /**
   * A Pooling from 1_Pooling/config.json's contents: the flags the reference (v5) writes (pooling_mode_mean_tokens:
   * true, ...) or `pooling_mode: "mean"` / `["cls", "mean"]` (which overrides the flags), plus
   * word_embedding_dimension (v6: embedding_dimension) and include_prompt. Unknown keys and values of the wrong
   * type throw, naming the key and `source`.
   */
  static fromConfig(json: unknown, source?: string): Pooling {
    const where = source === undefined ? "Pooling config" : `Pooling config (${source})`;
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
      throw new TypeError(`${where}: expected a JSON object`);
    }
    const record = json as Record<string, unknown>;
    const unknown = Object.keys(record).filter((key) => !CONFIG_KEYS.includes(key));
    if (unknown.length > 0) {
      throw new TypeError(`${where}: unknown key(s) ${unknown.join(", ")}; valid keys are ${CONFIG_KEYS.join(", ")}`);
    }
    // As v6's loader: embedding_dimension wins when both names are present.
    const dimensionKey = record.embedding_dimension !== undefined ? "embedding_dimension" : "word_embedding_dimension";
    const dimension = record[dimensionKey];
    if (!Number.isInteger(dimension) || (dimension as number) <= 0) {
      throw new TypeError(`${where}: '${dimensionKey}' must be a positive integer, got ${JSON.stringify(dimension)}`);
    }
    const options: PoolingOptions = {};
    for (const [key, name] of Object.entries(FLAG_KEYS)) {
      const value = record[key];
      if (value === undefined) continue;
      if (typeof value !== "boolean")
        throw new TypeError(`${where}: '${key}' must be true or false, got ${JSON.stringify(value)}`);
      options[name] = value;
    }
    if (record.pooling_mode != null) options.poolingMode = checkModes(record.pooling_mode, `${where}: 'pooling_mode'`);
    return new Pooling(dimension as number, options);
  }

  /** Reads folder/config.json (a sentence-transformers 1_Pooling folder). */
  static load(folder: string): Pooling {
    const file = path.join(folder, "config.json");
    if (!fs.existsSync(file)) throw new Error(`Pooling.load: ${folder} has no config.json`);
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (error) {
      throw new Error(`Pooling.load: ${file} is not valid JSON (${(error as Error).message})`);
    }
    return Pooling.fromConfig(json, file);
  }

  /**
   * The config sentence-transformers v5 writes to 1_Pooling/config.json (same keys, same order), which every
   * version loads; for modes listed in another order than the reference's, v6's form (see PoolingConfigV6).
   */
  toConfig(): PoolingConfig | PoolingConfigV6 {
    const modes = this.modes();
    const canonical = CANONICAL_ORDER.filter((mode) => modes.includes(mode));
    if (canonical.some((mode, i) => modes[i] !== mode)) {
      return {
        embedding_dimension: this.wordEmbeddingDimension,
        pooling_mode: modes,
        include_prompt: this.includePrompt,
      };
    }
    return {
      word_embedding_dimension: this.wordEmbeddingDimension,
      pooling_mode_cls_token: this.poolingModeClsToken,
      pooling_mode_mean_tokens: this.poolingModeMeanTokens,
      pooling_mode_max_tokens: this.poolingModeMaxTokens,
      pooling_mode_mean_sqrt_len_tokens: this.poolingModeMeanSqrtLenTokens,
      pooling_mode_weightedmean_tokens: this.poolingModeWeightedmeanTokens,
      pooling_mode_lasttoken: this.poolingModeLasttoken,
      include_prompt: this.includePrompt,
    };
  }

  /** Writes folder/config.json as the reference does (json.dump with indent=4: no final newline). */
  save(folder: string): void {
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, "config.json"), JSON.stringify(this.toConfig(), null, 4));
  }

  /** The enabled modes joined by "+", in the reference's order for this string: cls, mean, max, ... ("mean"). */
  getPoolingModeStr(): string {
    const order: [boolean, PoolingMode][] = [
      [this.poolingModeClsToken, "cls"],
      [this.poolingModeMeanTokens, "mean"],
      [this.poolingModeMaxTokens, "max"],
      [this.poolingModeMeanSqrtLenTokens, "mean_sqrt_len_tokens"],
      [this.poolingModeWeightedmeanTokens, "weightedmean"],
      [this.poolingModeLasttoken, "lasttoken"],
    ];
    return order
      .filter(([on]) => on)
      .map(([, mode]) => mode)
      .join("+");
  }

  getSentenceEmbeddingDimension(): number {
    return this.poolingOutputDimension;
  }

  /** The enabled modes in the order their outputs are concatenated. */
  modes(): PoolingMode[] {
    return [...this.#order];
  }

  /** features.tokenEmbeddings [batch, seq, dim], attentionMask [batch, seq] -> features + sentenceEmbedding [batch, k·dim] */
  override forward(features: Features): Features {
    const tokens = requireFeature(features, "tokenEmbeddings", "Pooling");
    if (tokens.ndim !== 3)
      throw new RangeError(`Pooling: tokenEmbeddings must be [batch, seq, dim], got [${tokens.shape.join(", ")}]`);
    const sentenceEmbedding = torch.scope(() => {
      const mask = this.poolingMask(features, tokens).unsqueeze(-1).expandAs(tokens); // [batch, seq, dim]
      const parts = this.modes().map((mode) => this.pool(mode, tokens, mask, features)); // each [batch, dim]
      return parts.length === 1 ? parts[0]! : torch.cat(parts, 1);
    });
    return { ...features, sentenceEmbedding };
  }

  /** The attention mask as the embeddings' dtype, [batch, seq], prompt tokens zeroed when includePrompt is false. */
  private poolingMask(features: Features, tokens: Tensor): Tensor {
    const [batch, seq] = tokens.shape as [number, number];
    const given = optionalFeature(features, "attentionMask");
    let mask =
      given !== undefined && given.size(-1) === seq
        ? given.to(tokens.dtype)
        : torch.ones([batch, seq], { dtype: tokens.dtype, device: tokens.device });
    const promptLength = optionalFeature(features, "promptLength");
    if (!this.includePrompt && promptLength !== undefined) {
      const length = Number(promptLength.flatten().toTypedArray()[0] ?? 0);
      const positions = torch.arange(0, seq, 1, { dtype: "int64", device: tokens.device }); // [seq]
      mask = mask.mul(positions.ge(length).to(tokens.dtype)); // [batch, seq]
    }
    return mask;
  }

  /** One mode's output: tokens, mask [batch, seq, dim] -> [batch, dim] */
  private pool(mode: PoolingMode, tokens: Tensor, mask: Tensor, features: Features): Tensor {
    const count = (weights: Tensor) => {
      const tokenWeightsSum = optionalFeature(features, "tokenWeightsSum"); // [batch], from a WordWeights module
      const total =
        tokenWeightsSum !== undefined
          ? tokenWeightsSum.unsqueeze(-1).expand([tokens.size(0), tokens.size(2)])
          : weights.sum(1);
      return total.clampMin(1e-9); // [batch, dim]
    };
    switch (mode) {
      case "cls":
        return optionalFeature(features, "clsTokenEmbeddings") ?? tokens.select(1, 0);
      case "max":
        return tokens.maskedFill(mask.eq(0), -1e9).max(1).values;
      case "mean":
        return tokens.mul(mask).sum(1).div(count(mask));
      case "mean_sqrt_len_tokens":
        return tokens.mul(mask).sum(1).div(count(mask).sqrt());
      case "weightedmean": {
        const seq = tokens.size(1);
        const positions = torch.arange(1, seq + 1, 1, { dtype: tokens.dtype, device: tokens.device }).view([1, seq, 1]);
        const weights = mask.mul(positions); // [batch, seq, dim]
        return tokens.mul(weights).sum(1).div(count(weights));
      }
      case "lasttoken": {
        // The last position whose mask is set (0 for an all-padding row, whose output is then zeros).
        const [batch, seq, dim] = tokens.shape as [number, number, number];
        const positions = torch.arange(0, seq, 1, { dtype: "int64", device: tokens.device }); // [seq]
        const last = mask.select(2, 0).ne(0).long().mul(positions).amax(1); // [batch]
        const index = last.view([batch, 1, 1]).expand([batch, 1, dim]);
        return tokens.mul(mask).gather(1, index).squeeze(1);
      }
    }
  }
}
