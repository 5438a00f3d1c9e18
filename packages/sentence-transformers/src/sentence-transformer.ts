// SentenceTransformer: a stack of modules (Transformer -> Pooling -> ...) that embeds texts, with
// encode(), similarity, and save/load in sentence-transformers' folder format.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as torch from "@stts/torch";
import { nn, type Tensor } from "@stts/torch";
import type { EmbeddingModel, Features } from "./features.js";
import type { TokenizerInput } from "./models/tokenizer.js";
import { isHubId, snapshotDownload, type HubDownloadOptions } from "./hub/download.js";
import { generateModelCard } from "./model-card/generate.js";
import { createModelCardData, type ModelCardData } from "./model-card/model-card-data.js";
import { ConfigReader, writeJson } from "./modules/module-io.js";
import { loadModule, moduleTypeOf, type SentenceTransformerModule } from "./modules/module-registry.js";
import { Pooling } from "./modules/pooling.js";
import { Transformer } from "./modules/transformer.js";
import {
  EMBEDDING_PRECISIONS,
  quantizeEmbeddings,
  rowsToTensor,
  type EmbeddingPrecision,
} from "./util/quantization.js";
import { asMatrix, type EmbeddingsInput } from "./util/semantic-search.js";
import {
  cosSim,
  dotScore,
  euclideanSim,
  manhattanSim,
  pairwiseCosSim,
  pairwiseDotScore,
  pairwiseEuclideanSim,
  pairwiseManhattanSim,
  type SimilarityFunction,
} from "./util/similarity.js";

/** The similarity functions a model can use by name (the reference's SimilarityFunction values). */
export type SimilarityFnName = "cosine" | "dot" | "euclidean" | "manhattan";

/** Name -> [matrix form, pairwise form]. */
const SIMILARITY_FUNCTIONS: Record<SimilarityFnName, { matrix: SimilarityFunction; pairwise: SimilarityFunction }> = {
  cosine: { matrix: cosSim, pairwise: pairwiseCosSim },
  dot: { matrix: dotScore, pairwise: pairwiseDotScore },
  euclidean: { matrix: euclideanSim, pairwise: pairwiseEuclideanSim },
  manhattan: { matrix: manhattanSim, pairwise: pairwiseManhattanSim },
};

/** The accepted `similarityFnName` values. */
export const SIMILARITY_FN_NAMES = Object.keys(SIMILARITY_FUNCTIONS) as SimilarityFnName[];

/**
 * The versions config_sentence_transformers.json records: the sentence-transformers release whose folder
 * format this library writes, the transformers release whose config.json layout it writes, and the
 * libtorch it runs on.
 */
export const FORMAT_VERSIONS = { sentence_transformers: "5.1.2", transformers: "4.56.2" } as const;

/** Options of the SentenceTransformer constructor (and of `load`, where they override the folder's config). */
export interface SentenceTransformerOptions {
  /** Named prompts prepended to texts, e.g. { query: "query: " } (default { query: "", document: "" }). */
  prompts?: Record<string, string>;
  /** The prompt `encode` uses when given none (default null). */
  defaultPromptName?: string | null;
  /** The function `similarity` uses (default "cosine"). */
  similarityFnName?: SimilarityFnName | null;
  /** Keep only the first dimensions of sentence embeddings in `encode` (default null: all). */
  truncateDim?: number | null;
}

/** Options of `SentenceTransformer.load`. */
export interface SentenceTransformerLoadOptions extends SentenceTransformerOptions, HubDownloadOptions {
  /** Receives notes such as the mean-pooling fallback for plain Hugging Face folders (default console.warn). */
  log?: (message: string) => void;
}

/** What `encode` returns per sentence: one embedding, or per-token embeddings. */
export type OutputValue = "sentence_embedding" | "token_embeddings";

/** Options of `encode`. */
export interface EncodeOptions {
  /** Text prepended to every sentence (overrides promptName). */
  prompt?: string;
  /** A key of `prompts` (default: `defaultPromptName`). */
  promptName?: string;
  /** Sentences per forward pass (default 32). */
  batchSize?: number;
  /** Draw a progress bar on stderr when it is a terminal (default false). */
  showProgressBar?: boolean;
  /** "sentence_embedding" (default) or "token_embeddings" (each sentence's [tokens, hidden], padding removed). */
  outputValue?: OutputValue;
  /** "float32" (default), "int8", "uint8", "binary" or "ubinary" (see quantizeEmbeddings). */
  precision?: EmbeddingPrecision;
  /** "float32array": one typed array per sentence (default); "tensor": one [n, dim] tensor owned by the caller. */
  convertTo?: "float32array" | "tensor";
  /** L2-normalize each embedding (default false). */
  normalizeEmbeddings?: boolean;
  /** Keep only the first dimensions (default: the model's truncateDim). */
  truncateDim?: number | null;
}

