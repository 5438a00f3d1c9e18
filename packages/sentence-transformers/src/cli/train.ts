// `stts train <config>`: builds the model, datasets, losses and evaluators a config file describes,
// trains with SentenceTransformerTrainer, and reports the final metrics and where the model went.
import * as fs from "node:fs";
import * as path from "node:path";
import * as torch from "@stts/torch";
import type { Command } from "commander";
import { BinaryClassificationEvaluator } from "../evaluation/binary-classification-evaluator.js";
import { EmbeddingSimilarityEvaluator } from "../evaluation/embedding-similarity-evaluator.js";
import type { SentenceEvaluator } from "../evaluation/evaluator.js";
import { InformationRetrievalEvaluator } from "../evaluation/information-retrieval-evaluator.js";
import { TripletEvaluator } from "../evaluation/triplet-evaluator.js";
import type { EmbeddingModel } from "../features.js";
import { getDistanceMetric } from "../losses/distance-metrics.js";
import * as lossClasses from "../losses/index.js";
import { describeExpectation, type LossInputSpec } from "../losses/loss-inputs.js";
import { lossesForData } from "../losses/guide.js";
import type { Loss } from "../losses/loss.js";
import { generateModelCard } from "../model-card/generate.js";
import {
  computeDatasetStats,
  createModelCardData,
  describeEvaluation,
  recordEvaluation,
  type ModelCardData,
} from "../model-card/model-card-data.js";
import { createEncoder } from "../models/registry.js";
import { Tokenizer } from "../models/tokenizer.js";
import { Pooling, type PoolingMode } from "../modules/pooling.js";
import { StaticEmbedding } from "../modules/static-embedding.js";
import { Transformer } from "../modules/transformer.js";
import { SentenceTransformer } from "../sentence-transformer.js";
import type { TrainingArguments } from "../training/arguments.js";
import { Dataset } from "../training/dataset.js";
import { loadDatasetFile } from "../training/load-dataset-file.js";
import { loadHubDataset } from "../hub/datasets.js";
import { getSimilarityFunction } from "../util/similarity.js";
import {
  ConfigError,
  LOSS_MODIFIER_OPTIONS,
  LOSS_OPTIONS,
  loadTrainConfig,
  type DatasetSpec,
  type EvaluatorSpec,
  type LossSpec,
  type ModelSpec,
  type TrainConfig,
} from "./config.js";
import { formatMetrics, loadBeirFolder } from "./eval.js";
import type { CliIo } from "./common.js";

/** Everything a config describes, built: pass it to SentenceTransformerTrainer. Free it with dispose(). */
export interface TrainingSetup {
  model: SentenceTransformer;
  args: TrainingArguments;
  trainDataset: Dataset | Record<string, Dataset>;
  evalDataset: Dataset | Record<string, Dataset> | null;
  loss: Loss | Record<string, Loss>;
  evaluators: SentenceEvaluator[];
  modelCardData: ModelCardData;
  /** args.outputDir: where the trainer saves the model and its checkpoints. */
  output: string;
  /** Frees the model, the losses and the guide models. */
  dispose(): void;
}

/**
 * Builds what `config` describes: the model (loaded, or a new BERT / StaticEmbedding seeded with
 * args.seed), the datasets, the losses (checked against their datasets' columns), the evaluators and the
 * model card data. Errors name the config key they come from.
 *
 * @example
 * const setup = await buildTraining(loadTrainConfig("config.yaml"));
 * await new SentenceTransformerTrainer({ ...setup, evaluator: setup.evaluators }).train();
 */
