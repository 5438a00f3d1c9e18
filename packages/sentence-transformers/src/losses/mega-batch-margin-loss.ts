// MegaBatchMarginLoss: hinge losses on the positive pair and on the hardest in-batch negative.
import { eye, functional as F, nn, noGrad, scope, type Tensor } from "@stts/torch";
import type { EmbeddingModel, Features } from "../features.js";
import { cosSim } from "../util/similarity.js";
import { Loss, type ConfigValue } from "./loss.js";
import {
  checkLossInputs,
  type InputColumns,
  type LabelKind,
  type DataFormatId,
  type LossCategory,
} from "./loss-inputs.js";

/** Options of `MegaBatchMarginLoss`. */
export interface MegaBatchMarginLossOptions {
  /** Positive pairs should have a cosine similarity of at least this. Default 0.8. */
  positiveMargin?: number;
  /** Hardest negatives should have a cosine similarity of at most this. Default 0.3. */
  negativeMargin?: number;
  /** Process the anchors in mini-batches against the whole batch of positives. Default true. */
  useMiniBatchedVersion?: boolean;
  /** Anchors per mini-batch. Default 50. */
  miniBatchSize?: number;
}

/**
 * For each (anchor, positive) pair, the hardest negative is the other positive of the (mega-)batch most
 * similar to the anchor; loss = relu(positiveMargin - cos(a, p)) + relu(cos(a, n) - negativeMargin),
 * averaged. The mini-batched version mines against all positives but processes `miniBatchSize`
 * anchors at a time: in `forward` it back-propagates each mini-batch but the last itself and returns
 * the last one's loss (the trainer back-propagates that), so the returned value is the mean over the
 * last mini-batch only, as in the reference.
 *
 * Inputs: (anchor, positive) pairs; no labels.
 *
 * @example
 * const loss = new MegaBatchMarginLoss(model, { positiveMargin: 0.8, negativeMargin: 0.3, miniBatchSize: 50 });
 * const value = loss.forward([anchorFeatures, positiveFeatures], null);
 *
 * @param model the model to train
 * @param options positiveMargin (0.8), negativeMargin (0.3), useMiniBatchedVersion (true), miniBatchSize (50)
 */
export class MegaBatchMarginLoss extends Loss {
  static readonly inputColumns: InputColumns = { min: 2, max: 2, roles: ["anchor", "positive"] };
  static readonly labelKind: LabelKind = "none";
  static readonly category: LossCategory = "table";
  static readonly description: string =
    "Hinge losses on each (anchor, positive) pair and on the hardest negative mined among the other positives of a large (mega) batch.";
  static readonly dataFormats: readonly DataFormatId[] = ["pairs"];
  static readonly commonChoiceFor: readonly DataFormatId[] = [];

  readonly positiveMargin: number;
  readonly negativeMargin: number;
  readonly useMiniBatchedVersion: boolean;
  readonly miniBatchSize: number;

  constructor(model: EmbeddingModel, options: MegaBatchMarginLossOptions = {}) {
    super(model);
    this.positiveMargin = options.positiveMargin ?? 0.8;
    this.negativeMargin = options.negativeMargin ?? 0.3;
    this.useMiniBatchedVersion = options.useMiniBatchedVersion ?? true;
    this.miniBatchSize = options.miniBatchSize ?? 50;
    if (!Number.isInteger(this.miniBatchSize) || this.miniBatchSize < 1) {
      throw new RangeError(`MegaBatchMarginLoss: miniBatchSize must be a positive integer, got ${this.miniBatchSize}`);
    }
  }

  override forward(sentenceFeatures: Features[], labels: Tensor | null): Tensor {
    if (!this.useMiniBatchedVersion) {
      return scope(() =>
        this.computeLossFromEmbeddings(
          sentenceFeatures.map((f) => this.embed(f)),
          labels,
        ),
      );
    }
    if (sentenceFeatures.length !== 2) {
      throw new Error(`MegaBatchMarginLoss expects 2 input columns (anchor, positive), got ${sentenceFeatures.length}`);
    }
    const [anchor, positive] = sentenceFeatures as [Features, Features];
    return scope(() => {
      const allPositives = this.embedWithoutGrad(positive); // [batch, dim], for mining only
      const batch = allPositives.size(0);
      let last: Tensor | null = null;
      for (let start = 0; start < batch; start += this.miniBatchSize) {
        const length = Math.min(this.miniBatchSize, batch - start);
        const isLast = start + length >= batch;
        const loss = scope(() => {
          const anchors = this.embed(sliceRows(anchor, start, length));
          const hardest = this.hardestNegativeIds(anchors, allPositives, start); // [length] int64
          const positives = this.embed(sliceRows(positive, start, length));
          const negatives = this.embed(selectRows(positive, hardest));
          return this.hingeLoss(anchors, positives, negatives);
        });
        if (isLast) last = loss;
        else if (loss.requiresGrad) loss.backward(); // earlier mini-batches update the model here
      }
      return last!;
    });
  }

