// The architecture registry: config.json's `model_type` -> how to build, load and save that encoder.
import * as fs from "node:fs";
import * as path from "node:path";
import * as torch from "@stts/torch";
import type { nn, Tensor } from "@stts/torch";
import { BertConfig } from "./bert-config.js";
import { BertModel } from "./bert.js";
import type { EncoderModel } from "./encoder.js";

/** Options of `Architecture.create`. */
export interface CreateEncoderOptions {
  /** Where the config came from (a file path), named in errors. */
  source?: string;
  /**
   * The encoder keys of the checkpoint the model is about to be loaded from (after `encoderKeys`), so optional
   * parts follow the checkpoint: a BERT checkpoint without "pooler.*" weights gives a model without a pooler.
   */
  checkpointKeys?: ReadonlySet<string>;
}

/** What the registry knows about one `model_type`. */
export interface Architecture {
  /** The class whose layout saveEncoder writes, named in config.json's `architectures` ("BertModel"). */
  readonly className: string;
  /** A model with fresh weights, built from config.json's contents. */
  create(configJson: Record<string, unknown>, options: CreateEncoderOptions): EncoderModel;
  /**
   * The checkpoint keys the encoder loads, as encoder key -> checkpoint key: strips the prefix of task models
   * ("bert." in BertForMaskedLM) and drops task heads and buffers the model does not keep.
   */
  encoderKeys(checkpointKeys: readonly string[]): Map<string, string>;
}

const ARCHITECTURES = new Map<string, Architecture>();

/**
 * Registers (or replaces) the architecture for config.json's `model_type`, so createEncoder / loadEncoder can
 * build it.
 *
 * @example
 * registerArchitecture("bert", { className: "BertModel", create: (json, o) => new BertModel(...), encoderKeys });
 */
export function registerArchitecture(modelType: string, architecture: Architecture): void {
  if (typeof modelType !== "string" || modelType === "") {
    throw new TypeError(`registerArchitecture: modelType must be a non-empty string, got ${String(modelType)}`);
  }
  ARCHITECTURES.set(modelType, architecture);
}

/** The registered `model_type` values, sorted. */
export function supportedModelTypes(): string[] {
  return [...ARCHITECTURES.keys()].sort();
}

/** The architecture for a config's `model_type`; throws naming the supported ones and `source`. */
export function architectureFor(configJson: Record<string, unknown>, source?: string): Architecture {
  const where = source === undefined ? "the config" : source;
  const modelType = configJson.model_type;
  const supported = supportedModelTypes()
    .map((t) => `"${t}"`)
    .join(", ");
  if (typeof modelType !== "string") {
    throw new TypeError(
      `${where} has no string 'model_type' (got ${JSON.stringify(modelType) ?? "undefined"}); supported model types: ${supported}`,
    );
  }
  const architecture = ARCHITECTURES.get(modelType);
  if (architecture === undefined) {
    throw new Error(
      `${where} has model_type "${modelType}", which stts does not support; supported model types: ${supported}`,
    );
  }
  return architecture;
}

/**
 * A new encoder with freshly initialised weights, of the architecture config.json's `model_type` names.
 *
 * @param configJson config.json's contents
 * @param source where they came from (a file path), named in errors (default none)
 */
export function createEncoder(configJson: Record<string, unknown>, source?: string): EncoderModel {
  if (configJson === null || typeof configJson !== "object" || Array.isArray(configJson)) {
    throw new TypeError(`createEncoder: ${source ?? "configJson"} must be a JSON object`);
  }
  return architectureFor(configJson, source).create(configJson, { source });
}

/** An error loading a checkpoint: names the folder, the file and the weight keys concerned. */
export class CheckpointError extends Error {
  constructor(
    message: string,
    readonly folder: string,
    readonly file: string,
    readonly keys: string[] = [],
  ) {
    super(message);
    this.name = "CheckpointError";
  }
}

/** Reads and parses a JSON file, with errors naming `who` and the file. */
export function readJsonFile(file: string, who: string): unknown {
  if (!fs.existsSync(file)) {
    throw new CheckpointError(`${who}: ${file} does not exist`, path.dirname(file), path.basename(file));
  }
  const text = fs.readFileSync(file, "utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CheckpointError(
      `${who}: ${file} is not valid JSON (${(error as Error).message})`,
      path.dirname(file),
      path.basename(file),
    );
  }
}