export async function buildTraining(
  config: TrainConfig,
  log: (line: string) => void = () => {},
): Promise<TrainingSetup> {
  const datasets = await loadDatasets(config.datasets, log);
  const evalDatasets = await loadDatasets(config.evalDatasets, log);
  const owned: { dispose(): void }[] = [];
  const modelKey = config.model.kind === "pretrained" ? "model" : config.model.kind;
  const model = await atAsync(`${config.source}: ${modelKey}`, () => buildModel(config.model, config.args.seed, log));
  owned.push(model);
  if (config.unpadInputs !== null) setUnpadInputs(model, config.unpadInputs, config.source);
  try {
    const guides = new Map<string, SentenceTransformer>();
    const context: LossContext = { model, guides, owned, log, source: config.source };
    const loss = isLossSpec(config.loss)
      ? await buildLoss(config.loss, context)
      : Object.fromEntries(
          await Promise.all(
            Object.entries(config.loss).map(async ([name, spec]) => [name, await buildLoss(spec, context)] as const),
          ),
        );
    for (const [name, dataset] of [...Object.entries(datasets), ...Object.entries(evalDatasets)]) {
      const spec = isLossSpec(config.loss) ? config.loss : config.loss[name]!;
      checkLossColumns(spec, dataset);
    }
    const evaluators: SentenceEvaluator[] = [];
    for (const spec of config.evaluators) {
      const dataset =
        spec.dataset === null
          ? null
          : typeof spec.dataset === "string"
            ? (evalDatasets[spec.dataset] ?? datasets[spec.dataset]!)
            : await loadDataset(spec.dataset, spec.name, log);
      evaluators.push(buildEvaluator(spec, dataset));
    }
    const byId = (specs: Record<string, DatasetSpec>, loaded: Record<string, Dataset>) =>
      Object.entries(loaded).map(([name, dataset]) =>
        computeDatasetStats(model, dataset, { name, id: specs[name]!.id }),
      );
    const card = config.modelCard;
    const baseModel =
      card.baseModel ??
      (config.model.kind === "pretrained" && !path.isAbsolute(config.model.model) ? config.model.model : null);
    const modelCardData = createModelCardData({
      language: card.language ?? null,
      license: card.license ?? null,
      modelName: card.modelName ?? null,
      modelId: card.modelId ?? null,
      baseModel,
      tags: card.tags ?? [],
      trainDatasets: byId(config.datasets, datasets),
      evalDatasets: byId(config.evalDatasets, evalDatasets),
    });
    const single = (loaded: Record<string, Dataset>): Dataset | Record<string, Dataset> => {
      const names = Object.keys(loaded);
      return names.length === 1 && isLossSpec(config.loss) ? loaded[names[0]!]! : loaded;
    };
    return {
      model,
      args: config.args,
      trainDataset: single(datasets),
      evalDataset: Object.keys(evalDatasets).length === 0 ? null : single(evalDatasets),
      loss,
      evaluators,
      modelCardData,
      output: config.output,
      dispose: () => {
        for (const item of owned.reverse()) item.dispose();
      },
    };
  } catch (error) {
    for (const item of owned.reverse()) item.dispose();
    throw error;
  }
}

function isLossSpec(value: LossSpec | Record<string, LossSpec>): value is LossSpec {
  return typeof (value as LossSpec).name === "string" && typeof (value as LossSpec).where === "string";
}

