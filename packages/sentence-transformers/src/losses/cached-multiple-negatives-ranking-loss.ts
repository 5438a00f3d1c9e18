// CachedMultipleNegativesRankingLoss: MultipleNegativesRankingLoss with GradCache, for batches larger than memory.
import * as torch from "@stts/torch";
import { functional as F, type Tensor } from "@stts/torch";
import type { EmbeddingModel } from "../features.js";
import { cosSim, similarityFunctionName, type SimilarityFunction } from "../util/similarity.js";
import { GradCacheLoss } from "./grad-cache.js";
import type { ConfigValue } from "./loss.js";
import {
  checkLossInputs,
  type InputColumns,
  type LabelKind,
  type LossInputSpec,
  type DataFormatId,
  type LossCategory,
} from "./loss-inputs.js";

/** Options of `CachedMultipleNegativesRankingLoss` (and of the symmetric variant). */
export interface CachedMultipleNegativesRankingLossOptions {
  /** Multiplies the similarities (1 / temperature); default 20. */
  scale?: number;
  /** Similarity matrix of two batches; default cosSim. Use dotScore with scale 1 for dot products. */
  similarityFct?: SimilarityFunction;
  /** Rows embedded (and scored) at a time; default 32. Memory grows with it, not with the batch. */
  miniBatchSize?: number;
  /** Gather embeddings across processes; default false (only false is supported: single process). */
  gatherAcrossDevices?: boolean;
  /** Show a progress bar over the mini-batches; default false (accepted for compatibility, no effect). */
  showProgressBar?: boolean;
}

/** Splits `batchSize` rows into [start, length) chunks of at most `size`. */
export function chunks(batchSize: number, size: number): { start: number; length: number }[] {
  const out: { start: number; length: number }[] = [];
  for (let start = 0; start < batchSize; start += size) out.push({ start, length: Math.min(size, batchSize - start) });
  return out;
}

/**
 * Sums `lossOfChunk(start, length)` over chunks of the anchors, each weighted by length / batch so the
 * sum is the batch mean. With `withBackward`, each chunk is backpropagated on its own and freed, so
 * the score matrix of the whole batch never exists; the result is then detached.
 */
export function sumOverChunks(
  batchSize: number,
  size: number,
  withBackward: boolean,
  lossOfChunk: (start: number, length: number) => Tensor,
): Tensor {
  let total: Tensor | null = null;
  for (const { start, length } of chunks(batchSize, size)) {
    const part: Tensor = torch.scope(() => {
      const value = lossOfChunk(start, length).mul(length / batchSize);
      if (!withBackward) return value;
      value.backward(undefined, { retainGraph: true }); // chunks share the concatenated candidates
      return value.detach();
    });
    if (total === null) total = part;
    else {
      const previous: Tensor = total;
      total = torch.scope(() => previous.add(part));
      previous.dispose();
      part.dispose();
    }
  }
  if (total === null) throw new RangeError("sumOverChunks: the batch is empty");
  return total;
}

/** Checks the reference's single-process restriction shared by the cached losses. */
export function checkGatherAcrossDevices(who: string, gatherAcrossDevices: boolean): void {
  if (gatherAcrossDevices) {
    throw new Error(`${who}: gatherAcrossDevices is not supported (single process only); leave it false`);
  }
}

/**
 * What the cached in-batch-negatives losses share: the options scale, similarityFct, miniBatchSize,
 * gatherAcrossDevices and showProgressBar, the config, and computeLossFromEmbeddings (phase 2 with its
 * graph). CachedMultipleNegativesRankingLoss and CachedMultipleNegativesSymmetricRankingLoss extend it
 * with their `calculateLoss`.
 *
 * @param model the model to train
 * @param options scale (default 20), similarityFct (default cosSim), miniBatchSize (default 32),
 *   gatherAcrossDevices (default false), showProgressBar (default false)
 *
 * @example
 * const loss: CachedInBatchNegativesLoss = new CachedMultipleNegativesRankingLoss(model, { scale: 20 });
 * loss.getConfigDict(); // { scale: 20, similarityFct: "cosSim", miniBatchSize: 32, gatherAcrossDevices: false }
 */