/** Reads folder/config.json as an object. */
export function readConfigJson(folder: string, who: string): Record<string, unknown> {
  const file = path.join(folder, "config.json");
  if (!fs.existsSync(file)) {
    throw new CheckpointError(
      `${who}: ${folder} has no config.json (expected a Hugging Face model folder with config.json and model.safetensors)`,
      folder,
      "config.json",
    );
  }
  const json = readJsonFile(file, who);
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new CheckpointError(`${who}: ${file} must hold a JSON object`, folder, "config.json");
  }
  return json as Record<string, unknown>;
}

/**
 * The weights of a model folder: model.safetensors, or the shards model.safetensors.index.json lists. The tensors
 * are created in the caller's scope. Pickle checkpoints (pytorch_model.bin) are refused with advice.
 *
 * @returns the tensors by checkpoint key, and the file name to mention in errors
 */
export function readCheckpointWeights(folder: string, who: string): { tensors: Map<string, Tensor>; file: string } {
  const single = path.join(folder, "model.safetensors");
  if (fs.existsSync(single)) return { tensors: torch.loadSafetensorsSync(single).tensors, file: "model.safetensors" };
  const index = path.join(folder, "model.safetensors.index.json");
  if (fs.existsSync(index)) {
    const json = readJsonFile(index, who) as { weight_map?: unknown };
    const weightMap = json.weight_map;
    if (weightMap === null || typeof weightMap !== "object") {
      throw new CheckpointError(`${who}: ${index} has no 'weight_map' object`, folder, path.basename(index));
    }
    const tensors = new Map<string, Tensor>();
    for (const shard of new Set(Object.values(weightMap as Record<string, unknown>))) {
      if (typeof shard !== "string") {
        throw new CheckpointError(
          `${who}: ${index}: weight_map values must be file names`,
          folder,
          path.basename(index),
        );
      }
      for (const [key, tensor] of torch.loadSafetensorsSync(path.join(folder, shard)).tensors) tensors.set(key, tensor);
    }
    return { tensors, file: "model.safetensors.index.json" };
  }
  const pickle = ["pytorch_model.bin", "model.pt", "model.bin"].find((name) => fs.existsSync(path.join(folder, name)));
  const hint =
    pickle === undefined
      ? ""
      : ` (it has ${pickle}, a pickle checkpoint, which is not read for safety: convert it with Python, ` +
        `AutoModel.from_pretrained(folder).save_pretrained(folder, safe_serialization=True))`;
  throw new CheckpointError(`${who}: ${folder} has no model.safetensors${hint}`, folder, "model.safetensors");
}

function keyList(keys: string[]): string {
  const shown = keys.slice(0, 8).map((k) => `'${k}'`);
  return keys.length > 8 ? `${shown.join(", ")} and ${keys.length - 8} more` : shown.join(", ");
}

/** Where a state dict comes from, for `loadCheckedStateDict`'s errors. */
export interface CheckpointSource {
  /** Who is loading ("loadEncoder"). */
  who: string;
  folder: string;
  /** The weights file, relative to folder. */
  file: string;
  /** model key -> the key in the file, when they differ (a stripped prefix); default identical. */
  fileKeys?: ReadonlyMap<string, string>;
}

/**
 * Copies `state` into `model` after checking that both have the same keys and shapes, with errors that name the
 * folder, the file and each key (CheckpointError). Tied tensors (listed under several names) need every name.
 */
export function loadCheckedStateDict(
  model: nn.Module,
  state: ReadonlyMap<string, Tensor>,
  source: CheckpointSource,
): void {
  const { who, folder, file } = source;
  const fileKey = (key: string) => source.fileKeys?.get(key) ?? key;
  const className = model.constructor.name;
  const expected = model.stateDict({ keepVars: true });
  const missing = [...expected.keys()].filter((key) => !state.has(key));
  if (missing.length > 0) {
    throw new CheckpointError(
      `${who}(${folder}): ${file} lacks ${missing.length} weight(s) that ${className} built from config.json needs: ` +
        `${keyList(missing)}. Check that config.json matches the checkpoint.`,
      folder,
      file,
      missing,
    );
  }
  const unexpected = [...state.keys()].filter((key) => !expected.has(key)).map(fileKey);
  if (unexpected.length > 0) {
    throw new CheckpointError(
      `${who}(${folder}): ${file} has ${unexpected.length} weight(s) that ${className} built from config.json does not: ` +
        `${keyList(unexpected)}. Check that config.json matches the checkpoint.`,
      folder,
      file,
      unexpected,
    );
  }
  for (const [key, target] of expected) {
    const got = state.get(key)!.shape;
    const want = target.shape;
    if (got.length !== want.length || got.some((n, i) => n !== want[i])) {
      throw new CheckpointError(
        `${who}(${folder}): ${file}: '${fileKey(key)}' has shape [${got.join(", ")}], but config.json gives ${className} ` +
          `a '${key}' of shape [${want.join(", ")}]. Check that config.json matches the checkpoint.`,
        folder,
        file,
        [fileKey(key)],
      );
    }
  }
  model.loadStateDict(state);
}