/** Runs `fn`, prefixing any error's message with the config key path. */
function at<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function atAsync<T>(where: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

// ---- model ----------------------------------------------------------------------------------------

async function buildModel(spec: ModelSpec, seed: number, log: (line: string) => void): Promise<SentenceTransformer> {
  if (spec.kind === "pretrained") {
    return SentenceTransformer.load(spec.model, { log });
  }
  torch.manualSeed(seed); // fresh weights follow args.seed
  const tokenizer = Tokenizer.fromFolder(spec.tokenizer);
  if (spec.kind === "static") {
    return new SentenceTransformer([new StaticEmbedding(tokenizer, { embeddingDim: spec.embeddingDim })]);
  }
  const configJson: Record<string, unknown> = {
    model_type: spec.type,
    vocab_size: tokenizer.vocabSize,
    ...spec.config,
  };
  if (configJson.model_type !== spec.type) {
    throw new Error(
      `architecture.config.model_type '${String(configJson.model_type)}' differs from architecture.type '${spec.type}'`,
    );
  }
  if (typeof configJson.vocab_size === "number" && configJson.vocab_size < tokenizer.vocabSize) {
    throw new Error(
      `architecture.config.vocab_size (${configJson.vocab_size}) is smaller than the tokenizer's vocabulary (${tokenizer.vocabSize} tokens)`,
    );
  }
  const encoder = createEncoder(configJson, "architecture.config");
  const transformer = new Transformer(
    encoder,
    tokenizer,
    spec.maxSeqLength === null ? {} : { maxSeqLength: spec.maxSeqLength },
  );
  const pooling = new Pooling(encoder.hiddenSize, { poolingMode: spec.pooling as PoolingMode });
  return new SentenceTransformer([transformer, pooling]);
}

/** The config's `unpadInputs` on every Transformer module of the model (an error when it has none). */
function setUnpadInputs(model: SentenceTransformer, value: boolean, source: string): void {
  const transformers = model.moduleList.filter((module): module is Transformer => module instanceof Transformer);
  if (transformers.length === 0) {
    throw new ConfigError(`${source}: unpadInputs: the model has no Transformer module, so no padding to skip`);
  }
  for (const transformer of transformers) transformer.unpadInputs = value;
}

// ---- data -----------------------------------------------------------------------------------------

/** Loads each named dataset of a config section, in order. */
async function loadDatasets(
  specs: Record<string, DatasetSpec>,
  log: (line: string) => void,
): Promise<Record<string, Dataset>> {
  const out: Record<string, Dataset> = {};
  for (const [name, spec] of Object.entries(specs)) out[name] = await loadDataset(spec, name, log);
  return out;
}

/**
 * Loads a dataset (a .jsonl, .csv/.tsv or .parquet file, or a Hub dataset's split from the Hugging Face cache,
 * downloaded when allowed), then applies select, rename and limit.
 */
export async function loadDataset(
  spec: DatasetSpec,
  name: string,
  log: (line: string) => void = () => {},
): Promise<Dataset> {
  return atAsync(spec.where, async () => {
    let dataset =
      spec.hub !== undefined
        ? await loadHubDataset(spec.hub.id, { split: spec.hub.split, revision: spec.hub.revision, name, log })
        : await loadDatasetFile(spec.path, {
            name,
            delimiter: spec.delimiter,
            columns: spec.columns,
            header: spec.header,
            numericColumns: spec.numericColumns,
            ignoreExtraFields: spec.ignoreExtraFields,
          });
    if (spec.select !== undefined) dataset = dataset.selectColumns(spec.select);
    if (spec.rename !== undefined) dataset = dataset.renameColumns(spec.rename);
    if (spec.limit !== undefined) dataset = dataset.take(spec.limit);
    if (dataset.length === 0) throw new Error(`${spec.path} has no rows`);
    return dataset;
  });
}

// ---- losses ---------------------------------------------------------------------------------------

interface LossContext {
  model: SentenceTransformer;
  guides: Map<string, SentenceTransformer>;
  owned: { dispose(): void }[];
  log: (line: string) => void;
  source: string;
}

type LossConstructor = (new (model: EmbeddingModel, options: Record<string, unknown>) => Loss) & Partial<LossInputSpec>;
type ModifierConstructor = new (model: EmbeddingModel, loss: Loss, options: Record<string, unknown>) => Loss;

function lossClass<T>(name: string): T {
  return (lossClasses as unknown as Record<string, T>)[name]!;
}

async function buildLoss(spec: LossSpec, context: LossContext): Promise<Loss> {
  const options = await lossOptions(spec, LOSS_OPTIONS[spec.name]!, context);
  const inner = at(spec.where, () => new (lossClass<LossConstructor>(spec.name))(context.model, options));
  context.owned.push(inner);
  if (spec.wrap === null) return inner;
  const wrap = spec.wrap;
  const wrapOptions = await lossOptions(wrap, LOSS_MODIFIER_OPTIONS[wrap.name]!, context);
  const outer = at(
    wrap.where,
    () => new (lossClass<ModifierConstructor>(wrap.name))(context.model, inner, wrapOptions),
  );
  context.owned.push(outer);
  return outer;
}

/** Converts option values: similarity and distance names to functions, guide model names to models. */
async function lossOptions(
  spec: LossSpec,
  kinds: Readonly<Record<string, string>>,
  context: LossContext,
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(spec.options)) {
    const kind = kinds[key]!;
    const where = `${spec.where}.options.${key}`;
    if (kind === "similarityFn") out[key] = at(where, () => getSimilarityFunction(value as string));
    else if (kind.startsWith("distance:")) {
      const family = kind.slice("distance:".length);
      const name = String(value);
      const full = name.includes(".") ? name : `${family}.${name}`;
      if (!full.startsWith(`${family}.`)) throw new ConfigError(`${where}: expected a ${family} member, got '${name}'`);
      out[key] = at(where, () => getDistanceMetric(full));
    } else if (kind === "model") {
      const name = value as string;
      const local = path.resolve(path.dirname(path.resolve(context.source)), name);
      const id = fs.existsSync(local) ? local : name;
      let guide = context.guides.get(id);
      if (guide === undefined) {
        guide = await atAsync(where, () => SentenceTransformer.load(id, { log: context.log }));
        context.guides.set(id, guide);
        context.owned.push(guide);
      }
      out[key] = guide;
    } else out[key] = value;
  }
  return out;
}

