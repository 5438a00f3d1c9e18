// Contrastive Tension (Carlsson et al. 2021): two copies of the model pull identical sentences together.
import * as torch from "@stts/torch";
import { functional as F, nn, type Tensor } from "@stts/torch";
import type { EmbeddingModel, Features } from "../features.js";
import { cosSim, similarityFunctionName, type SimilarityFunction } from "../util/similarity.js";
import type { ConfigValue } from "./loss.js";
import { Loss } from "./loss.js";
import {
  checkLabelledLossInputs,
  checkLossInputs,
  type InputColumns,
  type LabelKind,
  type DataFormatId,
  type LossCategory,
} from "./loss-inputs.js";
import { checkColumnCount } from "./grad-cache.js";

/** A model that can make an independent copy of itself (its own parameters, same values). */
export interface CloneableEmbeddingModel extends EmbeddingModel {
  clone(): EmbeddingModel;
}

/**
 * An independent copy of `model` (the reference's copy.deepcopy): the model's own `clone()`. There is no
 * generic deep copy of an arbitrary model in TypeScript, so models used with the Contrastive Tension
 * losses must implement `clone()` (a new model with copies of every parameter and buffer).
 */
export function copyModel(model: EmbeddingModel, who: string): EmbeddingModel {
  const clone = (model as Partial<CloneableEmbeddingModel>).clone;
  if (typeof clone !== "function") {
    throw new Error(
      `${who} needs an independent copy of the model: give the model a clone() method returning a copy with its own parameters`,
    );
  }
  const copy = clone.call(model);
  if (copy === model) throw new Error(`${who}: model.clone() returned the model itself; it must return a copy`);
  return copy;
}

const CT_CITATION = `@inproceedings{carlsson2021semantic,
    title={Semantic Re-tuning with Contrastive Tension},
    author={Fredrik Carlsson and Amaru Cuba Gyllensten and Evangelia Gogoulou and Erik Ylip{\\"a}{\\"a} Hellqvist and Magnus Sahlgren},
    booktitle={International Conference on Learning Representations},
    year={2021},
    url={https://openreview.net/forum?id=Ov_sMNau-PF}
}
`;

/** Shared by both CT losses: model1 = copy (registered when it is a Module, so it trains too), model2 = model. */
function setUpModels(loss: Loss, model: EmbeddingModel, who: string): EmbeddingModel {
  const model1 = copyModel(model, who);
  if (model1 instanceof nn.Module) loss.registerModule("model1", model1);
  return model1;
}

function embedWith(model: EmbeddingModel, features: Features, who: string): Tensor {
  const out = model.forward(features).sentenceEmbedding;
  if (out === undefined) throw new Error(`${who}: the model returned no sentenceEmbedding`);
  return out;
}

/**
 * Contrastive Tension (Carlsson et al. 2021, "Semantic Re-tuning with Contrastive Tension"): an
 * independent copy `model1` of the model (made with `model.clone()`, see copyModel) embeds column 0,
 * the model itself (`model2`, the one kept for inference) embeds column 1, and the loss is the summed
 * binary cross-entropy of the dot products u_i . v_i as logits, with label 1 for identical sentences
 * and 0 for different ones. Like the reference, both copies are trained (model1 is a registered
 * submodule when it is an nn.Module).
 *
 * Columns: (sentence, sentence) built by a CT data loader. Labels: 0/1 per pair, shape [batch].
 *
 * @param model the model to train; must implement clone()
 *
 * @example
 * const loss = new ContrastiveTensionLoss(model);
 * const value = loss.forward([first, second], torch.tensor([1, 0, 0, 0], { dtype: "int64" }));
 */
export class ContrastiveTensionLoss extends Loss {
  static readonly inputColumns: InputColumns = { min: 2, max: 2, roles: ["sentence (model1)", "sentence (model2)"] };
  static readonly labelKind: LabelKind = "binary";
  static readonly category: LossCategory = "table";
  static readonly description: string =
    "Contrastive Tension (unsupervised): two copies of the model embed a pair, and a binary cross-entropy on their dot product tells identical pairs (label 1) from random ones (label 0).";
  static readonly dataFormats: readonly DataFormatId[] = ["contrastive-tension-pairs"];
  static readonly commonChoiceFor: readonly DataFormatId[] = ["contrastive-tension-pairs"];

  /** The copy that embeds column 0. */
  readonly model1: EmbeddingModel;

  constructor(model: EmbeddingModel, _options: Record<string, never> = {}) {
    super(model);
    this.model1 = setUpModels(this, model, new.target.name);
  }

  /** The model that embeds column 1 (the one kept for inference). */
  get model2(): EmbeddingModel {
    return this.model;
  }

  override forward(sentenceFeatures: Features[], labels: Tensor | null): Tensor {
    checkColumnCount(this.constructor.name, ContrastiveTensionLoss, sentenceFeatures.length);
    return torch.scope(() => {
      const u = embedWith(this.model1, sentenceFeatures[0]!, this.constructor.name);
      const v = this.embed(sentenceFeatures[1]!);
      return this.computeLossFromEmbeddings([u, v], labels);
    });
  }

