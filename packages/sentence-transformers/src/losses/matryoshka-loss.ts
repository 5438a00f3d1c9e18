// MatryoshkaLoss: train a loss on truncated prefixes of the embeddings, so they can be cut at inference.
import * as torch from "@stts/torch";
import { functional as F, type Tensor } from "@stts/torch";
import type { EmbeddingModel, Features } from "../features.js";
import { GISTEmbedLoss } from "./gist-embed-loss.js";
import { GradCacheLoss, type DeferredBackward } from "./grad-cache.js";
import type { ConfigValue } from "./loss.js";
import { Loss } from "./loss.js";
import type { InputColumns, DataFormatId, LossCategory } from "./loss-inputs.js";

/**
 * A loss that can be computed from given embeddings, one [batch, dim] tensor per column: what the
 * loss modifiers call with truncated (Matryoshka) or earlier-layer (AdaptiveLayer) embeddings.
 * GISTEmbedLoss additionally takes the guide's embeddings.
 */
export interface EmbeddingsLoss extends Loss {
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null, guideEmbeddings?: Tensor[]): Tensor;
}

/** Whether `loss` can be computed from given embeddings (has computeLossFromEmbeddings). */
export function isEmbeddingsLoss(loss: Loss): loss is EmbeddingsLoss {
  return typeof (loss as unknown as { computeLossFromEmbeddings?: unknown }).computeLossFromEmbeddings === "function";
}

/** Throws unless `loss` can be computed from given embeddings. */
export function checkEmbeddingsLoss(who: string, loss: Loss): EmbeddingsLoss {
  if (!(loss instanceof Loss) || !isEmbeddingsLoss(loss)) {
    throw new Error(
      `${who} wraps a loss that can be computed from embeddings (a Loss with computeLossFromEmbeddings), got ${loss?.constructor?.name ?? String(loss)}`,
    );
  }
  return loss;
}

/** The inner loss computed from given embeddings, with the guide's embeddings for GIST losses. */
export function innerLoss(
  loss: EmbeddingsLoss,
  embeddings: Tensor[],
  labels: Tensor | null,
  guideEmbeddings: Tensor[] | undefined,
): Tensor {
  return guideEmbeddings === undefined
    ? loss.computeLossFromEmbeddings(embeddings, labels)
    : loss.computeLossFromEmbeddings(embeddings, labels, guideEmbeddings);
}

/** Indices 0..count-1, or a random subset of `perStep` of them (sorted) when 0 < perStep < count. */
export function sampleIndices(count: number, perStep: number): number[] {
  if (!(perStep > 0 && perStep < count)) return Array.from({ length: count }, (_, i) => i);
  const order = torch.scope(() => Array.from(torch.randperm(count).toTypedArray(), Number));
  return order.slice(0, perStep).sort((a, b) => a - b);
}

/** Options of `MatryoshkaLoss`. */
export interface MatryoshkaLossOptions {
  /** The embedding sizes to train (required), e.g. [768, 512, 256, 128, 64]; any order. */
  matryoshkaDims: number[];
  /** One weight per dim (same order as matryoshkaDims); default null = all 1. */
  matryoshkaWeights?: number[] | null;
  /** Dims used per step: -1 (default) = all, k > 0 = a random k of them. */
  nDimsPerStep?: number;
}

/** Checks the dims and weights and sorts them by dim, descending (dims and weights stay paired). */
export function sortedDimsAndWeights(
  who: string,
  dims: number[] | undefined,
  weights: number[] | null | undefined,
  modelDimension: number | null,
): { dims: number[]; weights: number[] } {
  if (!Array.isArray(dims) || dims.length === 0) {
    throw new Error(`${who}: matryoshkaDims must be a non-empty array of dimensions, got ${JSON.stringify(dims)}`);
  }
  const badDim = dims.find((d) => !Number.isInteger(d) || d <= 0);
  if (badDim !== undefined) {
    throw new Error(`${who}: every matryoshkaDims entry must be a positive integer, got ${badDim}`);
  }
  const resolved = weights ?? dims.map(() => 1);
  if (!Array.isArray(resolved) || resolved.length !== dims.length || resolved.some((w) => typeof w !== "number")) {
    throw new Error(
      `${who}: matryoshkaWeights must be null or one number per dim (${dims.length}), got ${JSON.stringify(weights)}`,
    );
  }
  if (modelDimension !== null) {
    const tooLarge = dims.filter((d) => d > modelDimension);
    if (tooLarge.length > 0) {
      throw new Error(
        `${who}: matryoshkaDims [${tooLarge.join(", ")}] exceed the model's embedding dimension ${modelDimension}`,
      );
    }
  }
  const pairs = dims.map((dim, i) => ({ dim, weight: resolved[i]! })).sort((a, b) => b.dim - a.dim); // stable
  return { dims: pairs.map((p) => p.dim), weights: pairs.map((p) => p.weight) };
}