  /**
   * embeddings: [anchors, positives], each [batch, dim]. With the mini-batched version, only the last
   * mini-batch of anchors contributes (the loss `forward` returns); earlier mini-batches are the ones
   * `forward` back-propagates itself, which precomputed embeddings cannot reproduce.
   */
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null): Tensor {
    checkLossInputs("MegaBatchMarginLoss", MegaBatchMarginLoss, embeddings, labels);
    const [anchors, positives] = embeddings as [Tensor, Tensor];
    return scope(() => {
      if (!this.useMiniBatchedVersion) {
        const scores = cosSim(anchors, positives); // [batch, batch]
        const positiveScores = scores.diagonal();
        const negativeScores = scores.sub(eye(scores.size(0), scores.size(1), scoreOptions(scores)).mul(2)); // drop the diagonal
        const hardestNegative = negativeScores.max(1).values;
        return F.relu(positiveScores.rsub(this.positiveMargin))
          .add(F.relu(hardestNegative.sub(this.negativeMargin)))
          .mean();
      }
      const batch = anchors.size(0);
      const start = Math.floor((batch - 1) / this.miniBatchSize) * this.miniBatchSize;
      const length = batch - start;
      const anchorRows = anchors.narrow(0, start, length);
      const hardest = noGrad(() => this.hardestNegativeIds(anchorRows, positives.detach(), start));
      return this.hingeLoss(anchorRows, positives.narrow(0, start, length), positives.indexSelect(0, hardest));
    });
  }

  /** For anchors start..start+n, the index of the most similar positive other than their own: [n] int64. */
  private hardestNegativeIds(anchors: Tensor, allPositives: Tensor, start: number): Tensor {
    return noGrad(() =>
      scope(() => {
        const scores = cosSim(anchors, allPositives); // [n, batch]
        const own = eye(allPositives.size(0), allPositives.size(0), scoreOptions(scores)).narrow(
          0,
          start,
          anchors.size(0),
        );
        return scores.sub(own.mul(2)).max(1).indices;
      }),
    );
  }

  private hingeLoss(anchors: Tensor, positives: Tensor, negatives: Tensor): Tensor {
    return scope(() => {
      const positiveCosine = F.cosineSimilarity(anchors, positives); // [n]
      const negativeCosine = F.cosineSimilarity(anchors, negatives);
      return F.relu(positiveCosine.rsub(this.positiveMargin))
        .add(F.relu(negativeCosine.sub(this.negativeMargin)))
        .mean();
    });
  }

  /** The model's embeddings without gradient and with dropout off, as the reference mines in eval mode. */
  private embedWithoutGrad(features: Features): Tensor {
    const module = this.model instanceof nn.Module ? this.model : null;
    const wasTraining = module?.training ?? false;
    module?.eval();
    try {
      return noGrad(() => scope(() => this.embed(features).detach()));
    } finally {
      if (wasTraining) module?.train();
    }
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return {
      positiveMargin: this.positiveMargin,
      negativeMargin: this.negativeMargin,
      useMiniBatchedVersion: this.useMiniBatchedVersion,
      miniBatchSize: this.miniBatchSize,
    };
  }

  override get citation(): string {
    return `@inproceedings{wieting-gimpel-2018-paranmt,
    title = "{P}ara{NMT}-50{M}: Pushing the Limits of Paraphrastic Sentence Embeddings with Millions of Machine Translations",
    author = "Wieting, John and Gimpel, Kevin",
    editor = "Gurevych, Iryna and Miyao, Yusuke",
    booktitle = "Proceedings of the 56th Annual Meeting of the Association for Computational Linguistics (Volume 1: Long Papers)",
    month = jul,
    year = "2018",
    address = "Melbourne, Australia",
    publisher = "Association for Computational Linguistics",
    url = "https://aclanthology.org/P18-1042",
    doi = "10.18653/v1/P18-1042",
    pages = "451--462",
}
`;
  }
}

function scoreOptions(scores: Tensor): { dtype: Tensor["dtype"]; device: string } {
  return { dtype: scores.dtype, device: scores.device };
}

/** Rows start..start+length of every batch-first tensor of the features. */
function sliceRows(features: Features, start: number, length: number): Features {
  return mapTensors(features, (t) => t.narrow(0, start, length));
}

/** The rows at `indices` of every batch-first tensor of the features. */
function selectRows(features: Features, indices: Tensor): Features {
  return mapTensors(features, (t) => t.indexSelect(0, indices));
}

function mapTensors(features: Features, fn: (t: Tensor) => Tensor): Features {
  const out: Features = {};
  for (const [key, value] of Object.entries(features)) {
    if (value === undefined) continue;
    out[key] = Array.isArray(value) ? value.map(fn) : fn(value);
  }
  return out;
}