type Float32Rows = EncodeOptions & {
  outputValue?: "sentence_embedding";
  precision?: "float32";
  convertTo?: "float32array";
};

/** Everything `encode` can return. */
export type EncodeOutput =
  | Float32Array
  | Int8Array
  | Uint8Array
  | Float32Array[]
  | Int8Array[]
  | Uint8Array[]
  | Float32Array[][]
  | Tensor
  | Tensor[];

/**
 * A sentence embedding model: a list of modules run in order (sentence-transformers' SentenceTransformer),
 * typically a Transformer (texts -> token embeddings), a Pooling (-> one vector per text), optionally Dense
 * and Normalize. Implements EmbeddingModel, so losses and the trainer take it directly.
 *
 * `save(folder)` / `SentenceTransformer.load(folderOrHubId)` use the reference's folder format: modules.json,
 * config_sentence_transformers.json, the first Transformer's files in the root folder, then one folder per
 * module ("1_Pooling", "2_Dense", "2_Normalize", ...). Python's `SentenceTransformer(folder)` loads what
 * `save` writes, and `load` reads folders written by Python (legacy module type names included); a plain
 * Hugging Face model folder loads as Transformer + mean Pooling.
 *
 * @example
 * const model = await SentenceTransformer.load("models/all-MiniLM-L6-v2");
 * const scores = model.similarity(model.encode(["A man is eating."]), model.encode(["Someone eats.", "A dog."])); // [1, 2]
 *
 * @param modules the stack, first module an input module (with `tokenize`)
 * @param options prompts ({ query: "", document: "" }), defaultPromptName (null), similarityFnName ("cosine"),
 *   truncateDim (null)
 */
export class SentenceTransformer extends nn.Module implements EmbeddingModel {
  readonly #stack: SentenceTransformerModule[];
  /** Named prompts; `encode({ promptName })`, `encodeQuery` and `encodeDocument` use them. */
  prompts: Record<string, string>;
  #defaultPromptName: string | null = null;
  #similarityFnName: SimilarityFnName | null = null;
  /** Keep only the first dimensions of sentence embeddings in `encode` (null: all). */
  truncateDim: number | null;
  /** What README.md says (the trainer fills it); null: a card with the model's own details only. */
  modelCardData: ModelCardData | null = null;

  constructor(modules: readonly SentenceTransformerModule[], options: SentenceTransformerOptions = {}) {
    super();
    if (modules.length === 0) throw new Error("SentenceTransformer: expected at least one module");
    this.#stack = [...modules];
    this.#stack.forEach((module, index) => this.registerModule(String(index), module));
    this.prompts = { ...(options.prompts ?? { query: "", document: "" }) };
    this.defaultPromptName = options.defaultPromptName ?? null;
    this.similarityFnName = options.similarityFnName ?? null;
    this.truncateDim = options.truncateDim ?? null;
  }

  // ---- the stack --------------------------------------------------------------------------------

  /** The modules, in order. */
  get moduleList(): readonly SentenceTransformerModule[] {
    return this.#stack;
  }

  /** The module at `index` (negative counts from the end). */
  at(index: number): SentenceTransformerModule {
    const module = this.#stack.at(index);
    if (module === undefined)
      throw new RangeError(`SentenceTransformer.at(${index}): the model has ${this.#stack.length} modules`);
    return module;
  }

  /** Runs every module in order: tokenized features in, features with `sentenceEmbedding` out. */
  override forward(features: Features): Features {
    return this.#stack.reduce((current, module) => module.forward(current), features);
  }

  /**
   * Runs the modules after the input module (Pooling, Dense, Normalize, ...) on features that already hold
   * `tokenEmbeddings`, e.g. an earlier layer's hidden states (AdaptiveLayerLoss).
   */
  forwardFromTokenEmbeddings(features: Features): Features {
    return this.#stack.slice(1).reduce((current, module) => module.forward(current), features);
  }