export abstract class CachedInBatchNegativesLoss extends GradCacheLoss {
  readonly scale: number;
  readonly similarityFct: SimilarityFunction;
  readonly gatherAcrossDevices: boolean;
  readonly showProgressBar: boolean;

  constructor(model: EmbeddingModel, options: CachedMultipleNegativesRankingLossOptions = {}) {
    super(model, options.miniBatchSize ?? 32);
    this.scale = options.scale ?? 20;
    this.similarityFct = options.similarityFct ?? cosSim;
    this.gatherAcrossDevices = options.gatherAcrossDevices ?? false;
    this.showProgressBar = options.showProgressBar ?? false;
    checkGatherAcrossDevices(new.target.name, this.gatherAcrossDevices);
  }

  /** The loss from fixed embeddings ([anchor, positive, ...negatives], each [batch, dim]), with its graph. */
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null = null): Tensor {
    checkLossInputs(this.constructor.name, this.constructor as unknown as LossInputSpec, embeddings, labels);
    return this.calculateLoss(embeddings, null, false);
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return {
      scale: this.scale,
      similarityFct: similarityFunctionName(this.similarityFct),
      miniBatchSize: this.miniBatchSize,
      gatherAcrossDevices: this.gatherAcrossDevices,
    };
  }
}

/**
 * MultipleNegativesRankingLoss (InfoNCE with in-batch negatives) computed with GradCache, so the
 * batch can be far larger than what fits in memory: for anchor i the candidates are every positive
 * and every negative in the batch, and the loss is the cross-entropy of
 * `scale * similarityFct(anchor_i, candidates)` with the paired positive as the target. Same numbers
 * and gradients as MultipleNegativesRankingLoss; only the memory use differs (and it is about
 * 2x slower). See GradCacheLoss for the two-phase backward: train with `backwardLoss(loss, value)`.
 *
 * Columns: (anchor, positive) pairs, or (anchor, positive, negative_1, ..., negative_n). Labels: none.
 *
 * @param model the model to train
 * @param options scale (default 20), similarityFct (default cosSim), miniBatchSize (default 32),
 *   gatherAcrossDevices (default false), showProgressBar (default false)
 *
 * @example
 * const loss = new CachedMultipleNegativesRankingLoss(model, { miniBatchSize: 64 });
 * backwardLoss(loss, loss.forward([anchors, positives], null));
 */
export class CachedMultipleNegativesRankingLoss extends CachedInBatchNegativesLoss {
  static readonly inputColumns: InputColumns = { min: 2, max: null, roles: ["anchor", "positive", "negative..."] };
  static readonly labelKind: LabelKind = "none";
  static readonly category: LossCategory = "table";
  static readonly description: string =
    "MultipleNegativesRankingLoss with gradient caching (GradCache): the batch is embedded in mini-batches, so it (and with it the number of negatives) can grow far beyond what fits in memory, with the same result.";
  static readonly dataFormats: readonly DataFormatId[] = ["pairs", "triplets", "n-tuples"];
  static readonly commonChoiceFor: readonly DataFormatId[] = [];

  override calculateLoss(reps: Tensor[], _guideReps: Tensor[] | null, withBackward: boolean): Tensor {
    return torch.scope(() => {
      const anchors = reps[0]!; // [batch, dim]
      const candidates = torch.cat(reps.slice(1)); // [batch * (1 + negatives), dim]
      const batchSize = anchors.size(0);
      return sumOverChunks(batchSize, this.miniBatchSize, withBackward, (start, length) => {
        const scores = this.similarityFct(anchors.narrow(0, start, length), candidates).mul(this.scale); // [length, batch * (1 + n)]
        const targets = torch.arange(start, start + length, 1, { dtype: "int64", device: scores.device });
        return F.crossEntropy(scores, targets); // anchor i's target is positive i
      });
    });
  }

  override get citation(): string {
    return `@misc{gao2021scaling,
    title={Scaling Deep Contrastive Learning Batch Size under Memory Limited Setup},
    author={Luyu Gao and Yunyi Zhang and Jiawei Han and Jamie Callan},
    year={2021},
    eprint={2101.06983},
    archivePrefix={arXiv},
    primaryClass={cs.LG}
}
`;
  }
}
