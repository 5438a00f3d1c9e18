// File helpers shared by the modules' save/load: typed config fields with errors naming the file and
// key, and module weights as safetensors (the reference's `save_safetensors_model` layout).
import * as fs from "node:fs";
import * as path from "node:path";
import * as torch from "@stts/torch";
import type { nn } from "@stts/torch";
import { readJsonObject, type JsonObject } from "../models/tokenizer.js";

export { readJsonObject, type JsonObject };

/**
 * Reads typed fields of a parsed JSON config; each error names who reads, the file and the key.
 *
 * @example
 * const config = ConfigReader.fromFile("2_Dense/config.json", "Dense");
 * const inFeatures = config.integer("in_features", { min: 1 });
 */
export class ConfigReader {
  constructor(
    readonly json: JsonObject,
    /** The file the JSON came from (for messages). */
    readonly file: string,
    /** The class reading it ("Dense"), for messages. */
    readonly who: string,
  ) {}

  /** Reads `file`, which must exist and hold a JSON object. */
  static fromFile(file: string, who: string): ConfigReader {
    if (!fs.existsSync(file)) throw new Error(`${who}: missing file ${file}`);
    try {
      return new ConfigReader(readJsonObject(file), file, who);
    } catch (error) {
      throw new Error(`${who}: ${(error as Error).message}`);
    }
  }

  has(key: string): boolean {
    return this.json[key] !== undefined;
  }

  /** An integer >= min (default 0); `fallback` when the key is absent (required when no fallback). */
  integer(key: string, options: { min?: number; fallback?: number } = {}): number {
    const value = this.#value(key, options.fallback);
    const min = options.min ?? 0;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
      throw this.error(key, `an integer >= ${min}`, value);
    }
    return value;
  }

  /** Like `integer`, but null (or an absent key) gives null. */
  optionalInteger(key: string, options: { min?: number } = {}): number | null {
    const value = this.json[key];
    if (value === undefined || value === null) return null;
    return this.integer(key, options);
  }

  boolean(key: string, fallback?: boolean): boolean {
    const value = this.#value(key, fallback);
    if (typeof value !== "boolean") throw this.error(key, "true or false", value);
    return value;
  }

  string(key: string, fallback?: string): string {
    const value = this.#value(key, fallback);
    if (typeof value !== "string") throw this.error(key, "a string", value);
    return value;
  }

  /** A string or null; null when the key is absent. */
  optionalString(key: string): string | null {
    const value = this.json[key];
    if (value === undefined || value === null) return null;
    if (typeof value !== "string") throw this.error(key, "a string or null", value);
    return value;
  }

  /** An object whose values are all strings ({} when absent). */
  stringRecord(key: string): Record<string, string> {
    const value = this.json[key];
    if (value === undefined || value === null) return {};
    if (typeof value !== "object" || Array.isArray(value)) throw this.error(key, "an object of strings", value);
    for (const [name, text] of Object.entries(value as JsonObject)) {
      if (typeof text !== "string") throw this.error(`${key}.${name}`, "a string", text);
    }
    return { ...(value as Record<string, string>) };
  }

  /** The error for a field of the wrong type. */
  error(key: string, expected: string, got: unknown): Error {
    return new Error(`${this.who}: ${this.file}: '${key}' must be ${expected}, got ${describeValue(got)}`);
  }

  #value(key: string, fallback: unknown): unknown {
    const value = this.json[key];
    if (value !== undefined) return value;
    if (fallback !== undefined) return fallback;
    throw new Error(`${this.who}: ${this.file}: missing key '${key}'`);
  }
}

/** A short description of a JSON value for error messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** A Python feature name as our camelCase feature key: "sentence_embedding" -> "sentenceEmbedding". */
export function snakeToCamel(name: string): string {
  return name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** A feature key as the Python name: "tokenEmbeddings" -> "token_embeddings". */
export function camelToSnake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Writes JSON with two-space indentation, as the reference's `json.dump(..., indent=2)`. */
export function writeJson(file: string, value: unknown): void {
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
}

/** Saves a module's state dict to `file` as safetensors with `{"format": "pt"}` metadata. */
export function saveWeights(module: nn.Module, file: string): void {
  torch.scope(() => {
    const state = module.stateDict();
    const contiguous = new Map([...state].map(([key, tensor]) => [key, tensor.contiguous()]));
    torch.saveSafetensorsSync(file, contiguous, { format: "pt" });
  });
}

/**
 * Loads `folder/model.safetensors` into a module (strict: every key must match). `rename` maps a
 * file key to the module's key (return null to skip the key). Errors name the file.
 */
export function loadWeights(
  module: nn.Module,
  folder: string,
  who: string,
  rename: (key: string) => string | null = (key) => key,
): void {
  const file = weightsFile(folder, who);
  torch.scope(() => {
    const { tensors } = torch.loadSafetensorsSync(file);
    const state = new Map<string, torch.Tensor>();
    for (const [key, tensor] of tensors) {
      const target = rename(key);
      if (target !== null) state.set(target, tensor);
    }
    try {
      module.loadStateDict(state);
    } catch (error) {
      throw new Error(`${who}: ${file}: ${(error as Error).message}`);
    }
  });
}

/** The tensors of `folder/model.safetensors`, untracked: the caller disposes them. */
export function readWeights(folder: string, who: string): Map<string, torch.Tensor> {
  return torch.loadSafetensorsSync(weightsFile(folder, who)).tensors;
}

function weightsFile(folder: string, who: string): string {
  const file = path.join(folder, "model.safetensors");
  if (fs.existsSync(file)) return file;
  if (fs.existsSync(path.join(folder, "pytorch_model.bin"))) {
    throw new Error(
      `${who}: ${folder} holds pytorch_model.bin (a pickle checkpoint), which is never read; ` +
        `convert it to model.safetensors`,
    );
  }
  throw new Error(`${who}: missing file ${file}`);
}