/** Checks a dataset's input columns and label against what the loss (or the loss a modifier wraps) takes. */
function checkLossColumns(spec: LossSpec, dataset: Dataset): void {
  const lossSpec = lossClass<LossConstructor>(spec.name);
  if (lossSpec.inputColumns === undefined || lossSpec.labelKind === undefined) return;
  const { min, max } = lossSpec.inputColumns;
  const inputs = dataset.inputColumns;
  const label = dataset.labelColumn;
  const countOk = inputs.length >= min && (max === null || inputs.length <= max);
  const labelOk = lossSpec.labelKind === "inner" || (lossSpec.labelKind === "none" ? label === null : label !== null);
  if (countOk && labelOk) return;
  throw new ConfigError(
    `${spec.where}: ${describeExpectation(spec.name, lossSpec as LossInputSpec)}; dataset '${dataset.name}' has ` +
      `${inputs.length} input column${inputs.length === 1 ? "" : "s"} (${inputs.join(", ") || "none"}) and ` +
      (label === null ? "no label column (label, labels, score or scores)" : `the label column '${label}'`) +
      ` (use the dataset's 'select' and 'rename' to fit the loss)` +
      fittingLosses(dataset),
  );
}

/** "; losses that take it as it is: A, B, ..." (the usual first choices first), or "" when none does. */
function fittingLosses(dataset: Dataset): string {
  const fits = lossesForData(dataset);
  const names = [...fits.filter((fit) => fit.common), ...fits.filter((fit) => !fit.common)].map((fit) => fit.name);
  if (names.length === 0) return "";
  const shown = names.slice(0, 6).join(", ");
  return `; losses that take it as it is: ${shown}${names.length > 6 ? `, ... (${names.length} in all: stts losses --data FILE)` : ""}`;
}

// ---- evaluators -----------------------------------------------------------------------------------

