// The configuration file of `stts train` (YAML or JSON): parsed and validated key by key, so a typo,
// an unknown loss or a wrong type stops before anything loads, with an error naming the file and
// the key path ("config.yaml: losses.stsb.name: unknown loss 'CoSentLoss'; did you mean 'CoSENTLoss'?").
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { resolveTrainingArguments, TrainingArgumentsError, type TrainingArguments } from "../training/arguments.js";

/** A problem with the configuration file: the message starts with "<file>: <key path>: ". */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

// ---- the validated configuration ------------------------------------------------------------------

/** Where the model comes from. */
export type ModelSpec =
  | { kind: "pretrained"; model: string }
  | {
      kind: "architecture";
      type: string;
      config: Record<string, unknown>;
      tokenizer: string;
      maxSeqLength: number | null;
      pooling: string;
    }
  | { kind: "static"; tokenizer: string; embeddingDim: number };

/** A split of a Hugging Face Hub dataset, read from the Hub cache or downloaded into it. */
export interface HubDatasetRef {
  /** "org/name" */
  id: string;
  /** Default "train". */
  split: string;
  /** Default "main". */
  revision: string;
}

/** A dataset (a file, or a Hub dataset's split) and what to do with it once loaded. */
export interface DatasetSpec {
  /** Absolute path of the .jsonl, .csv, .tsv or .parquet file; with `hub`, the Hub id (for messages). */
  path: string;
  /** Set when the dataset comes from the Hugging Face Hub (config key `hub`) instead of a file. */
  hub?: HubDatasetRef;
  /** Delimited files: the field separator (default "," for .csv, tab otherwise). */
  delimiter?: string;
  /** Delimited files: column names (null drops a field); with a header line they rename the columns. */
  columns?: (string | null)[];
  /** Delimited files: whether the first line is a header (default: true unless `columns` is given). */
  header?: boolean;
  /** Delimited files: columns converted to numbers. */
  numericColumns?: string[];
  /** Delimited files: ignore fields past the named ones. */
  ignoreExtraFields?: boolean;
  /** Keep only these columns, in this order (applied first). */
  select?: string[];
  /** Rename columns, old -> new (applied after `select`). */
  rename?: Record<string, string>;
  /** Keep only the first rows (applied last). */
  limit?: number;
  /** A Hugging Face Hub dataset id for the model card (default: `hub`'s id). */
  id?: string;
  /** The key path, for errors found later. */
  where: string;
}

/** A loss by name, with its options, optionally wrapped by a modifier (MatryoshkaLoss, ...). */
export interface LossSpec {
  name: string;
  options: Record<string, unknown>;
  wrap: LossSpec | null;
  where: string;
}

/** An evaluator by type, on a dataset (by name or inline) or a BEIR folder. */
export interface EvaluatorSpec {
  type: string;
  /** The metric prefix (default the dataset's name, or the BEIR folder's name). */
  name: string;
  dataset: string | DatasetSpec | null;
  /** InformationRetrievalEvaluator: a BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv). */
  beir: string | null;
  /** The qrels split (default "test"). */
  split: string;
  /** The columns the evaluator reads, in its order (default: the input columns, then the label). */
  columns: string[] | null;
  options: Record<string, unknown>;
  where: string;
}

/** The model card fields a config may set. */
export interface ModelCardSpec {
  language?: string | string[];
  license?: string;
  modelName?: string;
  modelId?: string;
  baseModel?: string;
  tags?: string[];
}

/** A validated `stts train` configuration; paths are absolute (relative ones resolved against the file's folder). */
export interface TrainConfig {
  /** The file, as given (prefix of error messages). */
  source: string;
  model: ModelSpec;
  /** Sets the Transformer module's unpadInputs (null: leave the model's own setting). */
  unpadInputs: boolean | null;
  datasets: Record<string, DatasetSpec>;
  evalDatasets: Record<string, DatasetSpec>;
  /** One loss for every dataset, or one per dataset name. */
  loss: LossSpec | Record<string, LossSpec>;
  args: TrainingArguments;
  evaluators: EvaluatorSpec[];
  /** The folder the trained model (and its checkpoints) is saved to: args.outputDir. */
  output: string;
  modelCard: ModelCardSpec;
}

