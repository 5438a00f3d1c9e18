// SoftmaxLoss: a linear classifier over (u, v, |u - v|, u * v), trained with cross-entropy (SBERT on NLI).
import * as torch from "@stts/torch";
import { functional as F, nn, type Tensor } from "@stts/torch";
import type { EmbeddingModel, Features } from "../features.js";
import type { ConfigValue } from "./loss.js";
import { Loss } from "./loss.js";
import {
  checkLabelledLossInputs,
  type InputColumns,
  type LabelKind,
  type DataFormatId,
  type LossCategory,
} from "./loss-inputs.js";
import { checkColumnCount } from "./grad-cache.js";

/** Options of `SoftmaxLoss`. */
export interface SoftmaxLossOptions {
  /** Dimension of the sentence embeddings; default model.getSentenceEmbeddingDimension() (required if that is null). */
  sentenceEmbeddingDimension?: number;
  /** Number of classes (required). */
  numLabels?: number;
  /** Concatenate u and v; default true. */
  concatenationSentRep?: boolean;
  /** Concatenate |u - v|; default true. */
  concatenationSentDifference?: boolean;
  /** Concatenate u * v; default false. */
  concatenationSentMultiplication?: boolean;
  /** The loss of (logits [batch, numLabels], labels [batch]); default mean cross-entropy. */
  lossFct?: (logits: Tensor, labels: Tensor) => Tensor;
}

function crossEntropyLoss(logits: Tensor, labels: Tensor): Tensor {
  return F.crossEntropy(logits, labels);
}

/**
 * The loss SBERT was trained with on NLI (Reimers & Gurevych 2019): embed both sentences (u, v),
 * concatenate [u, v, |u - v|, u * v] as the flags say, apply a linear classifier and take the
 * cross-entropy with the class labels. The classifier (`classifier`, an nn.Linear registered as a
 * submodule, so the loss's parameters include it) is initialised like torch.nn.Linear from the
 * default generator, in float32 (convert with `loss.to("float64")` if needed).
 *
 * Columns: (sentence_A, sentence_B). Labels: integer class ids in [0, numLabels), shape [batch].
 *
 * @param model the model to train
 * @param options sentenceEmbeddingDimension (default from the model), numLabels (required),
 *   concatenationSentRep (default true), concatenationSentDifference (default true),
 *   concatenationSentMultiplication (default false), lossFct (default cross-entropy)
 *
 * @example
 * const loss = new SoftmaxLoss(model, { numLabels: 3 });
 * const value = loss.forward([premises, hypotheses], torch.tensor([0, 2], { dtype: "int64" }));
 */
export class SoftmaxLoss extends Loss {
  static readonly inputColumns: InputColumns = { min: 2, max: 2, roles: ["sentence A", "sentence B"] };
  static readonly labelKind: LabelKind = "class";
  static readonly category: LossCategory = "table";
  static readonly description: string =
    "A linear classifier on (u, v, |u - v|) of the two embeddings, trained with cross-entropy on the class label (the original Sentence-BERT NLI objective).";
  static readonly dataFormats: readonly DataFormatId[] = ["class-pairs"];
  static readonly commonChoiceFor: readonly DataFormatId[] = ["class-pairs"];

  readonly sentenceEmbeddingDimension: number;
  readonly numLabels: number;
  readonly concatenationSentRep: boolean;
  readonly concatenationSentDifference: boolean;
  readonly concatenationSentMultiplication: boolean;
  readonly lossFct: (logits: Tensor, labels: Tensor) => Tensor;
  readonly classifier: nn.Linear;