/** The evaluator a spec describes, on its (loaded) dataset; null for a BEIR folder. */
function buildEvaluator(spec: EvaluatorSpec, dataset: Dataset | null): SentenceEvaluator {
  return at(spec.where, () => {
    const options = { ...spec.options, name: spec.name };
    if (spec.type === "InformationRetrievalEvaluator") {
      const data = loadBeirFolder(spec.beir!, spec.split);
      return new InformationRetrievalEvaluator(data.queries, data.corpus, data.relevantDocs, options);
    }
    if (dataset === null) throw new Error(`${spec.type} needs a dataset`);
    const [a, b, c] = evaluatorColumns(spec, dataset);
    const texts = (column: string) => dataset.column(column).map((value) => String(value ?? ""));
    const numbers = (column: string) =>
      dataset.column(column).map((value, row) => {
        const number = typeof value === "boolean" ? Number(value) : value;
        if (typeof number !== "number")
          throw new Error(`column '${column}', row ${row + 1}: expected a number, got ${JSON.stringify(value)}`);
        return number;
      });
    if (spec.type === "EmbeddingSimilarityEvaluator")
      return new EmbeddingSimilarityEvaluator(texts(a), texts(b), numbers(c), options);
    if (spec.type === "BinaryClassificationEvaluator")
      return new BinaryClassificationEvaluator(texts(a), texts(b), numbers(c), options);
    return new TripletEvaluator(texts(a), texts(b), texts(c), options);
  });
}

/** The evaluator's three columns: given, else the dataset's inputs (then its label, for pair evaluators). */
function evaluatorColumns(spec: EvaluatorSpec, dataset: Dataset): [string, string, string] {
  if (spec.columns !== null) {
    for (const column of spec.columns) dataset.column(column); // throws naming the columns it has
    return spec.columns as [string, string, string];
  }
  const inputs = dataset.inputColumns;
  const triplet = spec.type === "TripletEvaluator";
  const columns = triplet ? inputs.slice(0, 3) : [...inputs.slice(0, 2), dataset.labelColumn];
  if (columns.length < 3 || columns.includes(null)) {
    throw new Error(
      `${spec.type} reads ${triplet ? "3 text columns" : "2 text columns and a label column"}; dataset '${dataset.name}' has ` +
        `columns ${dataset.columnNames.join(", ")} (give 'columns')`,
    );
  }
  return columns as [string, string, string];
}

// ---- the command ----------------------------------------------------------------------------------

function summary(config: TrainConfig, setup: TrainingSetup): string {
  const describeData = (data: Dataset | Record<string, Dataset> | null): string[] =>
    data === null
      ? []
      : (data instanceof Dataset ? [data] : Object.values(data)).map(
          (dataset) => `  ${dataset.name}: ${dataset.length} rows (${dataset.columnNames.join(", ")})`,
        );
  const losses =
    setup.loss instanceof lossClasses.Loss
      ? [`  every dataset: ${setup.loss.constructor.name}`]
      : Object.entries(setup.loss).map(([name, loss]) => `  ${name}: ${loss.constructor.name}`);
  return [
    `Config: ${config.source}`,
    `Model: ${setup.model.moduleList.map((module) => module.constructor.name).join(" -> ")} (dimension ${setup.model.getSentenceEmbeddingDimension() ?? "?"})`,
    "Training datasets:",
    ...describeData(setup.trainDataset),
    ...(setup.evalDataset === null ? [] : ["Evaluation datasets:", ...describeData(setup.evalDataset)]),
    "Losses:",
    ...losses,
    `Evaluators: ${setup.evaluators.map((e) => `${e.constructor.name} (${e.name})`).join(", ") || "none"}`,
    `Output: ${setup.output}`,
    "",
  ].join("\n");
}

interface TrainCommandOptions {
  dryRun?: boolean;
  resumeFromCheckpoint?: string | boolean;
}