// ---- what losses and evaluators take --------------------------------------------------------------

/** How an option value is checked (and later converted). */
export type OptionKind =
  | "number"
  | "positiveInt"
  | "int"
  | "boolean"
  | "numberArray"
  | "positiveIntArray"
  | "string"
  | "stringArray"
  | "similarityFn"
  | "similarityName"
  | "model"
  | "path"
  | `oneOf:${string}`
  | `distance:${string}`;

const SIMILARITY_FCT = { similarityFct: "similarityFn" } as const;
const CACHED = { miniBatchSize: "positiveInt", showProgressBar: "boolean" } as const;
const GIST = {
  guide: "model",
  temperature: "number",
  marginStrategy: "oneOf:absolute|relative",
  margin: "number",
  contrastAnchors: "boolean",
  contrastPositives: "boolean",
} as const;
const BATCH_TRIPLET = { distanceMetric: "distance:BatchHardTripletLossDistanceFunction", margin: "number" } as const;
const MATRYOSHKA = {
  matryoshkaDims: "positiveIntArray",
  matryoshkaWeights: "numberArray",
  nDimsPerStep: "int",
} as const;
const ADAPTIVE = {
  nLayersPerStep: "int",
  lastLayerWeight: "number",
  priorLayersWeight: "number",
  klDivWeight: "number",
  klTemperature: "number",
} as const;

/** Every loss the config can name, with its options (the constructor's, camelCase). */
export const LOSS_OPTIONS: Readonly<Record<string, Readonly<Record<string, OptionKind>>>> = {
  MultipleNegativesRankingLoss: { scale: "number", ...SIMILARITY_FCT },
  MultipleNegativesSymmetricRankingLoss: { scale: "number", ...SIMILARITY_FCT },
  CachedMultipleNegativesRankingLoss: { scale: "number", ...SIMILARITY_FCT, ...CACHED },
  CachedMultipleNegativesSymmetricRankingLoss: { scale: "number", ...SIMILARITY_FCT, ...CACHED },
  CoSENTLoss: { scale: "number", ...SIMILARITY_FCT },
  AnglELoss: { scale: "number" },
  CosineSimilarityLoss: { lossFct: "oneOf:MSELoss|L1Loss" },
  ContrastiveLoss: { distanceMetric: "distance:SiameseDistanceMetric", margin: "number", sizeAverage: "boolean" },
  OnlineContrastiveLoss: { distanceMetric: "distance:SiameseDistanceMetric", margin: "number" },
  TripletLoss: { distanceMetric: "distance:TripletDistanceMetric", tripletMargin: "number" },
  BatchAllTripletLoss: BATCH_TRIPLET,
  BatchHardTripletLoss: BATCH_TRIPLET,
  BatchSemiHardTripletLoss: BATCH_TRIPLET,
  BatchHardSoftMarginTripletLoss: { distanceMetric: "distance:BatchHardTripletLossDistanceFunction" },
  MegaBatchMarginLoss: {
    positiveMargin: "number",
    negativeMargin: "number",
    useMiniBatchedVersion: "boolean",
    miniBatchSize: "positiveInt",
  },
  MSELoss: {},
  MarginMSELoss: { ...SIMILARITY_FCT },
  DistillKLDivLoss: { ...SIMILARITY_FCT, temperature: "number" },
  GISTEmbedLoss: GIST,
  CachedGISTEmbedLoss: { ...GIST, ...CACHED },
  SoftmaxLoss: {
    numLabels: "positiveInt",
    sentenceEmbeddingDimension: "positiveInt",
    concatenationSentRep: "boolean",
    concatenationSentDifference: "boolean",
    concatenationSentMultiplication: "boolean",
  },
  ContrastiveTensionLoss: {},
  ContrastiveTensionLossInBatchNegatives: { scale: "number", ...SIMILARITY_FCT },
  DenoisingAutoEncoderLoss: { decoderNameOrPath: "path", tieEncoderDecoder: "boolean" },
};