/** The first `dim` values of each row, L2-normalised (eps 1e-12); throws when dim exceeds the embedding size. */
export function shrink(embedding: Tensor, dim: number, who: string): Tensor {
  const size = embedding.size(-1);
  if (dim > size) {
    throw new Error(`${who}: dimension ${dim} in matryoshkaDims exceeds the embedding dimension ${size}`);
  }
  return torch.scope(() => F.normalize(embedding.narrow(-1, 0, dim), 2, -1));
}

/**
 * Matryoshka Representation Learning (Kusupati et al. 2022) as a loss modifier: the inner loss is
 * computed on the embeddings truncated to each of `matryoshkaDims` (the first d values, then
 * L2-normalised, for every dim including the full one), and the weighted losses are summed. Dims and
 * weights are paired and sorted by dim, descending. The model runs once per column; each dim reuses
 * those embeddings. Labels pass to the inner loss unchanged (e.g. MSELoss truncates its teacher
 * embeddings itself).
 *
 * With `nDimsPerStep` = k (0 < k < number of dims) each forward uses a random k dims, drawn with
 * torch.randperm from the engine's generator (so torch.manualSeed reproduces it; the reference draws
 * with Python's `random`, which cannot be matched).
 *
 * Around a Cached* loss (GradCache) the truncation happens inside the cached loss's phase 2, as the
 * reference does, and this loss forwards `runDeferredBackward()` to it: train with
 * `backwardLoss(loss, value)`. Unlike the reference, nDimsPerStep is honoured there too.
 *
 * Columns and labels: those of the inner loss.
 *
 * @param model the model to train
 * @param loss the inner loss (any loss with computeLossFromEmbeddings)
 * @param options matryoshkaDims (required), matryoshkaWeights (default null = all 1), nDimsPerStep (default -1)
 *
 * @example
 * const loss = new MatryoshkaLoss(model, new MultipleNegativesRankingLoss(model), { matryoshkaDims: [768, 256, 64] });
 * const value = loss.forward([anchors, positives], null);
 */
export class MatryoshkaLoss extends Loss implements DeferredBackward {
  /** Those of the inner loss: see `loss`'s class. */
  static readonly inputColumns: InputColumns = { min: 1, max: null, roles: ["columns of the inner loss..."] };
  /** "inner": the labels of the wrapped loss (see its class's labelKind). */
  static readonly labelKind = "inner" as const;
  static readonly category: LossCategory = "modifier";
  static readonly description: string =
    "Applies the wrapped loss to truncated embeddings (e.g. 768, 512, 256, 128 and 64 dimensions) and sums the weighted results, so that shorter embeddings stay useful.";
  static readonly dataFormats: readonly DataFormatId[] = [];
  static readonly commonChoiceFor: readonly DataFormatId[] = [];

  readonly loss: EmbeddingsLoss;
  /** Sorted descending. */
  readonly matryoshkaDims: number[];
  /** Paired with matryoshkaDims. */
  readonly matryoshkaWeights: number[];
  readonly nDimsPerStep: number;

  constructor(model: EmbeddingModel, loss: Loss, options: MatryoshkaLossOptions) {
    super(model);
    const who = new.target.name;
    this.loss = this.registerModule("loss", checkEmbeddingsLoss(who, loss));
    const given: Partial<MatryoshkaLossOptions> = options ?? {};
    const { dims, weights } = sortedDimsAndWeights(
      who,
      given.matryoshkaDims,
      given.matryoshkaWeights,
      model.getSentenceEmbeddingDimension(),
    );
    this.matryoshkaDims = dims;
    this.matryoshkaWeights = weights;
    this.nDimsPerStep = given.nDimsPerStep ?? -1;
    if (!Number.isInteger(this.nDimsPerStep)) {
      throw new Error(`${who}: nDimsPerStep must be an integer (-1 = all dims), got ${this.nDimsPerStep}`);
    }
  }

