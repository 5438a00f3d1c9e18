// `stts info <model>`: what a model is made of, its dimensions and settings.
import type { Command } from "commander";
import { modelArchitectureString } from "../model-card/generate.js";
import type { SentenceTransformer } from "../sentence-transformer.js";
import { loadModel, type CliIo } from "./common.js";

/** What `stts info` reports about a model. */
export interface ModelInfo {
  model: string;
  architecture: string;
  modules: string[];
  outputDimensionality: number | null;
  /** null: unknown; Infinity is reported as null too in JSON, see `unlimitedSequenceLength`. */
  maxSeqLength: number | null;
  unlimitedSequenceLength: boolean;
  similarityFnName: string;
  parameters: number;
  trainableParameters: number;
  prompts: Record<string, string>;
  defaultPromptName: string | null;
  truncateDim: number | null;
}

/** The facts `stts info` prints about `model` (loaded from `name`). */
export function modelInfo(name: string, model: SentenceTransformer): ModelInfo {
  const parameters = model.parameters();
  const maxSeqLength = model.maxSeqLength;
  return {
    model: name,
    architecture: modelArchitectureString(model),
    modules: model.moduleList.map((module) => module.constructor.name),
    outputDimensionality: model.getSentenceEmbeddingDimension(),
    maxSeqLength: maxSeqLength === Infinity ? null : maxSeqLength,
    unlimitedSequenceLength: maxSeqLength === Infinity,
    similarityFnName: model.similarityFnName,
    parameters: parameters.reduce((total, p) => total + p.numel, 0),
    trainableParameters: parameters.reduce((total, p) => total + (p.requiresGrad ? p.numel : 0), 0),
    prompts: { ...model.prompts },
    defaultPromptName: model.defaultPromptName,
    truncateDim: model.truncateDim,
  };
}

function formatInfo(info: ModelInfo): string {
  const prompts = Object.entries(info.prompts);
  const lines = [
    `Model: ${info.model}`,
    info.architecture,
    `Output dimensionality: ${info.outputDimensionality ?? "unknown"}`,
    `Max sequence length: ${info.unlimitedSequenceLength ? "unlimited" : info.maxSeqLength === null ? "unknown" : `${info.maxSeqLength} tokens`}`,
    `Similarity function: ${info.similarityFnName}`,
    `Parameters: ${info.parameters.toLocaleString("en-US")} (trainable: ${info.trainableParameters.toLocaleString("en-US")})`,
    `Prompts: ${prompts.length === 0 ? "none" : prompts.map(([key, text]) => `${key}: ${JSON.stringify(text)}`).join(", ")}`,
    `Default prompt: ${info.defaultPromptName ?? "none"}`,
  ];
  if (info.truncateDim !== null) lines.push(`Truncate dim: ${info.truncateDim}`);
  return `${lines.join("\n")}\n`;
}

/** Adds `info` to the program. */
export function registerInfoCommand(program: Command, io: CliIo): void {
  program
    .command("info")
    .description(
      "print a model's module stack, dimensions, max sequence length, similarity function, parameter count and prompts",
    )
    .argument("<model>", "a model folder or Hugging Face Hub id")
    .option("--json", "print the facts as one JSON object")
    .action(async (name: string, options: { json?: boolean }) => {
      const model = await loadModel(name, io);
      try {
        const info = modelInfo(name, model);
        io.stdout(options.json === true ? `${JSON.stringify(info, null, 2)}\n` : formatInfo(info));
      } finally {
        model.dispose();
      }
    });
}