/** Adds `train` to the program. */
export function registerTrainCommand(program: Command, io: CliIo): void {
  program
    .command("train")
    .description("train a model as a config file (YAML or JSON) describes (the keys: stts train --help)")
    .argument("<config>", "a .yaml, .yml or .json file")
    .option("--dry-run", "build the model, datasets, losses and evaluators, print what would be trained, and stop")
    .option(
      "--resume-from-checkpoint [folder]",
      "continue from a checkpoint folder (default: the latest in the output folder)",
    )
    .addHelpText(
      "after",
      `
Config keys (paths are relative to the config file):
  model: <folder or Hub id>            | architecture: {type: bert, config: {...}, tokenizer: <folder>, maxSeqLength?, pooling?}
                                       | static: {tokenizer: <folder>, embeddingDim: <n>}
  unpadInputs: true|false              (optional: the Transformer skips padding in training too; faster, saved
                                        with the model as unpad_inputs; default: only at inference)
  datasets: {<name>: {path: <.jsonl|.csv|.tsv|.parquet>, delimiter?, columns?, header?, numericColumns?,
                      ignoreExtraFields?, select?: [columns], rename?: {old: new}, limit?, id?: <Hub dataset id>}}
            or {<name>: {hub: <org/name>, split?: train, revision?: main, select?, rename?, limit?}}
                                       (a Hub dataset's split, from the Hugging Face cache or downloaded into it)
  evalDatasets: {<name>: {...}}        (optional: the eval loss)
  loss: {name: CoSENTLoss, options?: {...}, wrap?: {name: MatryoshkaLoss, options: {matryoshkaDims: [...]}}}
    or losses: {<dataset name>: {...}} (one per dataset)
  args: {numTrainEpochs, perDeviceTrainBatchSize, learningRate, ...}  (TrainingArguments, camelCase)
  evaluators: [{type: EmbeddingSimilarityEvaluator, dataset: <name>, columns?: [s1, s2, score], name?, options?},
               {type: InformationRetrievalEvaluator, beir: <folder>, split?: test, name?}]
  output: <folder>                     (the trained model and checkpoints; or args.outputDir)
  modelCard: {language?, license?, modelName?, modelId?, baseModel?, tags?}

Example:
  model: sentence-transformers/all-MiniLM-L6-v2
  datasets:
    stsb: {path: stsbenchmark/sts-train.csv, delimiter: "\\t", ignoreExtraFields: true,
           columns: [null, null, null, null, score, sentence1, sentence2], numericColumns: [score]}
  loss: {name: CoSENTLoss}
  args: {numTrainEpochs: 1, perDeviceTrainBatchSize: 16}
  output: models/minilm-sts
`,
    )
    .action(async (file: string, options: TrainCommandOptions) => {
      const config = loadTrainConfig(file);
      const setup = await buildTraining(config, (line) => io.stderr(`${line}\n`));
      try {
        io.stdout(summary(config, setup));
        if (options.dryRun === true) return;
        const { SentenceTransformerTrainer } = await import("../training/trainer.js");
        const trainer = new SentenceTransformerTrainer({
          model: setup.model,
          args: setup.args,
          trainDataset: setup.trainDataset,
          evalDataset: setup.evalDataset,
          loss: setup.loss,
          evaluator: setup.evaluators.length === 0 ? null : setup.evaluators,
          modelCardData: setup.modelCardData,
          log: (line) => io.stderr(`${line}\n`),
        });
        const result = await trainer.train(
          options.resumeFromCheckpoint === undefined ? {} : { resumeFromCheckpoint: options.resumeFromCheckpoint },
        );
        if (result.interrupted) {
          throw new Error(
            `training interrupted at step ${result.globalStep}; checkpoint saved to ${result.checkpoint ?? "?"}`,
          );
        }
        io.stdout(`Trained ${result.globalStep} steps, mean training loss ${result.trainingLoss.toFixed(4)}\n`);
        if (setup.evaluators.length > 0) {
          const metrics: Record<string, number> = {};
          for (const evaluator of setup.evaluators) {
            const results = evaluator.evaluate(setup.model);
            recordEvaluation(trainer.modelCardData, describeEvaluation(evaluator, results));
            Object.assign(metrics, results);
          }
          // The final metrics go into the saved model's card.
          fs.writeFileSync(path.join(setup.output, "README.md"), generateModelCard(setup.model, trainer.modelCardData));
          io.stdout(`Final evaluation:\n${formatMetrics(metrics)}`);
        }
        io.stdout(`Saved the model to ${setup.output}\n`);
      } finally {
        setup.dispose();
      }
    });
}
