// GISTEmbedLoss: in-batch negatives, minus those a guide model deems at least as similar as the positive.
import * as torch from "@stts/torch";
import { functional as F, type Tensor } from "@stts/torch";
import type { EmbeddingModel, Features } from "../features.js";
import type { ConfigValue } from "./loss.js";
import { Loss } from "./loss.js";
import {
  checkLossInputs,
  type InputColumns,
  type LabelKind,
  type DataFormatId,
  type LossCategory,
} from "./loss-inputs.js";
import { checkColumnCount } from "./grad-cache.js";

/** How GIST decides that an in-batch candidate is a false negative. */
export type MarginStrategy = "absolute" | "relative";

/** Options of `GISTEmbedLoss`. */
export interface GISTEmbedLossOptions {
  /** The guide model that picks which in-batch negatives to keep (required; used without gradients). */
  guide?: EmbeddingModel;
  /** Divides the cosine similarities; default 0.01. */
  temperature?: number;
  /** "absolute" (default) or "relative", see the class docs. */
  marginStrategy?: MarginStrategy;
  /** Default 0: only candidates the guide finds more similar than the positive are dropped. */
  margin?: number;
  /** Include anchor-anchor similarities as negatives; default true. */
  contrastAnchors?: boolean;
  /** Include positive-positive similarities as negatives; default true. */
  contrastPositives?: boolean;
  /** Gather embeddings across processes; default false (only false is supported: single process). */
  gatherAcrossDevices?: boolean;
}

/** The resolved GIST settings shared by GISTEmbedLoss and CachedGISTEmbedLoss. */
export interface GistSettings {
  temperature: number;
  marginStrategy: MarginStrategy;
  margin: number;
  contrastAnchors: boolean;
  contrastPositives: boolean;
}

/** Checks and fills in the GIST options (`who` names the loss in errors). */
export function gistSettings(who: string, options: GISTEmbedLossOptions): GistSettings & { guide: EmbeddingModel } {
  const guide = options.guide;
  if (guide === undefined || guide === null || typeof guide.forward !== "function") {
    throw new Error(
      `${who} needs a guide model: pass { guide: someEmbeddingModel } (it selects the in-batch negatives and is not trained)`,
    );
  }
  const marginStrategy = options.marginStrategy ?? "absolute";
  if (marginStrategy !== "absolute" && marginStrategy !== "relative") {
    throw new Error(`${who}: marginStrategy must be 'absolute' or 'relative', got '${String(marginStrategy)}'`);
  }
  if (options.gatherAcrossDevices === true) {
    throw new Error(`${who}: gatherAcrossDevices is not supported (single process only); leave it false`);
  }
  return {
    guide,
    temperature: options.temperature ?? 0.01,
    marginStrategy,
    margin: options.margin ?? 0,
    contrastAnchors: options.contrastAnchors ?? true,
    contrastPositives: options.contrastPositives ?? true,
  };
}

/** Cosine similarity matrix [n, m] with rows divided by max(||row||, 1e-8), as nn.CosineSimilarity on broadcast rows. */
function cosineMatrix(a: Tensor, b: Tensor): Tensor {
  return torch.scope(() => F.normalize(a, 2, 1, 1e-8).mm(F.normalize(b, 2, 1, 1e-8).t()));
}

/**
 * The GIST cross-entropy of anchor rows [start, start + length) (mean over those rows). `reps` and
 * `guides` are [anchor, positive, ...negatives], each [batch, dim] (the guide's dim may differ).
 * A candidate is dropped (its score set to -inf) when the guide's similarity to it exceeds the
 * guide's anchor-positive similarity s minus the margin: s - margin ("absolute") or
 * s * (1 - margin) ("relative"); the anchor's own positive is never dropped.
 */