/** The losses that wrap another (the config's `wrap`), with their options. */
export const LOSS_MODIFIER_OPTIONS: Readonly<Record<string, Readonly<Record<string, OptionKind>>>> = {
  MatryoshkaLoss: MATRYOSHKA,
  AdaptiveLayerLoss: ADAPTIVE,
  Matryoshka2dLoss: { ...MATRYOSHKA, ...ADAPTIVE },
};

/** Options a loss cannot do without. */
const REQUIRED_LOSS_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  SoftmaxLoss: ["numLabels"],
  GISTEmbedLoss: ["guide"],
  CachedGISTEmbedLoss: ["guide"],
  MatryoshkaLoss: ["matryoshkaDims"],
  Matryoshka2dLoss: ["matryoshkaDims"],
};

const EVALUATOR_COMMON = { batchSize: "positiveInt", showProgressBar: "boolean", writeCsv: "boolean" } as const;
const TRUNCATE = { truncateDim: "positiveInt" } as const;

/**
 * The evaluators the config can use, with their options and the columns they read (in order; the
 * defaults are the dataset's input columns, then its label column).
 */
export const EVALUATOR_OPTIONS: Readonly<
  Record<string, { columns: readonly string[] | null; options: Readonly<Record<string, OptionKind>> }>
> = {
  EmbeddingSimilarityEvaluator: {
    columns: ["sentences1", "sentences2", "scores"],
    options: {
      ...EVALUATOR_COMMON,
      ...TRUNCATE,
      mainSimilarity: "similarityName",
      similarityFnNames: "stringArray",
      precision: "oneOf:float32|int8|uint8|binary|ubinary",
    },
  },
  BinaryClassificationEvaluator: {
    columns: ["sentences1", "sentences2", "labels"],
    options: { ...EVALUATOR_COMMON, ...TRUNCATE, similarityFnNames: "stringArray" },
  },
  TripletEvaluator: {
    columns: ["anchors", "positives", "negatives"],
    options: {
      ...EVALUATOR_COMMON,
      ...TRUNCATE,
      mainSimilarityFunction: "similarityName",
      similarityFnNames: "stringArray",
      margin: "number",
    },
  },
  InformationRetrievalEvaluator: {
    columns: null,
    options: {
      ...EVALUATOR_COMMON,
      ...TRUNCATE,
      corpusChunkSize: "positiveInt",
      mrrAtK: "positiveIntArray",
      ndcgAtK: "positiveIntArray",
      accuracyAtK: "positiveIntArray",
      precisionRecallAtK: "positiveIntArray",
      mapAtK: "positiveIntArray",
      mainScoreFunction: "similarityName",
      queryPrompt: "string",
      queryPromptName: "string",
      corpusPrompt: "string",
      corpusPromptName: "string",
    },
  },
};

// ---- reading --------------------------------------------------------------------------------------

/** Reads and validates a config file (.yaml, .yml or .json). */
export function loadTrainConfig(file: string): TrainConfig {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new ConfigError(`${file}: no such file`);
  const text = fs.readFileSync(file, "utf8");
  let value: unknown;
  try {
    value = file.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    const kind = file.endsWith(".json") ? "JSON" : "YAML";
    throw new ConfigError(`${file}: invalid ${kind}: ${(error as Error).message.split("\n")[0]}`);
  }
  return parseTrainConfig(value, file, path.dirname(path.resolve(file)));
}

const TOP_LEVEL_KEYS = [
  "model",
  "architecture",
  "static",
  "unpadInputs",
  "datasets",
  "evalDatasets",
  "loss",
  "losses",
  "args",
  "evaluators",
  "output",
  "modelCard",
] as const;

/**
 * Validates a parsed config. `source` prefixes errors; relative paths are resolved against `baseDir`.
 *
 * @example
 * const config = parseTrainConfig({ model: "folder", datasets: { pairs: { path: "pairs.jsonl" } },
 *   loss: { name: "MultipleNegativesRankingLoss" }, output: "out" }, "config.yaml", process.cwd());
 */
