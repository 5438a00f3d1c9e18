// CachedGISTEmbedLoss: GISTEmbedLoss with GradCache, for batches larger than memory.
import * as torch from "@stts/torch";
import type { Tensor } from "@stts/torch";
import type { EmbeddingModel, Features } from "../features.js";
import { sumOverChunks } from "./cached-multiple-negatives-ranking-loss.js";
import {
  checkGuideEmbeddings,
  GIST_CITATION,
  gistChunkLoss,
  gistConfig,
  gistSettings,
  type GISTEmbedLossOptions,
  type MarginStrategy,
} from "./gist-embed-loss.js";
import { GradCacheLoss } from "./grad-cache.js";
import type { ConfigValue } from "./loss.js";
import {
  checkLossInputs,
  type InputColumns,
  type LabelKind,
  type DataFormatId,
  type LossCategory,
} from "./loss-inputs.js";

/** Options of `CachedGISTEmbedLoss`: those of GISTEmbedLoss plus the mini-batch size. */
export interface CachedGISTEmbedLossOptions extends GISTEmbedLossOptions {
  /** Rows embedded (and scored) at a time; default 32. Memory grows with it, not with the batch. */
  miniBatchSize?: number;
  /** Show a progress bar over the mini-batches; default false (accepted for compatibility, no effect). */
  showProgressBar?: boolean;
}

/**
 * GISTEmbedLoss computed with GradCache: the same guided in-batch-negative cross-entropy (see
 * GISTEmbedLoss), with memory that grows with `miniBatchSize` rather than the batch, and any number of
 * negative columns. The guide embeds each mini-batch (without gradients) right after the model does.
 * See GradCacheLoss for the two-phase backward: train with `backwardLoss(loss, value)`.
 *
 * Columns: (anchor, positive) or (anchor, positive, negative_1, ..., negative_n). Labels: none.
 *
 * @param model the model to train
 * @param options guide (required), temperature (default 0.01), miniBatchSize (default 32),
 *   marginStrategy (default "absolute"), margin (default 0), contrastAnchors (default true),
 *   contrastPositives (default true), gatherAcrossDevices (default false), showProgressBar (default false)
 *
 * @example
 * const loss = new CachedGISTEmbedLoss(model, { guide: guideModel, miniBatchSize: 16 });
 * backwardLoss(loss, loss.forward([anchors, positives, negatives], null));
 */
export class CachedGISTEmbedLoss extends GradCacheLoss {
  static readonly inputColumns: InputColumns = { min: 2, max: null, roles: ["anchor", "positive", "negative..."] };
  static readonly labelKind: LabelKind = "none";
  static readonly category: LossCategory = "table";
  static readonly description: string = "GISTEmbedLoss with gradient caching, for large batches in bounded memory.";
  static readonly dataFormats: readonly DataFormatId[] = ["pairs", "triplets", "n-tuples"];
  static readonly commonChoiceFor: readonly DataFormatId[] = [];

  readonly guide: EmbeddingModel;
  readonly temperature: number;
  readonly marginStrategy: MarginStrategy;
  readonly margin: number;
  readonly contrastAnchors: boolean;
  readonly contrastPositives: boolean;
  readonly gatherAcrossDevices = false;
  readonly showProgressBar: boolean;

  constructor(model: EmbeddingModel, options: CachedGISTEmbedLossOptions = {}) {
    super(model, options.miniBatchSize ?? 32);
    const settings = gistSettings(new.target.name, options);
    this.guide = settings.guide;
    this.temperature = settings.temperature;
    this.marginStrategy = settings.marginStrategy;
    this.margin = settings.margin;
    this.contrastAnchors = settings.contrastAnchors;
    this.contrastPositives = settings.contrastPositives;
    this.showProgressBar = options.showProgressBar ?? false;
  }

  /** The loss from fixed model and guide embeddings ([anchor, positive, ...negatives]), with its graph. */
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null, guideEmbeddings: Tensor[]): Tensor {
    checkLossInputs(this.constructor.name, CachedGISTEmbedLoss, embeddings, labels);
    return this.calculateLoss(embeddings, guideEmbeddings, false);
  }

  override calculateLoss(reps: Tensor[], guideReps: Tensor[] | null, withBackward: boolean): Tensor {
    checkGuideEmbeddings(this.constructor.name, reps, guideReps ?? undefined);
    const guides = guideReps!;
    return sumOverChunks(reps[0]!.size(0), this.miniBatchSize, withBackward, (start, length) =>
      gistChunkLoss(reps, guides, start, length, this),
    );
  }

  protected override embedGuide(features: Features): Tensor {
    return torch.noGrad(() => {
      const out = this.guide.forward(features).sentenceEmbedding;
      if (out === undefined) throw new Error(`${this.constructor.name}: the guide model returned no sentenceEmbedding`);
      return out;
    });
  }

  override getConfigDict(): Record<string, ConfigValue> {
    const { guide, temperature, ...rest } = gistConfig(this.guide, this);
    return { guide: guide!, temperature: temperature!, miniBatchSize: this.miniBatchSize, ...rest };
  }

  override get citation(): string {
    return GIST_CITATION;
  }
}