/**
 * Loads an encoder from a Hugging Face model folder: folder/config.json picks the architecture (`model_type`) and
 * folder/model.safetensors (or its shards) gives the weights. Task checkpoints load too: BertForMaskedLM's
 * "bert." prefix is stripped and its "cls.*" head ignored; a checkpoint without a pooler gives a model without
 * one. The model is returned in eval mode, as transformers' from_pretrained does; call `train()` to train it.
 *
 * @param folder the model folder
 * @throws CheckpointError naming the folder, the file and the key when a file is missing, or the weights'
 *   names or shapes disagree with config.json; a config field of the wrong type throws naming the field
 *
 * @example
 * const bert = loadEncoder("models/bert-tiny");
 * const { lastHiddenState } = bert.forward({ inputIds, attentionMask });
 */
export function loadEncoder(folder: string): EncoderModel {
  const who = "loadEncoder";
  const configJson = readConfigJson(folder, who);
  const configFile = path.join(folder, "config.json");
  const architecture = architectureFor(configJson, configFile);
  return torch.scope(() => {
    const { tensors, file } = readCheckpointWeights(folder, who); // freed when this scope ends
    const fileKeys = architecture.encoderKeys([...tensors.keys()]);
    const state = new Map([...fileKeys].map(([key, fileKey]) => [key, tensors.get(fileKey)!]));
    const model = architecture.create(configJson, { source: configFile, checkpointKeys: new Set(fileKeys.keys()) });
    try {
      loadCheckedStateDict(model, state, { who, folder, file, fileKeys });
    } catch (error) {
      model.dispose();
      throw error;
    }
    return model.eval();
  });
}

/**
 * Writes `model` as a Hugging Face model folder: config.json (sorted keys, `architectures` naming the
 * registry's class, e.g. BertModel) and model.safetensors (the model's state dict under its own keys, no prefix,
 * metadata {format: "pt"}), each through a temporary file renamed into place. Python's
 * `AutoModel.from_pretrained(folder)` loads the result.
 *
 * @example
 * saveEncoder(bert, "out/my-bert"); // out/my-bert/config.json, out/my-bert/model.safetensors
 */
export function saveEncoder(model: EncoderModel, folder: string): void {
  const architecture = architectureFor({ model_type: model.modelType }, `saveEncoder: ${model.constructor.name}`);
  fs.mkdirSync(folder, { recursive: true });
  const config: Record<string, unknown> = {
    ...model.configJson,
    architectures: [architecture.className],
    model_type: model.modelType,
  };
  const sorted = Object.fromEntries(Object.entries(config).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  writeFileAtomic(path.join(folder, "config.json"), `${JSON.stringify(sorted, null, 2)}\n`);
  torch.scope(() =>
    torch.saveSafetensorsSync(path.join(folder, "model.safetensors"), model.stateDict(), { format: "pt" }),
  );
}

function writeFileAtomic(file: string, text: string): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    fs.writeFileSync(temp, text);
    fs.renameSync(temp, file);
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

// ---- BERT ---------------------------------------------------------------------------------------

/** Buffers transformers keeps in BertEmbeddings that some checkpoints store; they are rebuilt, not loaded. */
const BERT_IGNORED_KEYS = new Set(["embeddings.position_ids", "embeddings.token_type_ids"]);

/** encoder key -> checkpoint key for BERT: "bert."-prefixed task checkpoints lose the prefix and their heads. */
function bertEncoderKeys(checkpointKeys: readonly string[]): Map<string, string> {
  const prefixed = checkpointKeys.some((key) => key.startsWith("bert."));
  const out = new Map<string, string>();
  for (const key of checkpointKeys) {
    let name = key;
    if (prefixed) {
      if (!key.startsWith("bert.")) continue; // a task head: cls.*, classifier.*, qa_outputs.*
      name = key.slice("bert.".length);
    } else if (key.startsWith("cls.")) {
      continue;
    }
    if (!BERT_IGNORED_KEYS.has(name)) out.set(name, key);
  }
  return out;
}

registerArchitecture("bert", {
  className: "BertModel",
  create(configJson, options) {
    const config = BertConfig.fromJson(configJson, options.source);
    const keys = options.checkpointKeys;
    const addPoolingLayer = keys === undefined || [...keys].some((key) => key.startsWith("pooler."));
    return new BertModel(config, { addPoolingLayer });
  },
  encoderKeys: bertEncoderKeys,
});
