// AdaptiveLayerLoss: train a loss on earlier layers too, so the model can be cut short at inference.
import * as torch from "@stts/torch";
import { functional as F, type Tensor } from "@stts/torch";
import type { EmbeddingModel, Features } from "../features.js";
import { GISTEmbedLoss } from "./gist-embed-loss.js";
import { GradCacheLoss } from "./grad-cache.js";
import type { ConfigValue } from "./loss.js";
import { Loss } from "./loss.js";
import type { InputColumns, DataFormatId, LossCategory } from "./loss-inputs.js";
import {
  checkEmbeddingsLoss,
  innerLoss,
  MatryoshkaLoss,
  sampleIndices,
  type EmbeddingsLoss,
} from "./matryoshka-loss.js";

/**
 * What AdaptiveLayerLoss needs from a model to embed with earlier layers (SentenceTransformer provides
 * it): while `outputHiddenStates` is true, `forward` also returns `allLayerEmbeddings` (the
 * Transformer's hidden states: index 0 the embedding output, then layers 1..L, each
 * [batch, seq, hidden]); `forwardFromTokenEmbeddings(features)` runs the modules after the
 * Transformer (pooling, dense, normalize, ...) on features whose `tokenEmbeddings` are given, and
 * returns them with `sentenceEmbedding`.
 */
export interface LayerwiseEmbeddingModel extends EmbeddingModel {
  outputHiddenStates: boolean;
  forwardFromTokenEmbeddings(features: Features): Features;
}

/** Whether `model` can embed with earlier layers (see LayerwiseEmbeddingModel). */
export function isLayerwiseEmbeddingModel(model: EmbeddingModel): model is LayerwiseEmbeddingModel {
  const candidate = model as Partial<LayerwiseEmbeddingModel>;
  return (
    typeof candidate.forwardFromTokenEmbeddings === "function" && typeof candidate.outputHiddenStates === "boolean"
  );
}

/** Options of `AdaptiveLayerLoss`. */
export interface AdaptiveLayerLossOptions {
  /** Earlier layers used per step: -1 = all, k > 0 = a random k (default 1). The final layer is always used. */
  nLayersPerStep?: number;
  /** Weight of the final layer's loss; default 1. */
  lastLayerWeight?: number;
  /** Weight of the earlier layers' losses; default 1. */
  priorLayersWeight?: number;
  /** Weight of the KL-divergence term; default 1. */
  klDivWeight?: number;
  /** Temperature of the KL-divergence term; 0 turns it off; default 0.3. */
  klTemperature?: number;
}

/**
 * A loss modifier after 2DMSE (Li et al. 2024): the inner loss is computed on the final layer's
 * embeddings and on those of earlier layers (the Transformer's hidden states at that layer, through
 * the rest of the model, e.g. pooling), plus a KL divergence pulling each earlier layer's embedding
 * distribution towards the final layer's. With L layers and the set S of earlier layers used this
 * step (layer l = 1..L-1, all of them when nLayersPerStep is -1):
 *
 *   loss = lastLayerWeight * inner(final)
 *        + sum_{l in S} [ inner(layer l) / l / |S| * priorLayersWeight
 *                         + KL(softmax(final / T) || softmax(layer l / T)) * T * klDivWeight ]
 *
 * where the KL term ("batchmean") compares the embeddings of all columns stacked, row by row over
 * the embedding dimensions, T = klTemperature (the term is skipped when T is 0), and gradients flow
 * into both sides. With nLayersPerStep = k the k layers are drawn with torch.randperm from the
 * engine's generator (the reference uses Python's `random`).
 *
 * `forward` needs a LayerwiseEmbeddingModel (it sets `outputHiddenStates` for the call);
 * `computeLossFromLayerEmbeddings` takes the per-layer sentence embeddings directly. Cached (GradCache)
 * inner losses are not supported, as in the reference.
 *
 * Columns and labels: those of the inner loss.
 *
 * @param model the model to train
 * @param loss the inner loss (any loss with computeLossFromEmbeddings)
 * @param options nLayersPerStep (default 1), lastLayerWeight (default 1), priorLayersWeight (default 1),
 *   klDivWeight (default 1), klTemperature (default 0.3)
 *
 * @example
 * const loss = new AdaptiveLayerLoss(model, new MultipleNegativesRankingLoss(model), { nLayersPerStep: 1 });
 * const value = loss.forward([anchors, positives], null);
 */