export function parseTrainConfig(value: unknown, source: string, baseDir: string): TrainConfig {
  const root = new Node(source, "", value, baseDir);
  root.keys(TOP_LEVEL_KEYS);

  const model = parseModel(root);
  const unpadInputs = root.has("unpadInputs") ? root.child("unpadInputs").boolean() : null;
  if (unpadInputs !== null && model.kind === "static") {
    root.child("unpadInputs").fail("a static embedding model has no padding to skip (only Transformer models)");
  }
  const datasets = root.child("datasets").record((node) => parseDataset(node), { nonEmpty: true });
  const evalDatasets = root.has("evalDatasets") ? root.child("evalDatasets").record((node) => parseDataset(node)) : {};

  if (root.has("loss") === root.has("losses")) {
    root.fail(
      root.has("loss")
        ? "give either 'loss' (one loss for every dataset) or 'losses' (one per dataset), not both"
        : "missing 'loss' (one loss for every dataset) or 'losses' (one per dataset name)",
    );
  }
  let loss: LossSpec | Record<string, LossSpec>;
  if (root.has("loss")) {
    loss = parseLoss(root.child("loss"));
  } else {
    const losses = root.child("losses");
    loss = losses.record((node) => parseLoss(node), { nonEmpty: true });
    for (const name of [...Object.keys(datasets), ...Object.keys(evalDatasets)]) {
      if (!(name in loss)) losses.fail(`no loss for dataset '${name}' (losses: ${Object.keys(loss).join(", ")})`);
    }
    for (const name of Object.keys(loss)) {
      if (!(name in datasets) && !(name in evalDatasets)) {
        losses.child(name).fail(`no dataset named '${name}'${suggestion(name, Object.keys(datasets))}`);
      }
    }
  }

  const outputNode = root.child("output");
  const output = root.has("output") ? outputNode.path() : null;
  const args = parseArguments(root, output);
  const evaluators = root.has("evaluators")
    ? root.child("evaluators").list((node) => parseEvaluator(node, datasets, evalDatasets))
    : [];
  const modelCard = root.has("modelCard") ? parseModelCard(root.child("modelCard")) : {};
  return {
    source,
    model,
    unpadInputs,
    datasets,
    evalDatasets,
    loss,
    args,
    evaluators,
    output: args.outputDir,
    modelCard,
  };
}

