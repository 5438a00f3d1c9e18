// Dense: a feed-forward layer with an activation on the sentence embedding.
import * as fs from "node:fs";
import * as path from "node:path";
import * as torch from "@stts/torch";
import { functional as F, nn, type Tensor } from "@stts/torch";
import { requireFeature, type Features } from "../features.js";
import { camelToSnake, ConfigReader, loadWeights, saveWeights, snakeToCamel, writeJson } from "./module-io.js";

/** The activations Dense knows, by the reference's `fullname(activation_function)`. */
const ACTIVATIONS: Record<string, (x: Tensor) => Tensor> = {
  "torch.nn.modules.activation.Tanh": (x) => F.tanh(x),
  "torch.nn.modules.linear.Identity": (x) => x,
  "torch.nn.modules.activation.ReLU": (x) => F.relu(x),
  "torch.nn.modules.activation.GELU": (x) => F.gelu(x),
  "torch.nn.modules.activation.Sigmoid": (x) => F.sigmoid(x),
};

/** The activation names Dense accepts: a full name, "torch.nn.Tanh", or just "Tanh". */
export const DENSE_ACTIVATIONS = Object.keys(ACTIVATIONS);

/** Options of `Dense`. */
export interface DenseOptions {
  /** Add a learnable bias (default true). */
  bias?: boolean;
  /** The activation's full PyTorch name (default "torch.nn.modules.activation.Tanh"); see DENSE_ACTIVATIONS. */
  activationFunction?: string;
  /** Initial weight [outFeatures, inFeatures] (copied; default PyTorch's Linear initialisation). */
  initWeight?: Tensor;
  /** Initial bias [outFeatures] (copied). */
  initBias?: Tensor;
  /** The feature read (default "sentenceEmbedding"). */
  moduleInputName?: string;
  /** The feature written (default: moduleInputName). */
  moduleOutputName?: string;
}

/**
 * A fully connected layer with an activation, applied to the sentence embedding
 * (sentence-transformers' `models.Dense`): sentenceEmbedding = activation(linear(sentenceEmbedding)).
 * Saved as config.json (`in_features`, `out_features`, `bias`, `activation_function`; `module_input_name` and
 * `module_output_name` only when not the default, so releases whose Dense lacks them load it too; v6 writes
 * them always) and model.safetensors (`linear.weight`, `linear.bias`), as the reference.
 *
 * @example
 * const dense = new Dense(768, 256, { activationFunction: "torch.nn.modules.activation.Tanh" });
 * const out = dense.forward({ sentenceEmbedding: torch.randn([2, 768]) }).sentenceEmbedding; // [2, 256]
 *
 * @param inFeatures input width
 * @param outFeatures output width
 * @param options bias (default true), activationFunction (default Tanh), initWeight/initBias (default random),
 *   moduleInputName / moduleOutputName (default "sentenceEmbedding")
 */
export class Dense extends nn.Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly bias: boolean;
  /** The canonical full name, e.g. "torch.nn.modules.activation.Tanh". */
  readonly activationFunction: string;
  readonly moduleInputName: string;
  readonly moduleOutputName: string;
  readonly linear: nn.Linear;
  readonly #activation: (x: Tensor) => Tensor;

  constructor(inFeatures: number, outFeatures: number, options: DenseOptions = {}) {
    super();
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.bias = options.bias ?? true;
    this.activationFunction = canonicalActivation(options.activationFunction ?? "torch.nn.modules.activation.Tanh");
    this.#activation = ACTIVATIONS[this.activationFunction]!;
    this.moduleInputName = options.moduleInputName ?? "sentenceEmbedding";
    this.moduleOutputName = options.moduleOutputName ?? this.moduleInputName;
    this.linear = this.registerModule("linear", new nn.Linear(inFeatures, outFeatures, { bias: this.bias }));
    torch.noGrad(() => {
      if (options.initWeight !== undefined) this.linear.weight.copy_(options.initWeight);
      if (options.initBias !== undefined) {
        if (this.linear.bias === null) throw new Error("Dense: initBias given but bias is false");
        this.linear.bias.copy_(options.initBias);
      }
    });
  }

  /** Reads config.json and model.safetensors from a module folder (e.g. "2_Dense"). */
  static load(folder: string): Dense {
    const config = ConfigReader.fromFile(path.join(folder, "config.json"), "Dense");
    const activation = config.string("activation_function", "torch.nn.modules.activation.Tanh");
    if (findActivation(activation) === undefined) {
      throw config.error("activation_function", `one of ${DENSE_ACTIVATIONS.join(", ")}`, activation);
    }
    // sentence-transformers v6 writes use_residual only when true (a residual connection this Dense lacks).
    if (config.boolean("use_residual", false)) {
      throw config.error(
        "use_residual",
        "false (a residual Dense, new in sentence-transformers v6, is not supported)",
        true,
      );
    }
    const dense = new Dense(config.integer("in_features", { min: 1 }), config.integer("out_features", { min: 1 }), {
      bias: config.boolean("bias", true),
      activationFunction: activation,
      moduleInputName: snakeToCamel(config.string("module_input_name", "sentence_embedding")),
      moduleOutputName: config.has("module_output_name")
        ? snakeToCamel(config.string("module_output_name"))
        : undefined,
    });
    loadWeights(dense, folder, "Dense");
    return dense;
  }

  getSentenceEmbeddingDimension(): number {
    return this.outFeatures;
  }

  /** What config.json holds (the input/output names only when not the default). */
  getConfigDict(): Record<string, string | number | boolean> {
    const config: Record<string, string | number | boolean> = {
      in_features: this.inFeatures,
      out_features: this.outFeatures,
      bias: this.bias,
      activation_function: this.activationFunction,
    };
    if (this.moduleInputName !== "sentenceEmbedding" || this.moduleOutputName !== "sentenceEmbedding") {
      config.module_input_name = camelToSnake(this.moduleInputName);
      config.module_output_name = camelToSnake(this.moduleOutputName);
    }
    return config;
  }

  /** input [batch, inFeatures] -> output [batch, outFeatures] */
  override forward(features: Features): Features {
    const input = requireFeature(features, this.moduleInputName, "Dense");
    const output = torch.scope(() => this.#activation(this.linear.forward(input)));
    return { ...features, [this.moduleOutputName]: output };
  }

  /** Writes config.json and model.safetensors into `folder`. */
  save(folder: string): void {
    fs.mkdirSync(folder, { recursive: true });
    writeJson(path.join(folder, "config.json"), this.getConfigDict());
    saveWeights(this, path.join(folder, "model.safetensors"));
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias}, activationFunction=${this.activationFunction}`;
  }
}

/** "Tanh", "torch.nn.Tanh" or the full name -> the full name; throws for an unknown activation. */
function canonicalActivation(name: string): string {
  const match = findActivation(name);
  if (match === undefined) {
    throw new Error(`Dense: unknown activation function '${name}' (known: ${DENSE_ACTIVATIONS.join(", ")})`);
  }
  return match;
}

function findActivation(name: string): string | undefined {
  if (name in ACTIVATIONS) return name;
  const short = name.split(".").pop();
  return DENSE_ACTIVATIONS.find((full) => full.split(".").pop() === short);
}