  /**
   * Whether `forward` also returns `allLayerEmbeddings` (every hidden state of the first module, a
   * Transformer); false for other input modules. AdaptiveLayerLoss sets it for its forward passes.
   */
  get outputHiddenStates(): boolean {
    const first = this.#stack[0];
    return first instanceof Transformer ? first.outputHiddenStates : false;
  }

  set outputHiddenStates(value: boolean) {
    const first = this.#stack[0]!;
    if (!(first instanceof Transformer)) {
      throw new Error(
        `SentenceTransformer: outputHiddenStates needs a Transformer as first module, got ${first.constructor.name}`,
      );
    }
    first.outputHiddenStates = value;
  }

  /** Tokenizes texts (or text pairs) with the first module. The caller owns the tensors. */
  tokenize(texts: readonly TokenizerInput[]): Features {
    const first = this.#stack[0]!;
    if (typeof first.tokenize !== "function") {
      throw new Error(
        `SentenceTransformer.tokenize: the first module (${first.constructor.name}) has no tokenize method`,
      );
    }
    return first.tokenize(texts);
  }

  /** The width of the sentence embeddings (at most truncateDim), or null when no module reports one. */
  getSentenceEmbeddingDimension(): number | null {
    let dimension: number | null = null;
    for (const module of [...this.#stack].reverse()) {
      if (typeof module.getSentenceEmbeddingDimension === "function") {
        dimension = module.getSentenceEmbeddingDimension();
        break;
      }
    }
    if (this.truncateDim !== null) return Math.min(dimension ?? Infinity, this.truncateDim);
    return dimension;
  }

  /** The first module's truncation length in tokens (null when unknown). */
  get maxSeqLength(): number | null {
    return this.#stack[0]!.maxSeqLength ?? null;
  }

  set maxSeqLength(value: number | null) {
    const first = this.#stack[0]!;
    if (!("maxSeqLength" in first))
      throw new Error(`SentenceTransformer: ${first.constructor.name} has no maxSeqLength`);
    first.maxSeqLength = value;
  }

  /** The device of the parameters ("cpu" when there are none). */
  get device(): string {
    return this.parameters()[0]?.device ?? "cpu";
  }

  // ---- prompts and similarity -------------------------------------------------------------------

  get defaultPromptName(): string | null {
    return this.#defaultPromptName;
  }

  set defaultPromptName(name: string | null) {
    if (name !== null && !(name in this.prompts)) {
      throw new Error(
        `SentenceTransformer: default prompt name '${name}' not found in the configured prompts (keys: ${Object.keys(this.prompts).join(", ") || "none"})`,
      );
    }
    this.#defaultPromptName = name;
  }

  /** The similarity `similarity()` uses: "cosine" unless set. */
  get similarityFnName(): SimilarityFnName {
    return this.#similarityFnName ?? "cosine";
  }

  set similarityFnName(name: SimilarityFnName | null) {
    if (name !== null && !SIMILARITY_FN_NAMES.includes(name)) {
      throw new Error(
        `SentenceTransformer: unknown similarityFnName '${String(name)}' (expected one of ${SIMILARITY_FN_NAMES.join(", ")})`,
      );
    }
    this.#similarityFnName = name;
  }

  /** The matrix similarity function of `similarityFnName`. */
  get similarityFn(): SimilarityFunction {
    return SIMILARITY_FUNCTIONS[this.similarityFnName].matrix;
  }

  /**
   * Scores every embedding of `a` against every one of `b` with `similarityFnName`: [n, m] (cosine and dot:
   * higher is closer; euclidean and manhattan: minus the distance). Accepts tensors or rows (what encode
   * returns); a single embedding counts as one row. The returned tensor belongs to the caller.
   */
  similarity(a: EmbeddingsInput | ArrayLike<number>, b: EmbeddingsInput | ArrayLike<number>): Tensor {
    const fn = SIMILARITY_FUNCTIONS[this.similarityFnName].matrix;
    return torch.scope(() => fn(asMatrix(asRows(a), "a"), asMatrix(asRows(b), "b")));
  }

  /** Scores embedding i of `a` against embedding i of `b`: [n]. The returned tensor belongs to the caller. */
  similarityPairwise(a: EmbeddingsInput | ArrayLike<number>, b: EmbeddingsInput | ArrayLike<number>): Tensor {
    const fn = SIMILARITY_FUNCTIONS[this.similarityFnName].pairwise;
    return torch.scope(() => fn(asMatrix(asRows(a), "a"), asMatrix(asRows(b), "b")));
  }

  // ---- encode -----------------------------------------------------------------------------------

  /**
   * Embeds sentences in eval mode without gradients (the previous mode is restored), in batches of
   * `batchSize` sorted by decreasing length (fewer padding tokens) and returned in the input order.
   * Every intermediate tensor is freed; a tensor returned with convertTo "tensor" belongs to the caller.
   * A single string gives a single embedding.
   */
  encode(sentences: string, options?: Float32Rows): Float32Array;
  encode(sentences: readonly string[], options?: Float32Rows): Float32Array[];
  encode(
    sentences: readonly string[],
    options: EncodeOptions & { outputValue: "token_embeddings"; convertTo: "tensor" },
  ): Tensor[];
  encode(
    sentences: readonly string[],
    options: EncodeOptions & { outputValue: "token_embeddings"; convertTo?: "float32array" },
  ): Float32Array[][];
  encode(
    sentences: string | readonly string[],
    options: EncodeOptions & { outputValue?: "sentence_embedding"; convertTo: "tensor" },
  ): Tensor;
  encode(sentences: string | readonly string[], options?: EncodeOptions): EncodeOutput;
  encode(sentences: string | readonly string[], options: EncodeOptions = {}): EncodeOutput {
    const single = typeof sentences === "string";
    const texts = single ? [sentences] : [...sentences];
    const settings = this.#encodeSettings(options);
    const wasTraining = this.training;
    this.eval();
    try {
      const output = torch.noGrad(() =>
        settings.outputValue === "token_embeddings"
          ? this.#encodeTokens(texts, settings)
          : this.#encodeSentences(texts, settings),
      );
      if (!single) return output;
      if (output instanceof torch.Tensor) {
        const row = output.select(0, 0);
        output.dispose();
        return row;
      }
      return output[0]!;
    } finally {
      if (wasTraining) this.train();
    }
  }

  /** `encode` with the "query" prompt when the model defines one (unless options give a prompt). */
  encodeQuery(sentences: readonly string[], options?: Float32Rows): Float32Array[];
  encodeQuery(
    sentences: readonly string[],
    options: EncodeOptions & { outputValue?: "sentence_embedding"; convertTo: "tensor" },
  ): Tensor;
  encodeQuery(sentences: readonly string[], options?: EncodeOptions): EncodeOutput;
  encodeQuery(sentences: readonly string[], options: EncodeOptions = {}): EncodeOutput {
    return this.encode(sentences, withDefaultPrompt(options, "query", this.prompts));
  }

  /** `encode` with the "document" prompt when the model defines one (unless options give a prompt). */
  encodeDocument(sentences: readonly string[], options?: Float32Rows): Float32Array[];
  encodeDocument(
    sentences: readonly string[],
    options: EncodeOptions & { outputValue?: "sentence_embedding"; convertTo: "tensor" },
  ): Tensor;
  encodeDocument(sentences: readonly string[], options?: EncodeOptions): EncodeOutput;
  encodeDocument(sentences: readonly string[], options: EncodeOptions = {}): EncodeOutput {
    return this.encode(sentences, withDefaultPrompt(options, "document", this.prompts));
  }

  #encodeSettings(options: EncodeOptions): EncodeSettings {
    const batchSize = options.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`encode: batchSize must be a positive integer, got ${batchSize}`);
    }
    const precision = options.precision ?? "float32";
    if (!EMBEDDING_PRECISIONS.includes(precision)) {
      throw new Error(
        `encode: precision '${precision}' is not supported (expected one of ${EMBEDDING_PRECISIONS.join(", ")})`,
      );
    }
    const outputValue = options.outputValue ?? "sentence_embedding";
    if (outputValue !== "sentence_embedding" && outputValue !== "token_embeddings") {
      throw new Error(
        `encode: outputValue must be "sentence_embedding" or "token_embeddings", got '${String(outputValue)}'`,
      );
    }
    if (outputValue === "token_embeddings" && precision !== "float32") {
      throw new Error(`encode: precision '${precision}' applies to sentence embeddings only, not token embeddings`);
    }
    const convertTo = options.convertTo ?? "float32array";
    if (convertTo !== "float32array" && convertTo !== "tensor") {
      throw new Error(`encode: convertTo must be "float32array" or "tensor", got '${String(convertTo)}'`);
    }
    const truncateDim = options.truncateDim === undefined ? this.truncateDim : options.truncateDim;
    if (truncateDim !== null && (!Number.isInteger(truncateDim) || truncateDim < 1)) {
      throw new RangeError(`encode: truncateDim must be a positive integer or null, got ${truncateDim}`);
    }
    return {
      batchSize,
      precision,
      outputValue,
      convertTo,
      truncateDim,
      normalize: options.normalizeEmbeddings ?? false,
      prompt: this.#resolvePrompt(options.prompt, options.promptName),
      showProgressBar: options.showProgressBar ?? false,
    };
  }

  /** The prompt text: `prompt`, else prompts[promptName], else the default prompt, else "". */
  #resolvePrompt(prompt: string | undefined, promptName: string | undefined): string {
    if (prompt !== undefined) return prompt;
    if (promptName !== undefined) {
      const text = this.prompts[promptName];
      if (text === undefined) {
        throw new Error(
          `encode: prompt name '${promptName}' not found in the configured prompts (keys: ${Object.keys(this.prompts).join(", ") || "none"})`,
        );
      }
      return text;
    }
    return this.#defaultPromptName === null ? "" : (this.prompts[this.#defaultPromptName] ?? "");
  }

  /** Runs `fn` on each batch (texts sorted by decreasing length), with the batch's tokenized, forwarded features. */
  #forEachBatch(texts: string[], settings: EncodeSettings, fn: (features: Features, indices: number[]) => void): void {
    const prompted = settings.prompt === "" ? texts : texts.map((text) => settings.prompt + text);
    const promptLength = settings.prompt === "" ? null : this.#promptLength(settings.prompt);
    // Longest first, as the reference's argsort of -len(text); ties keep the input order.
    const lengths = prompted.map(textLength);
    const order = prompted.map((_, i) => i).sort((i, j) => lengths[j]! - lengths[i]!);
    const device = this.device;
    const progress = new ProgressBar(Math.ceil(texts.length / settings.batchSize), settings.showProgressBar);
    try {
      for (let start = 0; start < order.length; start += settings.batchSize) {
        const indices = order.slice(start, start + settings.batchSize);
        torch.scope(() => {
          let features = this.tokenize(indices.map((i) => prompted[i]!));
          if (device !== "cpu") features = moveFeatures(features, device);
          if (promptLength !== null) features.promptLength = torch.tensor([promptLength], { dtype: "int64", device });
          fn(this.forward(features), indices);
        });
        progress.tick();
      }
    } finally {
      progress.done();
    }
  }

  /** The reference's prompt_length: the prompt's token count with special tokens, minus one. */
  #promptLength(prompt: string): number | null {
    return torch.scope(() => {
      const inputIds = this.tokenize([prompt]).inputIds;
      return inputIds === undefined || Array.isArray(inputIds) ? null : inputIds.shape[inputIds.ndim - 1]! - 1;
    });
  }

  #encodeSentences(texts: string[], settings: EncodeSettings): Float32Array[] | Int8Array[] | Uint8Array[] | Tensor {
    const rows: Float32Array[] = new Array<Float32Array>(texts.length);
    this.#forEachBatch(texts, settings, (features, indices) => {
      const value = features.sentenceEmbedding;
      if (value === undefined || Array.isArray(value)) {
        throw new Error(
          `encode: the model returned no sentenceEmbedding (features: ${Object.keys(features).join(", ")})`,
        );
      }
      let embeddings = value.detach(); // [batch, dim]
      if (settings.truncateDim !== null && settings.truncateDim < embeddings.shape[1]!) {
        embeddings = embeddings.narrow(1, 0, settings.truncateDim);
      }
      if (settings.normalize) embeddings = torch.functional.normalize(embeddings, 2, 1);
      const dim = embeddings.shape[1]!;
      const flat = embeddings.to("cpu").float().contiguous().toTypedArray() as Float32Array;
      indices.forEach((original, k) => (rows[original] = flat.slice(k * dim, (k + 1) * dim)));
    });
    if (settings.precision !== "float32") {
      const quantized = quantizeEmbeddings(rows, settings.precision);
      return settings.convertTo === "tensor"
        ? rowsToTensor(quantized, settings.precision === "int8" || settings.precision === "binary" ? "int8" : "uint8")
        : quantized;
    }
    if (settings.convertTo === "tensor") {
      if (rows.length === 0) return torch.zeros([0, this.getSentenceEmbeddingDimension() ?? 0]);
      return rowsToTensor(rows, "float32");
    }
    return rows;
  }

  #encodeTokens(texts: string[], settings: EncodeSettings): Tensor[] | Float32Array[][] {
    const perSentence: Tensor[] = new Array<Tensor>(texts.length);
    try {
      this.#forEachBatch(texts, settings, (features, indices) => {
        const tokens = features.tokenEmbeddings;
        const mask = features.attentionMask;
        if (tokens === undefined || Array.isArray(tokens)) {
          throw new Error(
            `encode: the model returned no tokenEmbeddings (features: ${Object.keys(features).join(", ")})`,
          );
        }
        const maskRows =
          mask === undefined || Array.isArray(mask) ? null : (mask.to("cpu").long().toTypedArray() as BigInt64Array);
        const seq = tokens.shape[1]!;
        indices.forEach((original, k) => {
          // As the reference: drop trailing padding (the last position whose mask is 1 ends the sentence).
          let last = seq - 1;
          while (maskRows !== null && last > 0 && maskRows[k * seq + last] === 0n) last -= 1;
          perSentence[original] = torch.keep(
            tokens
              .select(0, k)
              .narrow(0, 0, last + 1)
              .detach()
              .to("cpu")
              .float()
              .contiguous(),
          );
        });
      });
    } catch (error) {
      for (const tensor of perSentence) tensor?.dispose();
      throw error;
    }
    if (settings.convertTo === "tensor") return perSentence;
    return perSentence.map((tensor) => {
      const [length, hidden] = tensor.shape as [number, number];
      const flat = tensor.toTypedArray() as Float32Array;
      tensor.dispose();
      return Array.from({ length }, (_, i) => flat.slice(i * hidden, (i + 1) * hidden));
    });
  }

  // ---- save / load ------------------------------------------------------------------------------

  /**
   * Writes the model in sentence-transformers' folder format: config_sentence_transformers.json, modules.json,
   * the first module in the root folder when it is a Transformer (config.json, model.safetensors, tokenizer
   * files, sentence_bert_config.json), and "<idx>_<Class>" folders for the others. Everything is written to a
   * temporary folder first and then moved into place (one rename when `folder` is new; entry by entry,
   * modules.json last, when it exists, leaving files of other kinds there alone), so a failure never leaves a
   * half-written model. README.md is the model card of `modelCardData` (see generateModelCard).
   */
  save(folder: string): void {
    const target = path.resolve(folder);
    if (fs.existsSync(target) && !fs.statSync(target).isDirectory()) {
      throw new Error(`SentenceTransformer.save: ${target} exists and is not a folder`);
    }
    const parent = path.dirname(target);
    fs.mkdirSync(parent, { recursive: true });
    const temp = fs.mkdtempSync(path.join(parent, `.${path.basename(target)}.tmp-`));
    try {
      this.#writeFolder(temp);
      const card = generateModelCard(this, this.modelCardData ?? createModelCardData());
      fs.writeFileSync(path.join(temp, "README.md"), card);
      publishFolder(temp, target);
    } finally {
      fs.rmSync(temp, { recursive: true, force: true });
    }
  }

  /**
   * An independent copy: same modules, configuration and weights, its own parameters (the
   * reference's copy.deepcopy, used by ContrastiveTensionLoss). Made by a save to a temporary
   * folder and a load, so every module type copies exactly as it saves; keeps the training mode.
   */
  clone(): SentenceTransformer {
    const temp = fs.mkdtempSync(path.join(os.tmpdir(), "stts-clone-"));
    try {
      this.#writeFolder(temp);
      const copy = SentenceTransformer.loadFolder(temp, { truncateDim: this.truncateDim });
      return copy.train(this.training);
    } finally {
      fs.rmSync(temp, { recursive: true, force: true });
    }
  }

  #writeFolder(folder: string): void {
    const entries = this.#stack.map((module, idx) => {
      const type = moduleTypeOf(module);
      const modulePath = idx === 0 && type.saveInRoot === true ? "" : `${idx}_${type.className}`;
      const moduleFolder = path.join(folder, modulePath);
      fs.mkdirSync(moduleFolder, { recursive: true });
      type.save(module, moduleFolder);
      return { idx, name: String(idx), path: modulePath, type: type.typeName };
    });
    writeJson(path.join(folder, "config_sentence_transformers.json"), this.getConfigDict());
    writeJson(path.join(folder, "modules.json"), entries);
  }

  /** What config_sentence_transformers.json holds. */
  getConfigDict(): {
    model_type: "SentenceTransformer";
    __version__: { sentence_transformers: string; transformers: string; pytorch: string };
    prompts: Record<string, string>;
    default_prompt_name: string | null;
    similarity_fn_name: SimilarityFnName;
  } {
    return {
      model_type: "SentenceTransformer",
      __version__: { ...FORMAT_VERSIONS, pytorch: torch.buildInfo().version },
      prompts: { ...this.prompts },
      default_prompt_name: this.#defaultPromptName,
      similarity_fn_name: this.similarityFnName,
    };
  }

  /**
   * Loads a model from a local folder or a Hugging Face Hub id (downloaded into the Hub cache, see
   * snapshotDownload; HF_HUB_OFFLINE=1 reads the cache only). A folder with modules.json loads each
   * module by its type; a plain Hugging Face model folder (config.json, no modules.json) becomes
   * Transformer + mean Pooling, with a note to `options.log`. Options override the folder's
   * config_sentence_transformers.json. The model is returned in eval mode (as transformers'
   * from_pretrained does); call `train()` before training it.
   */
  static async load(
    modelNameOrPath: string,
    options: SentenceTransformerLoadOptions = {},
  ): Promise<SentenceTransformer> {
    if (fs.existsSync(modelNameOrPath)) return SentenceTransformer.loadFolder(modelNameOrPath, options);
    if (!isHubId(modelNameOrPath)) {
      throw new Error(
        `SentenceTransformer.load: '${modelNameOrPath}' is neither an existing folder nor a Hugging Face Hub id`,
      );
    }
    const folder = await snapshotDownload(modelNameOrPath, options);
    return SentenceTransformer.loadFolder(folder, options);
  }

  /** Loads a model from a local folder (synchronously); see `load`. */
  static loadFolder(folder: string, options: SentenceTransformerLoadOptions = {}): SentenceTransformer {
    if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) {
      throw new Error(`SentenceTransformer.load: ${folder} is not a folder`);
    }
    const modulesFile = path.join(folder, "modules.json");
    const modules = fs.existsSync(modulesFile)
      ? loadModules(folder, modulesFile)
      : loadPlainModel(folder, options.log ?? console.warn);
    try {
      const configFile = path.join(folder, "config_sentence_transformers.json");
      const config = fs.existsSync(configFile) ? ConfigReader.fromFile(configFile, "SentenceTransformer.load") : null;
      const similarity = config?.optionalString("similarity_fn_name") ?? null;
      if (similarity !== null && !(SIMILARITY_FN_NAMES as string[]).includes(similarity)) {
        throw config!.error("similarity_fn_name", `one of ${SIMILARITY_FN_NAMES.join(", ")}`, similarity);
      }
      const prompts = options.prompts ?? (config?.has("prompts") === true ? config.stringRecord("prompts") : undefined);
      const defaultPromptName = options.defaultPromptName ?? config?.optionalString("default_prompt_name") ?? null;
      if (defaultPromptName !== null && !(defaultPromptName in (prompts ?? { query: "", document: "" }))) {
        throw new Error(
          `SentenceTransformer.load: ${configFile}: default_prompt_name '${defaultPromptName}' is not a key of 'prompts'`,
        );
      }
      const model = new SentenceTransformer(modules, {
        prompts,
        defaultPromptName,
        similarityFnName: options.similarityFnName ?? (similarity as SimilarityFnName | null),
        truncateDim: options.truncateDim ?? null,
      });
      return model.eval();
    } catch (error) {
      for (const module of modules) module.dispose();
      throw error;
    }
  }
}