function parseModel(root: Node): ModelSpec {
  const given = (["model", "architecture", "static"] as const).filter((key) => root.has(key));
  if (given.length !== 1) {
    root.fail(
      given.length === 0
        ? "missing 'model' (a folder or Hub id), 'architecture' (a new BERT) or 'static' (a new StaticEmbedding)"
        : `give only one of 'model', 'architecture' and 'static' (got ${given.join(", ")})`,
    );
  }
  if (given[0] === "model") {
    const node = root.child("model");
    const name = node.string();
    const local = path.resolve(node.baseDir, name);
    return { kind: "pretrained", model: fs.existsSync(local) ? local : name };
  }
  if (given[0] === "architecture") {
    const node = root.child("architecture");
    node.keys(["type", "config", "tokenizer", "maxSeqLength", "pooling"]);
    const config = node.has("config") ? node.child("config").object() : {};
    const pooling = node.has("pooling")
      ? node.child("pooling").oneOf(["mean", "cls", "max", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"])
      : "mean";
    return {
      kind: "architecture",
      type: node.child("type").string(),
      config,
      tokenizer: node.child("tokenizer").existingPath(),
      maxSeqLength: node.has("maxSeqLength") ? node.child("maxSeqLength").positiveInt() : null,
      pooling,
    };
  }
  const node = root.child("static");
  node.keys(["tokenizer", "embeddingDim"]);
  return {
    kind: "static",
    tokenizer: node.child("tokenizer").existingPath(),
    embeddingDim: node.child("embeddingDim").positiveInt(),
  };
}

const DELIMITED_KEYS = ["delimiter", "columns", "header", "numericColumns", "ignoreExtraFields"] as const;

function parseDataset(node: Node): DatasetSpec {
  node.keys(["path", "hub", "split", "revision", ...DELIMITED_KEYS, "select", "rename", "limit", "id"]);
  if (node.has("path") === node.has("hub")) {
    node.fail(
      node.has("path")
        ? "give either 'path' (a file) or 'hub' (a Hugging Face Hub dataset id), not both"
        : "missing 'path' (a .jsonl, .csv, .tsv or .parquet file) or 'hub' (a Hugging Face Hub dataset id)",
    );
  }
  let spec: DatasetSpec;
  if (node.has("hub")) {
    const hubNode = node.child("hub");
    const id = hubNode.string();
    if (!/^[\w.-]+\/[\w.-]+$/.test(id)) hubNode.fail(`expected a Hub dataset id 'org/name', got '${id}'`);
    const split = node.has("split") ? node.child("split").string() : "train";
    const revision = node.has("revision") ? node.child("revision").string() : "main";
    spec = { path: id, hub: { id, split, revision }, id, where: node.where };
    const misplaced = DELIMITED_KEYS.find((key) => node.has(key));
    if (misplaced !== undefined) {
      node.child(misplaced).fail("applies to delimited files given by 'path' (Hub CSV/TSV files have a header line)");
    }
  } else {
    for (const key of ["split", "revision"]) {
      if (node.has(key)) node.child(key).fail("applies to a Hub dataset ('hub'), not to a file");
    }
    const file = node.child("path").existingPath();
    spec = { path: file, where: node.where };
    const extension = path.extname(file).toLowerCase();
    if (extension === ".jsonl" || extension === ".parquet") {
      const misplaced = DELIMITED_KEYS.find((key) => node.has(key));
      if (misplaced !== undefined) {
        node
          .child(misplaced)
          .fail(`applies to delimited files (.csv, .tsv), not ${extension === ".jsonl" ? "JSON Lines" : "Parquet"}`);
      }
    } else if (![".csv", ".tsv", ".txt"].includes(extension) && !node.has("delimiter")) {
      node
        .child("path")
        .fail(`expected a .jsonl, .csv, .tsv or .parquet file (or give 'delimiter'), got '${path.basename(file)}'`);
    }
  }
  if (node.has("delimiter")) spec.delimiter = node.child("delimiter").string();
  if (node.has("columns")) {
    spec.columns = node
      .child("columns")
      .list((item) => (item.value === null ? null : item.string()), { nonEmpty: true });
  }
  if (node.has("header")) spec.header = node.child("header").boolean();
  if (node.has("numericColumns")) spec.numericColumns = node.child("numericColumns").list((item) => item.string());
  if (node.has("ignoreExtraFields")) spec.ignoreExtraFields = node.child("ignoreExtraFields").boolean();
  if (node.has("select")) spec.select = node.child("select").list((item) => item.string(), { nonEmpty: true });
  if (node.has("rename")) spec.rename = node.child("rename").record((item) => item.string());
  if (node.has("limit")) spec.limit = node.child("limit").positiveInt();
  if (node.has("id")) spec.id = node.child("id").string();
  return spec;
}

function parseLoss(node: Node, modifier = false): LossSpec {
  node.keys(modifier ? ["name", "options"] : ["name", "options", "wrap"]);
  const catalog = modifier ? LOSS_MODIFIER_OPTIONS : LOSS_OPTIONS;
  const nameNode = node.child("name");
  const name = nameNode.string();
  if (!Object.hasOwn(catalog, name)) {
    const other = modifier ? LOSS_OPTIONS : LOSS_MODIFIER_OPTIONS;
    if (Object.hasOwn(other, name)) {
      nameNode.fail(
        modifier
          ? `'${name}' is not a modifier; 'wrap' takes one of ${Object.keys(catalog).join(", ")}`
          : `'${name}' wraps another loss: name the inner loss here and put '${name}' under 'wrap'`,
      );
    }
    nameNode.fail(
      `unknown ${modifier ? "loss modifier" : "loss"} '${name}'${suggestion(name, Object.keys(catalog))}` +
        (suggestion(name, Object.keys(catalog)) === "" ? ` (known: ${Object.keys(catalog).join(", ")})` : ""),
    );
  }
  const options = parseOptions(node, catalog[name]!, REQUIRED_LOSS_OPTIONS[name] ?? [], name);
  const wrap = !modifier && node.has("wrap") ? parseLoss(node.child("wrap"), true) : null;
  return { name, options, wrap, where: node.where };
}

function parseOptions(
  node: Node,
  kinds: Readonly<Record<string, OptionKind>>,
  required: readonly string[],
  owner: string,
): Record<string, unknown> {
  const optionsNode = node.child("options");
  const given = node.has("options") ? optionsNode : null;
  if (given !== null) given.keys(Object.keys(kinds), `option of ${owner}`);
  for (const key of required) {
    if (given === null || !given.has(key)) optionsNode.fail(`${owner} needs the option '${key}'`);
  }
  const options: Record<string, unknown> = {};
  if (given === null) return options;
  for (const [key, kind] of Object.entries(kinds)) {
    if (given.has(key)) options[key] = given.child(key).option(kind);
  }
  return options;
}

function parseArguments(root: Node, output: string | null): TrainingArguments {
  const node = root.child("args");
  const values: Record<string, unknown> = { ...(root.has("args") ? node.object() : {}) };
  if (typeof values.outputDir === "string" && values.outputDir !== "") {
    const outputDir = path.resolve(root.baseDir, values.outputDir);
    if (output !== null && outputDir !== output) {
      node.child("outputDir").fail(`give the output folder once: 'output' (${output}) or 'args.outputDir', not both`);
    }
    values.outputDir = outputDir;
  } else if (values.outputDir === undefined) {
    if (output === null) root.fail("missing 'output' (the folder the trained model and its checkpoints go to)");
    values.outputDir = output;
  }
  try {
    return resolveTrainingArguments(values, `${root.source}: args`);
  } catch (error) {
    if (error instanceof TrainingArgumentsError) throw new ConfigError(error.message);
    throw error;
  }
}

function parseEvaluator(
  node: Node,
  datasets: Record<string, DatasetSpec>,
  evalDatasets: Record<string, DatasetSpec>,
): EvaluatorSpec {
  node.keys(["type", "name", "dataset", "beir", "split", "columns", "options"]);
  const typeNode = node.child("type");
  const type = typeNode.string();
  const known = Object.keys(EVALUATOR_OPTIONS);
  if (!Object.hasOwn(EVALUATOR_OPTIONS, type)) {
    const hint = suggestion(type, known);
    typeNode.fail(`unknown evaluator '${type}'${hint}${hint === "" ? ` (known: ${known.join(", ")})` : ""}`);
  }
  const schema = EVALUATOR_OPTIONS[type]!;
  let dataset: string | DatasetSpec | null = null;
  let beir: string | null = null;
  if (schema.columns === null) {
    if (!node.has("beir")) node.fail(`${type} needs 'beir': a folder with corpus.jsonl, queries.jsonl and qrels/`);
    if (node.has("dataset")) node.child("dataset").fail(`${type} reads a BEIR folder ('beir'), not a dataset`);
    if (node.has("columns")) node.child("columns").fail(`${type} reads a BEIR folder and takes no columns`);
    beir = node.child("beir").existingPath();
  } else {
    if (node.has("beir")) node.child("beir").fail(`only InformationRetrievalEvaluator reads a BEIR folder`);
    const datasetNode = node.child("dataset");
    if (typeof datasetNode.value === "string") {
      const name = datasetNode.value;
      if (!(name in evalDatasets) && !(name in datasets)) {
        const names = [...Object.keys(evalDatasets), ...Object.keys(datasets)];
        datasetNode.fail(`no dataset named '${name}' in evalDatasets or datasets${suggestion(name, names)}`);
      }
      dataset = name;
    } else {
      dataset = parseDataset(datasetNode);
    }
  }
  let columns: string[] | null = null;
  if (node.has("columns")) {
    const expected = schema.columns!;
    const columnsNode = node.child("columns");
    columns = columnsNode.list((item) => item.string());
    if (columns.length !== expected.length) {
      columnsNode.fail(`${type} reads ${expected.length} columns (${expected.join(", ")}), got ${columns.length}`);
    }
  }
  const fallbackName =
    beir !== null ? path.basename(beir) : typeof dataset === "string" ? dataset : path.parse(dataset!.path).name;
  return {
    type,
    name: node.has("name") ? node.child("name").string() : fallbackName,
    dataset,
    beir,
    split: node.has("split") ? node.child("split").string() : "test",
    columns,
    options: parseOptions(node, schema.options, [], type),
    where: node.where,
  };
}

function parseModelCard(node: Node): ModelCardSpec {
  node.keys(["language", "license", "modelName", "modelId", "baseModel", "tags"]);
  const spec: ModelCardSpec = {};
  if (node.has("language")) {
    const language = node.child("language");
    spec.language = Array.isArray(language.value) ? language.list((item) => item.string()) : language.string();
  }
  for (const key of ["license", "modelName", "modelId", "baseModel"] as const) {
    if (node.has(key)) spec[key] = node.child(key).string();
  }
  if (node.has("tags")) spec.tags = node.child("tags").list((item) => item.string());
  return spec;
}

// ---- the key-path walker --------------------------------------------------------------------------

/** A value at a key path of the config, with checks that fail naming the file and the path. */
class Node {
  constructor(
    readonly source: string,
    readonly keyPath: string,
    readonly value: unknown,
    readonly baseDir: string,
  ) {}

  get where(): string {
    return this.keyPath === "" ? this.source : `${this.source}: ${this.keyPath}`;
  }

  fail(message: string): never {
    throw new ConfigError(`${this.where}: ${message}`);
  }

  #expected(what: string): never {
    this.fail(`expected ${what}, got ${describe(this.value)}`);
  }

  child(key: string | number): Node {
    const keyPath =
      typeof key === "number" ? `${this.keyPath}[${key}]` : this.keyPath === "" ? key : `${this.keyPath}.${key}`;
    const value = this.#isObject() ? (this.value as Record<string, unknown>)[String(key)] : undefined;
    const item = Array.isArray(this.value) && typeof key === "number" ? this.value[key] : value;
    return new Node(this.source, keyPath, item, this.baseDir);
  }

  has(key: string): boolean {
    return (
      this.#isObject() &&
      Object.hasOwn(this.value as object, key) &&
      (this.value as Record<string, unknown>)[key] !== undefined
    );
  }

  #isObject(): boolean {
    return typeof this.value === "object" && this.value !== null && !Array.isArray(this.value);
  }

  /** A plain object (a mapping). */
  object(): Record<string, unknown> {
    if (this.value === undefined) this.fail("missing");
    if (!this.#isObject()) this.#expected("a mapping");
    return this.value as Record<string, unknown>;
  }

  /** A mapping whose keys are all in `allowed`. */
  keys(allowed: readonly string[], what = "key"): void {
    for (const key of Object.keys(this.object())) {
      if (!allowed.includes(key)) {
        const hint = suggestion(key, allowed);
        this.child(key).fail(`unknown ${what}${hint}${hint === "" ? ` (expected one of ${allowed.join(", ")})` : ""}`);
      }
    }
  }

  /** A mapping name -> T, each value read by `read`. */
  record<T>(read: (node: Node) => T, options: { nonEmpty?: boolean } = {}): Record<string, T> {
    const entries = Object.keys(this.object());
    if (options.nonEmpty === true && entries.length === 0) this.fail("expected at least one entry");
    return Object.fromEntries(entries.map((key) => [key, read(this.child(key))]));
  }

  list<T>(read: (node: Node) => T, options: { nonEmpty?: boolean } = {}): T[] {
    if (this.value === undefined) this.fail("missing");
    if (!Array.isArray(this.value)) this.#expected("a list");
    if (options.nonEmpty === true && this.value.length === 0) this.fail("expected a non-empty list");
    return this.value.map((_, index) => read(this.child(index)));
  }

  string(): string {
    if (this.value === undefined) this.fail("missing");
    if (typeof this.value !== "string" || this.value === "") this.#expected("a non-empty string");
    return this.value;
  }

  boolean(): boolean {
    if (this.value === undefined) this.fail("missing");
    if (typeof this.value !== "boolean") this.#expected("true or false");
    return this.value;
  }

  number(): number {
    if (this.value === undefined) this.fail("missing");
    if (typeof this.value !== "number" || !Number.isFinite(this.value)) this.#expected("a number");
    return this.value;
  }

  positiveInt(): number {
    if (this.value === undefined) this.fail("missing");
    if (!Number.isInteger(this.value) || (this.value as number) < 1) this.#expected("a positive integer");
    return this.value as number;
  }

  oneOf(values: readonly string[]): string {
    const value = this.string();
    if (!values.includes(value)) {
      this.fail(
        `expected one of ${values.map((v) => `'${v}'`).join(", ")}, got '${value}'${suggestion(value, values)}`,
      );
    }
    return value;
  }

  /** A path, resolved against the config file's folder. */
  path(): string {
    return path.resolve(this.baseDir, this.string());
  }

  /** A path that must exist. */
  existingPath(): string {
    const resolved = this.path();
    if (!fs.existsSync(resolved)) this.fail(`${resolved} does not exist`);
    return resolved;
  }

  /** An option value of the given kind (converted later, where it needs the model). */
  option(kind: OptionKind): unknown {
    switch (kind) {
      case "number":
        return this.number();
      case "positiveInt":
        return this.positiveInt();
      case "int":
        if (!Number.isInteger(this.value)) this.#expected("an integer");
        return this.value;
      case "boolean":
        return this.boolean();
      case "string":
        return this.string();
      case "numberArray":
        return this.list((item) => item.number(), { nonEmpty: true });
      case "positiveIntArray":
        return this.list((item) => item.positiveInt(), { nonEmpty: true });
      case "stringArray":
        return this.list((item) => item.string(), { nonEmpty: true });
      case "similarityFn":
        return this.oneOf(SIMILARITY_FUNCTION_NAMES);
      case "similarityName":
        return this.oneOf(["cosine", "dot", "euclidean", "manhattan"]);
      case "model":
        return this.string();
      case "path":
        return this.existingPath();
      default:
        if (kind.startsWith("oneOf:")) return this.oneOf(kind.slice("oneOf:".length).split("|"));
        return this.string(); // distance:<Family>: checked when the loss is built
    }
  }
}

/** The similarity function names a loss option accepts (ours and the reference's snake_case ones). */
const SIMILARITY_FUNCTION_NAMES = [
  "cosSim",
  "dotScore",
  "euclideanSim",
  "manhattanSim",
  "pairwiseCosSim",
  "pairwiseDotScore",
  "pairwiseEuclideanSim",
  "pairwiseManhattanSim",
  "pairwiseAngleSim",
  "cos_sim",
  "dot_score",
  "euclidean_sim",
  "manhattan_sim",
  "pairwise_cos_sim",
  "pairwise_dot_score",
  "pairwise_euclidean_sim",
  "pairwise_manhattan_sim",
  "pairwise_angle_sim",
];

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return `a list (${JSON.stringify(value).slice(0, 60)})`;
  if (typeof value === "object" && value !== null) return "a mapping";
  return JSON.stringify(value);
}

/** "; did you mean 'x'?" for the closest candidate (snake_case -> camelCase first), or "". */
export function suggestion(given: string, candidates: readonly string[]): string {
  const camel = given.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  if (camel !== given && candidates.includes(camel)) return `; did you mean '${camel}'?`;
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(given.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(given.length / 4)) ? `; did you mean '${best}'?` : "";
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}