export class AdaptiveLayerLoss extends Loss {
  /** Those of the inner loss: see `loss`'s class. */
  static readonly inputColumns: InputColumns = { min: 1, max: null, roles: ["columns of the inner loss..."] };
  /** "inner": the labels of the wrapped loss (see its class's labelKind). */
  static readonly labelKind = "inner" as const;
  static readonly category: LossCategory = "modifier";
  static readonly description: string =
    "Applies the wrapped loss to the output of earlier layers too, with a KL term towards the last layer, so that the model can be cut to fewer layers.";
  static readonly dataFormats: readonly DataFormatId[] = [];
  static readonly commonChoiceFor: readonly DataFormatId[] = [];

  readonly loss: EmbeddingsLoss;
  readonly nLayersPerStep: number;
  readonly lastLayerWeight: number;
  readonly priorLayersWeight: number;
  readonly klDivWeight: number;
  readonly klTemperature: number;

  constructor(model: EmbeddingModel, loss: Loss, options: AdaptiveLayerLossOptions = {}) {
    super(model);
    const who = new.target.name;
    const cached = loss instanceof MatryoshkaLoss ? loss.loss : loss;
    if (cached instanceof GradCacheLoss) {
      throw new Error(
        `${who} does not support ${cached.constructor.name} (GradCache); use the non-cached loss, e.g. ${cached.constructor.name.replace(/^Cached/, "")}`,
      );
    }
    this.loss = this.registerModule("loss", checkEmbeddingsLoss(who, loss));
    this.nLayersPerStep = options.nLayersPerStep ?? 1;
    this.lastLayerWeight = options.lastLayerWeight ?? 1;
    this.priorLayersWeight = options.priorLayersWeight ?? 1;
    this.klDivWeight = options.klDivWeight ?? 1;
    this.klTemperature = options.klTemperature ?? 0.3;
    if (!Number.isInteger(this.nLayersPerStep)) {
      throw new Error(`${who}: nLayersPerStep must be an integer (-1 = all layers), got ${this.nLayersPerStep}`);
    }
    if (!(this.klTemperature >= 0)) throw new Error(`${who}: klTemperature must be >= 0, got ${this.klTemperature}`);
  }

  override forward(sentenceFeatures: Features[], labels: Tensor | null): Tensor {
    const model = this.model;
    if (!isLayerwiseEmbeddingModel(model)) {
      throw new Error(
        `${this.constructor.name} needs a model exposing its layers (outputHiddenStates and forwardFromTokenEmbeddings, see LayerwiseEmbeddingModel), got ${model.constructor.name}`,
      );
    }
    const previous = model.outputHiddenStates;
    model.outputHiddenStates = true;
    try {
      return torch.scope(() => {
        const outputs = sentenceFeatures.map((features) => model.forward(features));
        const final = outputs.map((out) => requireEmbedding(out, this.constructor.name));
        const hidden = outputs.map((out) => {
          const layers = out.allLayerEmbeddings;
          if (layers === undefined || layers.length < 2) {
            throw new Error(
              `${this.constructor.name}: with outputHiddenStates set the model must return allLayerEmbeddings (embedding output + every layer), got ${layers?.length ?? "none"}`,
            );
          }
          return layers;
        });
        const guides = this.loss instanceof GISTEmbedLoss ? this.loss.embedGuide(sentenceFeatures) : undefined;
        // Earlier layer l (0-based, i.e. hidden state l + 1) through the modules after the Transformer.
        const layer = (l: number): Tensor[] =>
          outputs.map((out, c) => {
            const rest: Features = { ...out, tokenEmbeddings: hidden[c]![l + 1]! };
            delete rest.sentenceEmbedding; // recomputed from this layer
            delete rest.allLayerEmbeddings;
            const pooled = model.forwardFromTokenEmbeddings(rest);
            return requireEmbedding(pooled, this.constructor.name);
          });
        return this.#combine(final, hidden[0]!.length - 1, layer, labels, guides);
      });
    } finally {
      model.outputHiddenStates = previous;
    }
  }