  override forward(sentenceFeatures: Features[], labels: Tensor | null): Tensor {
    const inner = this.loss;
    if (inner instanceof GradCacheLoss) {
      return inner.cachedForward(sentenceFeatures, (reps, guides, withBackward) =>
        this.#cachedCalculate(inner, reps, guides, withBackward),
      );
    }
    return torch.scope(() => {
      const embeddings = sentenceFeatures.map((features) => this.embed(features));
      const guides = inner instanceof GISTEmbedLoss ? inner.embedGuide(sentenceFeatures) : undefined;
      return this.computeLossFromEmbeddings(embeddings, labels, guides);
    });
  }

  /**
   * The weighted sum over the dims (a random nDimsPerStep of them when set) of the inner loss on
   * truncated embeddings, from fixed embeddings (one [batch, dim] tensor per column), with its graph.
   * `guideEmbeddings` go to a GIST inner loss untruncated.
   */
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null, guideEmbeddings?: Tensor[]): Tensor {
    return torch.scope(() =>
      this.#weightedSum(sampleIndices(this.matryoshkaDims.length, this.nDimsPerStep), (dim) =>
        innerLoss(
          this.loss,
          embeddings.map((e) => shrink(e, dim, this.constructor.name)),
          labels,
          guideEmbeddings,
        ),
      ),
    );
  }

  get hasPendingBackward(): boolean {
    return this.loss instanceof GradCacheLoss && this.loss.hasPendingBackward;
  }

  runDeferredBackward(): boolean {
    return this.loss instanceof GradCacheLoss ? this.loss.runDeferredBackward() : false;
  }

  #weightedSum(indices: number[], lossAt: (dim: number) => Tensor): Tensor {
    let total: Tensor | null = null;
    for (const i of indices) {
      const term = lossAt(this.matryoshkaDims[i]!).mul(this.matryoshkaWeights[i]!);
      total = total === null ? term : total.add(term);
    }
    return total!;
  }

  /**
   * Phase 2 of a cached inner loss, per dim: truncate the full-batch embeddings, let the inner loss
   * backpropagate into detached copies, then carry those gradients (times the weight) back through
   * the truncation into `reps`.
   */
  #cachedCalculate(inner: GradCacheLoss, reps: Tensor[], guides: Tensor[] | null, withBackward: boolean): Tensor {
    const indices = sampleIndices(this.matryoshkaDims.length, this.nDimsPerStep);
    let total: Tensor | null = null;
    for (const i of indices) {
      const [dim, weight] = [this.matryoshkaDims[i]!, this.matryoshkaWeights[i]!];
      const term: Tensor = torch.scope(() => {
        const truncated = reps.map((r) => shrink(r, dim, this.constructor.name));
        if (!withBackward) return inner.calculateLoss(truncated, guides, false).mul(weight);
        const leaves = truncated.map((t) => t.detach().requiresGrad_(true));
        const value = inner.calculateLoss(leaves, guides, true);
        truncated.forEach((t, c) => {
          const grad = leaves[c]!.grad;
          if (grad !== null) t.backward(grad.mul(weight));
        });
        return value.mul(weight);
      });
      if (total === null) total = term;
      else {
        const previous: Tensor = total;
        total = torch.scope(() => previous.add(term));
        previous.dispose();
        term.dispose();
      }
    }
    return total!;
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return {
      loss: this.loss.constructor.name,
      matryoshkaDims: [...this.matryoshkaDims],
      matryoshkaWeights: [...this.matryoshkaWeights],
      nDimsPerStep: this.nDimsPerStep,
    };
  }

  override get citation(): string {
    return `@misc{kusupati2024matryoshka,
    title={Matryoshka Representation Learning},
    author={Aditya Kusupati and Gantavya Bhatt and Aniket Rege and Matthew Wallingford and Aditya Sinha and Vivek Ramanujan and William Howard-Snyder and Kaifeng Chen and Sham Kakade and Prateek Jain and Ali Farhadi},
    year={2024},
    eprint={2205.13147},
    archivePrefix={arXiv},
    primaryClass={cs.LG}
}
`;
  }
}