export function gistChunkLoss(
  reps: Tensor[],
  guides: Tensor[],
  start: number,
  length: number,
  settings: GistSettings,
): Tensor {
  return torch.scope(() => {
    const [anchor, positive, ...negatives] = reps as [Tensor, Tensor, ...Tensor[]];
    const [anchorGuide, positiveGuide, ...negativeGuides] = guides as [Tensor, Tensor, ...Tensor[]];
    const rows = anchor.narrow(0, start, length); // [length, dim]
    const rowsGuide = anchorGuide.narrow(0, start, length);
    const guidedAp = cosineMatrix(rowsGuide, positiveGuide); // [length, batch]
    const rowIndex = torch.arange(0, length, 1, { dtype: "int64", device: guidedAp.device });
    const positiveIndex = rowIndex.add(start).unsqueeze(1); // [length, 1]: column of each row's positive
    const threshold = guidedAp.gather(1, positiveIndex); // [length, 1]
    const limit =
      settings.marginStrategy === "absolute" ? threshold.sub(settings.margin) : threshold.mul(1 - settings.margin);
    const suppress = (guided: Tensor, scores: Tensor, protectPositive = false): Tensor => {
      let mask = guided.gt(limit); // the guide finds these at least as close as the positive: false negatives
      if (protectPositive) mask = mask.scatter(1, positiveIndex, 0);
      return scores.maskedFill(mask, -Infinity);
    };
    const scores = [suppress(guidedAp, cosineMatrix(rows, positive), true)];
    if (settings.contrastAnchors)
      scores.push(suppress(cosineMatrix(rowsGuide, anchorGuide), cosineMatrix(rows, anchor)));
    if (settings.contrastPositives) {
      const positiveRows = positive.narrow(0, start, length);
      const guided = cosineMatrix(positiveGuide.narrow(0, start, length), positiveGuide);
      scores.push(suppress(guided, cosineMatrix(positiveRows, positive)));
    }
    negatives.forEach((negative, i) => {
      scores.push(suppress(cosineMatrix(rowsGuide, negativeGuides[i]!), cosineMatrix(rows, negative)));
    });
    const logits = torch.cat(scores, 1).div(settings.temperature); // [length, batch * (1 + kept blocks)]
    return F.crossEntropy(logits, positiveIndex.squeeze(1)); // anchor i's target is positive i
  });
}

/** Config entries shared by both GIST losses. */
export function gistConfig(guide: EmbeddingModel, settings: GistSettings): Record<string, ConfigValue> {
  return {
    guide: guide.constructor.name,
    temperature: settings.temperature,
    marginStrategy: settings.marginStrategy,
    margin: settings.margin,
    contrastAnchors: settings.contrastAnchors,
    contrastPositives: settings.contrastPositives,
    gatherAcrossDevices: false,
  };
}

export const GIST_CITATION = `@misc{solatorio2024gistembed,
    title={GISTEmbed: Guided In-sample Selection of Training Negatives for Text Embedding Fine-tuning},
    author={Aivin V. Solatorio},
    year={2024},
    eprint={2402.16829},
    archivePrefix={arXiv},
    primaryClass={cs.LG}
}
`;

/**
 * GISTEmbed (Solatorio 2024): MultipleNegativesRankingLoss-style cross-entropy over cosine similarities
 * / temperature, where a guide model removes in-batch false negatives. For anchor i, with s the guide's
 * cosine between anchor i and positive i, every candidate (other positives; with contrastAnchors the
 * other anchors, with contrastPositives the other positives seen from positive i; the negatives) whose
 * guide similarity exceeds s - margin ("absolute") or s * (1 - margin) ("relative") gets score -inf.
 * Positive i itself is always kept.
 *
 * The guide embeds the same features as the model (under noGrad), so it must share the model's
 * tokenizer; the reference re-tokenizes texts for a guide with another vocabulary, which needs the
 * raw texts and is not supported here.
 *
 * Columns: (anchor, positive) or (anchor, positive, negative). Labels: none.
 *
 * @param model the model to train
 * @param options guide (required), temperature (default 0.01), marginStrategy (default "absolute"),
 *   margin (default 0), contrastAnchors (default true), contrastPositives (default true),
 *   gatherAcrossDevices (default false)
 *
 * @example
 * const loss = new GISTEmbedLoss(model, { guide: guideModel });
 * const value = loss.forward([anchors, positives], null);
 */