  /**
   * The loss from fixed sentence embeddings of every layer: `layerEmbeddings[column][layer]`, layers
   * 1..L in order (the last is the final layer), each [batch, dim]. `guideEmbeddings` go to a GIST
   * inner loss.
   */
  computeLossFromLayerEmbeddings(
    layerEmbeddings: Tensor[][],
    labels: Tensor | null,
    guideEmbeddings?: Tensor[],
  ): Tensor {
    const who = this.constructor.name;
    const numLayers = layerEmbeddings[0]?.length ?? 0;
    if (numLayers < 1 || layerEmbeddings.some((column) => column.length !== numLayers)) {
      throw new Error(
        `${who}: expected layerEmbeddings[column][layer] with the same number (>= 1) of layers per column, got [${layerEmbeddings.map((c) => c.length).join(", ")}]`,
      );
    }
    return torch.scope(() => {
      const final = layerEmbeddings.map((column) => column[numLayers - 1]!);
      const layer = (l: number): Tensor[] => layerEmbeddings.map((column) => column[l]!);
      return this.#combine(final, numLayers, layer, labels, guideEmbeddings);
    });
  }

  /** lastLayerWeight * inner(final) + the earlier layers' weighted losses and KL terms (see the class docs). */
  #combine(
    final: Tensor[],
    numLayers: number,
    layer: (l: number) => Tensor[],
    labels: Tensor | null,
    guides: Tensor[] | undefined,
  ): Tensor {
    const temperature = this.klTemperature;
    let loss = innerLoss(this.loss, final, labels, guides).mul(this.lastLayerWeight);
    const finalProbabilities = temperature > 0 ? F.softmax(torch.cat(final).div(temperature), -1) : null; // [columns * batch, dim]
    const indices = sampleIndices(numLayers - 1, this.nLayersPerStep);
    for (const l of indices) {
      const embeddings = layer(l);
      const layerLoss = innerLoss(this.loss, embeddings, labels, guides);
      loss = loss.add(
        layerLoss
          .div(1 + l)
          .div(indices.length)
          .mul(this.priorLayersWeight),
      );
      if (finalProbabilities !== null) {
        const logProbabilities = F.logSoftmax(torch.cat(embeddings).div(temperature), -1);
        const kl = F.klDiv(logProbabilities, finalProbabilities, { reduction: "batchmean" });
        loss = loss.add(kl.mul(temperature).mul(this.klDivWeight));
      }
    }
    return loss;
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return {
      loss: this.loss.constructor.name,
      nLayersPerStep: this.nLayersPerStep,
      lastLayerWeight: this.lastLayerWeight,
      priorLayersWeight: this.priorLayersWeight,
      klDivWeight: this.klDivWeight,
      klTemperature: this.klTemperature,
    };
  }

  override get citation(): string {
    return `@misc{li20242d,
    title={2D Matryoshka Sentence Embeddings},
    author={Xianming Li and Zongxi Li and Jing Li and Haoran Xie and Qing Li},
    year={2024},
    eprint={2402.14776},
    archivePrefix={arXiv},
    primaryClass={cs.CL}
}
`;
  }
}

function requireEmbedding(features: Features, who: string): Tensor {
  const out = features.sentenceEmbedding;
  if (out === undefined) throw new Error(`${who}: the model returned no sentenceEmbedding`);
  return out;
}
