// Normalize: scales each sentence embedding to unit L2 norm.
import * as fs from "node:fs";
import * as path from "node:path";
import { functional as F, nn } from "@stts/torch";
import { requireFeature, type Features } from "../features.js";
import { camelToSnake, ConfigReader, snakeToCamel, writeJson } from "./module-io.js";

/** Options of `Normalize`. */
export interface NormalizeOptions {
  /** The feature normalized (default "sentenceEmbedding"). */
  moduleInputName?: string;
  /** The feature written (default: moduleInputName). */
  moduleOutputName?: string;
}

/**
 * L2-normalizes the sentence embedding (sentence-transformers' `models.Normalize`), so that dot
 * product equals cosine similarity. It has no parameters: its folder ("2_Normalize") is written empty,
 * as sentence-transformers v5 does, and loading does not need it. v6 writes a config.json naming the
 * feature it normalizes (`module_input_name`, `module_output_name`); it is read when present, and
 * written only when the names are not the default.
 *
 * @example
 * const model = new SentenceTransformer([transformer, pooling, new Normalize()]);
 * const unit = new Normalize().forward({ sentenceEmbedding: x }).sentenceEmbedding; // rows of norm 1
 *
 * @param options moduleInputName (default "sentenceEmbedding"), moduleOutputName (default: moduleInputName)
 */
export class Normalize extends nn.Module {
  readonly moduleInputName: string;
  readonly moduleOutputName: string;

  constructor(options: NormalizeOptions = {}) {
    super();
    this.moduleInputName = options.moduleInputName ?? "sentenceEmbedding";
    this.moduleOutputName = options.moduleOutputName ?? this.moduleInputName;
  }

  /** Builds a Normalize from its folder: config.json when there is one (v6), else the default. */
  static load(folder: string): Normalize {
    const file = path.join(folder, "config.json");
    if (!fs.existsSync(file)) return new Normalize();
    const config = ConfigReader.fromFile(file, "Normalize");
    const input = snakeToCamel(config.string("module_input_name", "sentence_embedding"));
    return new Normalize({
      moduleInputName: input,
      moduleOutputName: config.has("module_output_name") ? snakeToCamel(config.string("module_output_name")) : input,
    });
  }

  /** features[moduleInputName] [batch, dim] -> the same rows divided by max(norm, 1e-12) */
  override forward(features: Features): Features {
    const embedding = requireFeature(features, this.moduleInputName, "Normalize");
    return { ...features, [this.moduleOutputName]: F.normalize(embedding, 2, -1) };
  }

  /** Creates the module folder: empty, or with config.json when the feature names are not the default. */
  save(folder: string): void {
    fs.mkdirSync(folder, { recursive: true });
    if (this.moduleInputName !== "sentenceEmbedding" || this.moduleOutputName !== "sentenceEmbedding") {
      writeJson(path.join(folder, "config.json"), {
        module_input_name: camelToSnake(this.moduleInputName),
        module_output_name: camelToSnake(this.moduleOutputName),
      });
    }
  }
}