interface EncodeSettings {
  batchSize: number;
  precision: EmbeddingPrecision;
  outputValue: OutputValue;
  convertTo: "float32array" | "tensor";
  truncateDim: number | null;
  normalize: boolean;
  prompt: string;
  showProgressBar: boolean;
}

/** The modules listed in modules.json, each loaded from its path by its type. */
function loadModules(folder: string, modulesFile: string): SentenceTransformerModule[] {
  let entries: unknown;
  try {
    entries = JSON.parse(fs.readFileSync(modulesFile, "utf8"));
  } catch (error) {
    throw new Error(`SentenceTransformer.load: ${modulesFile} is not valid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new Error(`SentenceTransformer.load: ${modulesFile} must hold a non-empty array of modules`);
  }
  const modules: SentenceTransformerModule[] = [];
  try {
    entries.forEach((entry: unknown, index) => {
      const where = `SentenceTransformer.load: ${modulesFile}: entry ${index}`;
      if (typeof entry !== "object" || entry === null || Array.isArray(entry))
        throw new Error(`${where} must be an object`);
      const record = entry as Record<string, unknown>;
      for (const key of ["path", "type"]) {
        if (typeof record[key] !== "string")
          throw new Error(`${where}: '${key}' must be a string, got ${JSON.stringify(record[key]) ?? "nothing"}`);
      }
      const modulePath = record.path as string;
      const moduleFolder = path.resolve(folder, modulePath);
      if (moduleFolder !== path.resolve(folder) && !moduleFolder.startsWith(path.resolve(folder) + path.sep)) {
        throw new Error(`${where}: 'path' ${JSON.stringify(modulePath)} leaves the model folder`);
      }
      modules.push(loadModule(record.type as string, moduleFolder, `${where} (${String(record.type)})`));
    });
  } catch (error) {
    for (const module of modules) module.dispose();
    throw error;
  }
  return modules;
}

/** A Hugging Face model folder without modules.json: Transformer + mean Pooling, as the reference does. */
function loadPlainModel(folder: string, log: (message: string) => void): SentenceTransformerModule[] {
  if (!fs.existsSync(path.join(folder, "config.json"))) {
    throw new Error(
      `SentenceTransformer.load: ${folder} has neither modules.json (a sentence-transformers model) nor config.json (a Hugging Face model)`,
    );
  }
  log(`No sentence-transformers model found with name ${folder}. Creating a new one with mean pooling.`);
  const transformer = Transformer.load(folder);
  return [transformer, new Pooling(transformer.getWordEmbeddingDimension(), { poolingMode: "mean" })];
}

/**
 * Moves the contents of `source` (a finished model folder) to `target`: one rename when `target` does not
 * exist, else entry by entry (each replaced entry moved aside first, then deleted), modules.json last.
 */
function publishFolder(source: string, target: string): void {
  if (!fs.existsSync(target)) {
    fs.renameSync(source, target);
    return;
  }
  const last = ["config_sentence_transformers.json", "modules.json"];
  const names = fs
    .readdirSync(source)
    .sort((a, b) => Number(last.includes(a)) - Number(last.includes(b)) || last.indexOf(a) - last.indexOf(b));
  for (const name of names) {
    const destination = path.join(target, name);
    const aside = `${destination}.old-${process.pid}-${Date.now()}`;
    const replaced = fs.existsSync(destination);
    if (replaced) fs.renameSync(destination, aside);
    fs.renameSync(path.join(source, name), destination);
    if (replaced) fs.rmSync(aside, { recursive: true, force: true });
  }
}

/** A single embedding (a typed array or number[]) as one row; anything else unchanged. */
function asRows(x: EmbeddingsInput | ArrayLike<number>): EmbeddingsInput {
  if (x instanceof torch.Tensor) return x;
  const first = (x as ArrayLike<unknown>)[0];
  return typeof first === "number" ? [x as ArrayLike<number>] : (x as EmbeddingsInput);
}

/** Copies the tensors of features to `device` (inside the caller's scope). */
function moveFeatures(features: Features, device: string): Features {
  const moved: Features = {};
  for (const [key, value] of Object.entries(features)) {
    moved[key] = Array.isArray(value) ? value.map((t) => t.to(device)) : value?.to(device);
  }
  return moved;
}

/** Python's len() of a string: code points, not UTF-16 units. */
function textLength(text: string): number {
  return Array.from(text).length;
}

function withDefaultPrompt(options: EncodeOptions, name: string, prompts: Record<string, string>): EncodeOptions {
  if (options.prompt !== undefined || options.promptName !== undefined || !(name in prompts)) return options;
  return { ...options, promptName: name };
}

/** A progress bar drawn on stderr when it is a terminal; silent otherwise. */
class ProgressBar {
  readonly #total: number;
  readonly #enabled: boolean;
  #done = 0;

  constructor(total: number, requested: boolean) {
    this.#total = total;
    this.#enabled = requested && process.stderr.isTTY === true && total > 0;
    this.#draw();
  }

  tick(): void {
    this.#done += 1;
    this.#draw();
  }

  done(): void {
    if (this.#enabled) process.stderr.write("\n");
  }

  #draw(): void {
    if (!this.#enabled) return;
    const width = 30;
    const filled = Math.round((width * this.#done) / this.#total);
    const percent = Math.floor((100 * this.#done) / this.#total);
    process.stderr.write(
      `\rBatches: ${String(percent).padStart(3)}%|${"█".repeat(filled)}${" ".repeat(width - filled)}| ${this.#done}/${this.#total}`,
    );
  }
}