  constructor(model: EmbeddingModel, options: SoftmaxLossOptions = {}) {
    super(model);
    const who = new.target.name;
    const dimension = options.sentenceEmbeddingDimension ?? model.getSentenceEmbeddingDimension();
    if (dimension === null || !Number.isInteger(dimension) || dimension < 1) {
      throw new Error(
        `${who}: sentenceEmbeddingDimension must be a positive integer, got ${dimension} (the model does not report its dimension: pass it)`,
      );
    }
    const numLabels = options.numLabels;
    if (numLabels === undefined || !Number.isInteger(numLabels) || numLabels < 1) {
      throw new Error(`${who}: numLabels must be a positive integer (the number of classes), got ${numLabels}`);
    }
    this.sentenceEmbeddingDimension = dimension;
    this.numLabels = numLabels;
    this.concatenationSentRep = options.concatenationSentRep ?? true;
    this.concatenationSentDifference = options.concatenationSentDifference ?? true;
    this.concatenationSentMultiplication = options.concatenationSentMultiplication ?? false;
    this.lossFct = options.lossFct ?? crossEntropyLoss;
    const vectors =
      (this.concatenationSentRep ? 2 : 0) +
      (this.concatenationSentDifference ? 1 : 0) +
      (this.concatenationSentMultiplication ? 1 : 0);
    if (vectors === 0) throw new Error(`${who}: at least one of the concatenation flags must be true`);
    this.classifier = this.registerModule("classifier", new nn.Linear(vectors * dimension, numLabels));
  }

  override forward(sentenceFeatures: Features[], labels: Tensor | null): Tensor {
    checkColumnCount(this.constructor.name, SoftmaxLoss, sentenceFeatures.length);
    return torch.scope(() => {
      const embeddings = sentenceFeatures.map((features) => this.embed(features));
      return this.computeLossFromEmbeddings(embeddings, labels);
    });
  }

  /** The cross-entropy of the classifier's logits with `labels`, from fixed embeddings [u, v]. */
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null): Tensor {
    const classes = checkLabelledLossInputs(this.constructor.name, SoftmaxLoss, embeddings, labels);
    this.#checkClassRange(classes);
    return torch.scope(() => this.lossFct(this.computeLogits(embeddings), classes));
  }

  /** The classifier's logits [batch, numLabels] from fixed embeddings [u, v] (what the reference returns without labels). */
  computeLogits(embeddings: Tensor[]): Tensor {
    checkColumnCount(this.constructor.name, SoftmaxLoss, embeddings.length);
    return torch.scope(() => {
      const [u, v] = embeddings as [Tensor, Tensor]; // [batch, dim] each
      if (u.size(-1) !== this.sentenceEmbeddingDimension || v.size(-1) !== this.sentenceEmbeddingDimension) {
        throw new Error(
          `${this.constructor.name}: expected embeddings of dimension ${this.sentenceEmbeddingDimension}, got ${u.size(-1)} and ${v.size(-1)}`,
        );
      }
      if (u.dtype !== this.classifier.weight.dtype) {
        throw new Error(
          `${this.constructor.name}: the embeddings are ${u.dtype} but the classifier is ${this.classifier.weight.dtype}; convert the loss with loss.to("${u.dtype}")`,
        );
      }
      const parts: Tensor[] = [];
      if (this.concatenationSentRep) parts.push(u, v);
      if (this.concatenationSentDifference) parts.push(u.sub(v).abs());
      if (this.concatenationSentMultiplication) parts.push(u.mul(v));
      return this.classifier.forward(torch.cat(parts, 1)); // [batch, numLabels]
    });
  }

  /** Throws unless every label is a class id in [0, numLabels). */
  #checkClassRange(labels: Tensor): void {
    const bad = Array.from(labels.toTypedArray(), Number).find((x) => x < 0 || x >= this.numLabels);
    if (bad !== undefined) {
      throw new Error(`${this.constructor.name}: labels must be class ids in [0, ${this.numLabels}), got ${bad}`);
    }
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return {
      sentenceEmbeddingDimension: this.sentenceEmbeddingDimension,
      numLabels: this.numLabels,
      concatenationSentRep: this.concatenationSentRep,
      concatenationSentDifference: this.concatenationSentDifference,
      concatenationSentMultiplication: this.concatenationSentMultiplication,
      lossFct: this.lossFct === crossEntropyLoss ? "CrossEntropyLoss" : this.lossFct.name || "custom",
    };
  }

  override get citation(): string {
    return `@inproceedings{reimers-2019-sentence-bert,
    title = "Sentence-BERT: Sentence Embeddings using Siamese BERT-Networks",
    author = "Reimers, Nils and Gurevych, Iryna",
    booktitle = "Proceedings of the 2019 Conference on Empirical Methods in Natural Language Processing",
    month = "11",
    year = "2019",
    publisher = "Association for Computational Linguistics",
    url = "https://arxiv.org/abs/1908.10084",
}
`;
  }
}
