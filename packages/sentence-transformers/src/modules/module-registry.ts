// Module types of a SentenceTransformer folder: modules.json's `type` <-> the class that loads and saves it.
import * as fs from "node:fs";
import type { nn } from "@stts/torch";
import type { Features } from "../features.js";
import type { TokenizerInput } from "../models/tokenizer.js";
import { Dense } from "./dense.js";
import { Normalize } from "./normalize.js";
import { Pooling } from "./pooling.js";
import { StaticEmbedding } from "./static-embedding.js";
import { Transformer } from "./transformer.js";

/**
 * A module of a SentenceTransformer's stack: it maps features to features. The first module is an
 * input module (it has `tokenize`); the sentence embedding's width comes from the last module that
 * reports one.
 */
export interface SentenceTransformerModule extends nn.Module {
  forward(features: Features): Features;
  /** Input modules: texts (or pairs) -> features. */
  tokenize?(texts: readonly TokenizerInput[]): Features;
  /** Input modules: the truncation length (null: unknown, Infinity: none). */
  maxSeqLength?: number | null;
  /** The width of `sentenceEmbedding` after this module, or null. */
  getSentenceEmbeddingDimension?(): number | null;
}

/** How one module class is named in modules.json and read from / written to its folder. */
export interface ModuleType<M extends SentenceTransformerModule = SentenceTransformerModule> {
  /** The class name, also the folder suffix ("1_Pooling"). */
  readonly className: string;
  /** What modules.json's `type` holds for it ("sentence_transformers.models.Pooling"). */
  readonly typeName: string;
  /** Whether `module` is of this type. */
  matches(module: SentenceTransformerModule): module is M;
  /** Reads a module from its folder. */
  load(folder: string): M;
  /** Writes a module's files into its folder (which exists). */
  save(module: M, folder: string): void;
  /**
   * Saved in the model's root folder when it is the first module (the reference's input modules:
   * Transformer, StaticEmbedding).
   */
  readonly saveInRoot?: boolean;
  /** Loading works without the module's folder (Normalize: the Hub drops empty folders). Default false. */
  readonly folderOptional?: boolean;
}

/** The prefix of the reference's module type names. */
const REFERENCE_PREFIX = "sentence_transformers.";

const BUILT_IN: ModuleType[] = [
  {
    className: "Transformer",
    typeName: "sentence_transformers.models.Transformer",
    saveInRoot: true,
    matches: (module): module is Transformer => module instanceof Transformer,
    load: (folder) => Transformer.load(folder),
    save: (module, folder) => (module as Transformer).save(folder),
  },
  {
    className: "Pooling",
    typeName: "sentence_transformers.models.Pooling",
    matches: (module): module is Pooling => module instanceof Pooling,
    load: (folder) => Pooling.load(folder),
    save: (module, folder) => (module as Pooling).save(folder),
  },
  {
    className: "Dense",
    typeName: "sentence_transformers.models.Dense",
    matches: (module): module is Dense => module instanceof Dense,
    load: (folder) => Dense.load(folder),
    save: (module, folder) => (module as Dense).save(folder),
  },
  {
    className: "Normalize",
    typeName: "sentence_transformers.models.Normalize",
    folderOptional: true,
    matches: (module): module is Normalize => module instanceof Normalize,
    load: (folder) => Normalize.load(folder),
    save: (module, folder) => (module as Normalize).save(folder),
  },
  {
    className: "StaticEmbedding",
    typeName: "sentence_transformers.models.StaticEmbedding",
    saveInRoot: true,
    matches: (module): module is StaticEmbedding => module instanceof StaticEmbedding,
    load: (folder) => StaticEmbedding.load(folder),
    save: (module, folder) => (module as StaticEmbedding).save(folder),
  },
];

const CUSTOM: ModuleType[] = [];

/**
 * Registers a custom module type, so SentenceTransformer folders naming `typeName` load with it and
 * models holding it save with it. Custom types are tried before the built-in ones.
 *
 * @example
 * registerModuleType({
 *   className: "Dropout", typeName: "my_package.Dropout",
 *   matches: (m): m is MyDropout => m instanceof MyDropout,
 *   load: (folder) => MyDropout.load(folder), save: (m, folder) => m.save(folder),
 * });
 */
export function registerModuleType<M extends SentenceTransformerModule>(type: ModuleType<M>): void {
  const index = CUSTOM.findIndex((known) => known.typeName === type.typeName);
  if (index >= 0) CUSTOM.splice(index, 1);
  CUSTOM.unshift(type as unknown as ModuleType);
}

/** Every known module type name (custom ones first). */
export function knownModuleTypeNames(): string[] {
  return [...CUSTOM, ...BUILT_IN].map((type) => type.typeName);
}

/**
 * The module type for a modules.json `type`: an exact type name, a bare class name ("Pooling"), or
 * any `sentence_transformers.*` path ending in a built-in class name (e.g. the legacy
 * "sentence_transformers.models.Pooling", or "sentence_transformers.models.Pooling.Pooling").
 * Returns undefined for unknown types.
 */
export function findModuleType(typeName: string): ModuleType | undefined {
  const exact = [...CUSTOM, ...BUILT_IN].find((type) => type.typeName === typeName);
  if (exact !== undefined) return exact;
  const parts = typeName.split(".");
  const className = parts[parts.length - 1];
  const isReference = typeName.startsWith(REFERENCE_PREFIX) || parts.length === 1;
  return isReference ? BUILT_IN.find((type) => type.className === className) : undefined;
}

/** The module type that saves `module`; throws naming its class when none does. */
export function moduleTypeOf(module: SentenceTransformerModule): ModuleType {
  const type = [...CUSTOM, ...BUILT_IN].find((candidate) => candidate.matches(module));
  if (type === undefined) {
    throw new Error(
      `SentenceTransformer.save: no module type is registered for ${module.constructor.name} ` +
        `(register one with registerModuleType)`,
    );
  }
  return type;
}

/**
 * Loads one module of a SentenceTransformer folder from `folder`, by its modules.json `type`.
 * `where` describes the modules.json entry for errors.
 */
export function loadModule(typeName: string, folder: string, where: string): SentenceTransformerModule {
  const type = findModuleType(typeName);
  if (type === undefined) {
    throw new Error(`${where}: unknown module type '${typeName}' (known: ${knownModuleTypeNames().join(", ")})`);
  }
  if (!fs.existsSync(folder) && type.folderOptional !== true) {
    throw new Error(`${where}: missing folder ${folder} for module type '${typeName}'`);
  }
  return type.load(folder);
}