  /** The loss from fixed embeddings [u (model1), v (model2)], each [batch, dim], and 0/1 labels [batch]. */
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null): Tensor {
    const who = this.constructor.name;
    const binary = checkLabelledLossInputs(who, ContrastiveTensionLoss, embeddings, labels);
    const bad = Array.from(binary.toTypedArray(), Number).find((x) => x !== 0 && x !== 1);
    if (bad !== undefined) throw new Error(`${who}: labels must be 0 or 1 (1 = identical sentences), got ${bad}`);
    return torch.scope(() => {
      const [u, v] = embeddings as [Tensor, Tensor];
      const scores = u.mul(v).sum(-1); // [batch]: u_i . v_i
      return F.binaryCrossEntropyWithLogits(scores, binary.to(scores.dtype), { reduction: "sum" });
    });
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return {};
  }

  override get citation(): string {
    return CT_CITATION;
  }
}

/** Options of `ContrastiveTensionLossInBatchNegatives`. */
export interface ContrastiveTensionLossInBatchNegativesOptions {
  /** Initial value of exp(logitScale), which multiplies the similarities; default 20. */
  scale?: number;
  /** Similarity matrix of two batches; default cosSim. */
  similarityFct?: SimilarityFunction;
}

/**
 * Contrastive Tension with in-batch negatives: the copy `model1` embeds column 0, the model (`model2`)
 * column 1, both the same sentences; the scores `similarityFct(u, v) * exp(logitScale)` are trained
 * with cross-entropy towards the diagonal in both directions (rows and columns), averaged.
 * `logitScale` is a trainable 0-dim parameter initialised to log(scale), held in float64 (exact, and
 * a 0-dim tensor leaves the scores in the embeddings' dtype; `loss.to(dtype)` converts it). The model must implement clone() (see copyModel).
 *
 * Columns: (sentence, same sentence). Labels: none.
 *
 * @param model the model to train; must implement clone()
 * @param options scale (default 20), similarityFct (default cosSim)
 *
 * @example
 * const loss = new ContrastiveTensionLossInBatchNegatives(model, { scale: 20 });
 * const value = loss.forward([sentences, sentences], null);
 */
export class ContrastiveTensionLossInBatchNegatives extends Loss {
  static readonly inputColumns: InputColumns = { min: 2, max: 2, roles: ["sentence (model1)", "sentence (model2)"] };
  static readonly labelKind: LabelKind = "none";
  static readonly category: LossCategory = "table";
  static readonly description: string =
    "Contrastive Tension with in-batch negatives (unsupervised): two copies of the model embed the same sentence, and each embedding must find its twin among the other sentences of the batch.";
  static readonly dataFormats: readonly DataFormatId[] = ["same-text-pairs"];
  static readonly commonChoiceFor: readonly DataFormatId[] = ["same-text-pairs"];

  /** The copy that embeds column 0. */
  readonly model1: EmbeddingModel;
  readonly scale: number;
  readonly similarityFct: SimilarityFunction;

  constructor(model: EmbeddingModel, options: ContrastiveTensionLossInBatchNegativesOptions = {}) {
    super(model);
    this.scale = options.scale ?? 20;
    if (!(this.scale > 0)) throw new RangeError(`${new.target.name}: scale must be positive, got ${this.scale}`);
    this.similarityFct = options.similarityFct ?? cosSim;
    this.model1 = setUpModels(this, model, new.target.name);
    // float64, so log(scale) is exact; a 0-dim tensor does not change the dtype of the scores it multiplies.
    this.registerParameter("logitScale", torch.scalarTensor(Math.log(this.scale), { dtype: "float64" }));
  }

  /** The model that embeds column 1 (the one kept for inference). */
  get model2(): EmbeddingModel {
    return this.model;
  }

  /** The trainable log-scale (a 0-dim parameter). */
  get logitScale(): Tensor {
    return this.getParameter("logitScale");
  }

  override forward(sentenceFeatures: Features[], labels: Tensor | null): Tensor {
    checkColumnCount(this.constructor.name, ContrastiveTensionLossInBatchNegatives, sentenceFeatures.length);
    return torch.scope(() => {
      const u = embedWith(this.model1, sentenceFeatures[0]!, this.constructor.name);
      const v = this.embed(sentenceFeatures[1]!);
      return this.computeLossFromEmbeddings([u, v], labels);
    });
  }

  /** The loss from fixed embeddings [u (model1), v (model2)], each [batch, dim]. */
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null = null): Tensor {
    checkLossInputs(this.constructor.name, ContrastiveTensionLossInBatchNegatives, embeddings, labels);
    return torch.scope(() => {
      const [u, v] = embeddings as [Tensor, Tensor];
      const scores = this.similarityFct(u, v).mul(this.logitScale.exp()); // [batch, batch]
      const targets = torch.arange(0, scores.size(0), 1, { dtype: "int64", device: scores.device });
      return F.crossEntropy(scores, targets).add(F.crossEntropy(scores.t(), targets)).div(2); // symmetric
    });
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return { scale: this.scale, similarityFct: similarityFunctionName(this.similarityFct) };
  }

  override get citation(): string {
    return CT_CITATION;
  }
}