export class GISTEmbedLoss extends Loss {
  static readonly inputColumns: InputColumns = { min: 2, max: 3, roles: ["anchor", "positive", "negative"] };
  static readonly labelKind: LabelKind = "none";
  static readonly category: LossCategory = "table";
  static readonly description: string =
    "In-batch negatives filtered by a guide model: candidates that the guide scores above the true positive are taken for false negatives and masked out.";
  static readonly dataFormats: readonly DataFormatId[] = ["pairs", "triplets"];
  static readonly commonChoiceFor: readonly DataFormatId[] = [];

  readonly guide: EmbeddingModel;
  readonly temperature: number;
  readonly marginStrategy: MarginStrategy;
  readonly margin: number;
  readonly contrastAnchors: boolean;
  readonly contrastPositives: boolean;
  readonly gatherAcrossDevices = false;

  constructor(model: EmbeddingModel, options: GISTEmbedLossOptions = {}) {
    super(model);
    const settings = gistSettings(new.target.name, options);
    this.guide = settings.guide;
    this.temperature = settings.temperature;
    this.marginStrategy = settings.marginStrategy;
    this.margin = settings.margin;
    this.contrastAnchors = settings.contrastAnchors;
    this.contrastPositives = settings.contrastPositives;
  }

  override forward(sentenceFeatures: Features[], labels: Tensor | null): Tensor {
    checkColumnCount(this.constructor.name, GISTEmbedLoss, sentenceFeatures.length);
    return torch.scope(() => {
      const embeddings = sentenceFeatures.map((features) => this.embed(features));
      return this.computeLossFromEmbeddings(embeddings, labels, this.embedGuide(sentenceFeatures));
    });
  }

  /** The guide's embeddings of each column, without a graph. */
  embedGuide(sentenceFeatures: Features[]): Tensor[] {
    return torch.noGrad(() =>
      sentenceFeatures.map((features) => {
        const out = this.guide.forward(features).sentenceEmbedding;
        if (out === undefined)
          throw new Error(`${this.constructor.name}: the guide model returned no sentenceEmbedding`);
        return out;
      }),
    );
  }

  /** The loss from fixed model and guide embeddings ([anchor, positive, negative?], each [batch, dim]). */
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null, guideEmbeddings: Tensor[]): Tensor {
    checkLossInputs(this.constructor.name, GISTEmbedLoss, embeddings, labels);
    checkGuideEmbeddings(this.constructor.name, embeddings, guideEmbeddings);
    return gistChunkLoss(embeddings, guideEmbeddings, 0, embeddings[0]!.size(0), this);
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return gistConfig(this.guide, this);
  }

  override get citation(): string {
    return GIST_CITATION;
  }
}

/** Throws unless there is one guide embedding per column, with the same batch size. */
export function checkGuideEmbeddings(who: string, embeddings: Tensor[], guideEmbeddings: Tensor[] | undefined): void {
  if (!Array.isArray(guideEmbeddings) || guideEmbeddings.length !== embeddings.length) {
    throw new Error(
      `${who}: expected guide embeddings for each of the ${embeddings.length} columns, got ${Array.isArray(guideEmbeddings) ? guideEmbeddings.length : "none"}`,
    );
  }
  guideEmbeddings.forEach((guide, i) => {
    if (guide.ndim !== 2 || guide.size(0) !== embeddings[i]!.size(0)) {
      throw new Error(
        `${who}: guide embeddings of column ${i} must be [${embeddings[i]!.size(0)}, guideDim], got [${guide.shape.join(", ")}]`,
      );
    }
  });
}
