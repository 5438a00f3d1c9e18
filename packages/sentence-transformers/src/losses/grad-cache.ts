// GradCache (Gao et al. 2021): contrastive losses over batches far larger than memory allows. Embed in
// mini-batches without a graph, compute the loss and its gradient with respect to the embeddings (the
// cache), then replay each mini-batch with a graph and push its slice of the cache through the model.
import * as torch from "@stts/torch";
import type { Tensor } from "@stts/torch";
import type { EmbeddingModel, Features } from "../features.js";
import { Loss } from "./loss.js";
import { describeExpectation, type LossInputSpec } from "./loss-inputs.js";

/**
 * A loss whose forward leaves part of the backward pass for later: GradCache's second phase, which
 * needs the gradient that reached the returned loss (the Python reference runs it from a backward
 * hook, which @stts/torch has no equivalent of).
 */
export interface DeferredBackward {
  /** Whether a forward's deferred backward is waiting for `runDeferredBackward()`. */
  readonly hasPendingBackward: boolean;
  /**
   * Runs the waiting backward work, scaled by the gradient that `backward()` left on the loss value
   * forward returned. Returns false when nothing ran (nothing pending, or the value was never
   * backpropagated).
   */
  runDeferredBackward(): boolean;
}

/** Whether `loss` defers part of its backward pass (the Cached* losses and modifiers around them). */
export function hasDeferredBackward(loss: object): loss is DeferredBackward {
  return typeof (loss as Partial<DeferredBackward>).runDeferredBackward === "function";
}

/**
 * Backpropagates a loss value and completes any backward work the loss deferred: the one call a
 * training loop needs for every loss, cached or not. `gradient` scales the backward pass (e.g.
 * 1 / gradientAccumulationSteps) exactly as `value.backward(gradient)` would.
 *
 * @example
 * const value = loss.forward(features, null) as Tensor;
 * backwardLoss(loss, value);           // model gradients are complete here
 */
export function backwardLoss(loss: object, value: Tensor, gradient?: Tensor): void {
  value.backward(gradient);
  if (hasDeferredBackward(loss)) loss.runDeferredBackward();
}

/**
 * Computes a cached loss from the embeddings of the whole batch (phase 2). `reps` holds one
 * [batch, dim] tensor per column, `guideReps` the guide model's (CachedGISTEmbedLoss) or null. With
 * `withBackward` the function backpropagates into `reps` itself (mini-batch by mini-batch, so the
 * score matrix never exists whole) and returns a detached value; without, it returns the loss with
 * its graph.
 */
export type CachedLossCalculator = (reps: Tensor[], guideReps: Tensor[] | null, withBackward: boolean) => Tensor;

/** The slice of one column that one mini-batch covers, and the generator states to replay it with. */
interface MiniBatch {
  start: number;
  length: number;
  /** getRngState() per device ("cpu" first), taken just before the mini-batch was embedded. */
  states: Map<string, Tensor>;
}

interface PendingColumn {
  features: Features;
  miniBatches: MiniBatch[];
  /** d loss / d embeddings of this column ([batch, dim]), or null when the loss ignores the column. */
  cache: Tensor | null;
}

interface PendingBackward {
  /** The leaf forward returned; its .grad is the scale of the replay. Owned by the caller. */
  loss: Tensor;
  columns: PendingColumn[];
}

/**
 * Base class of the Cached* losses (CachedMultipleNegativesRankingLoss, ...), implementing GradCache
 * (Gao et al. 2021, "Scaling Deep Contrastive Learning Batch Size under Memory Limited Setup").
 * Memory grows with `miniBatchSize`, not with the batch size.
 *
 * `forward(features, labels)` in grad mode:
 * 1. embeds every column in mini-batches of `miniBatchSize` under noGrad, saving the random
 *    generator state before each mini-batch;
 * 2. computes the loss from those detached embeddings and backpropagates it to them: the
 *    gradients are the cache;
 * 3. returns the loss as a scalar leaf tensor with `requiresGrad` set, whose value is the loss.
 *
 * The model's gradients come from phase 3, which needs the gradient reaching that leaf (in Python a
 * backward hook on the loss runs it; @stts/torch has no hooks). So the training loop must, after
 * `total.backward()` (which stores d total / d loss in the leaf's `.grad`, e.g. 1/accumulation
 * steps or a modifier's weight), call `loss.runDeferredBackward()`, or use
 * `backwardLoss(loss, value)` which does both. Phase 3 re-embeds each mini-batch with a graph,
 * restoring its saved generator state first so dropout draws the same masks, backpropagates
 * `cache slice * leaf.grad` through it, and frees that mini-batch's graph before the next one. The
 * generator state afterwards is the one phase 1 left.
 *
 * Until then the loss holds the cache and the states (freed by `runDeferredBackward()`, the next
 * forward, or `dispose()`) and refers to the caller's features and loss value, which must stay
 * alive. A forward under noGrad (evaluation) just returns the loss value and defers nothing. Calling
 * forward again after the previous value was backpropagated without `runDeferredBackward()` throws,
 * because the model would silently miss that step's gradients.
 *
 * `computeLossFromEmbeddings(embeddings, labels)` runs the same phase-2 computation with its graph
 * on given embeddings: the numbers and gradients of the non-cached loss.
 *
 * @param model the model to train
 * @param miniBatchSize rows embedded (and scored) at a time (default 32 in every subclass)
 *
 * @example
 * const value = loss.forward(features, null) as Tensor; // phases 1 and 2
 * backwardLoss(loss, value);                            // value.backward() + phase 3
 */
export abstract class GradCacheLoss extends Loss implements DeferredBackward {
  readonly miniBatchSize: number;
  #pending: PendingBackward | null = null;

  constructor(model: EmbeddingModel, miniBatchSize: number) {
    super(model);
    if (!Number.isInteger(miniBatchSize) || miniBatchSize < 1) {
      throw new RangeError(`${new.target.name}: miniBatchSize must be a positive integer, got ${miniBatchSize}`);
    }
    this.miniBatchSize = miniBatchSize;
  }

  /** The loss from the whole batch's embeddings (phase 2); see CachedLossCalculator. */
  abstract calculateLoss(reps: Tensor[], guideReps: Tensor[] | null, withBackward: boolean): Tensor;

  /** Throws unless the loss accepts `count` columns (per its static inputColumns). */
  protected checkColumns(count: number): void {
    checkColumnCount(this.constructor.name, this.constructor as unknown as LossInputSpec, count);
  }

  /** The guide model's embedding of a mini-batch (no graph), or null when the loss has no guide. */
  protected embedGuide(_features: Features): Tensor | null {
    return null;
  }

  override forward(sentenceFeatures: Features[], _labels: Tensor | null): Tensor {
    return this.cachedForward(sentenceFeatures, (reps, guides, withBackward) =>
      this.calculateLoss(reps, guides, withBackward),
    );
  }

  /**
   * GradCache's forward with a custom phase-2 computation (MatryoshkaLoss passes one that sums the
   * loss over truncated embeddings).
   */
  cachedForward(sentenceFeatures: Features[], calculate: CachedLossCalculator): Tensor {
    this.checkColumns(sentenceFeatures.length);
    this.#discardPending();
    const grad = torch.isGradEnabled();
    const columns: PendingColumn[] = [];
    let handedOver = false;
    try {
      return torch.scope(() => {
        const reps: Tensor[] = [];
        const guides: Tensor[] = [];
        for (const features of sentenceFeatures) {
          const pending: PendingColumn = { features, miniBatches: [], cache: null };
          columns.push(pending); // before embedding, so the states are freed if it throws
          const column = this.#embedColumn(pending);
          reps.push(column.reps);
          if (column.guide !== null) guides.push(column.guide);
        }
        const guideReps = guides.length === 0 ? null : guides;
        if (!grad) return calculate(reps, guideReps, false);
        for (const rep of reps) rep.requiresGrad = true;
        const value = calculate(reps, guideReps, true).detach();
        reps.forEach((rep, c) => {
          const cache = rep.grad;
          columns[c]!.cache = cache === null ? null : torch.keep(cache);
        });
        const loss = value.requiresGrad_(true);
        this.#pending = { loss, columns };
        handedOver = true;
        return loss;
      });
    } finally {
      if (!handedOver) disposeColumns(columns);
    }
  }

  get hasPendingBackward(): boolean {
    return this.#pending !== null;
  }

  runDeferredBackward(): boolean {
    const pending = this.#pending;
    if (pending === null) return false;
    this.#pending = null;
    try {
      if (pending.loss.isDisposed) {
        throw new Error(
          `${this.constructor.name}: the loss value was disposed before runDeferredBackward(); keep it alive until the backward pass is complete`,
        );
      }
      return torch.scope(() => {
        const gradOutput = pending.loss.grad;
        if (gradOutput === null) return false;
        this.#replay(pending.columns, gradOutput);
        return true;
      });
    } finally {
      disposeColumns(pending.columns);
    }
  }

  /** Frees the pending cache (if any) along with the loss's own parameters. */
  override dispose(): void {
    this.#discardPending(true);
    super.dispose();
  }

  /** Phase 1 for one column: embeddings [batch, dim] with no graph; records in `pending` what phase 3 needs. */
  #embedColumn(pending: PendingColumn): { reps: Tensor; guide: Tensor | null } {
    const features = pending.features;
    const batchSize = batchSizeOf(features, this.constructor.name);
    const devices = devicesOf(features);
    const { parts, guideParts } = torch.scope(() => {
      const parts: Tensor[] = [];
      const guideParts: Tensor[] = [];
      for (let start = 0; start < batchSize; start += this.miniBatchSize) {
        const length = Math.min(this.miniBatchSize, batchSize - start);
        const states = new Map(devices.map((device) => [device, torch.keep(torch.getRngState(device))]));
        pending.miniBatches.push({ start, length, states });
        const [rep, guide] = torch.noGrad(() =>
          torch.scope(() => {
            const slice = sliceFeatures(features, start, length);
            const embedded = this.embed(slice);
            return [embedded, this.embedGuide(slice)] as const;
          }),
        );
        parts.push(rep);
        if (guide !== null) guideParts.push(guide);
      }
      return { parts, guideParts };
    });
    const reps = torch.scope(() => torch.noGrad(() => torch.cat(parts)));
    const guide = guideParts.length === 0 ? null : torch.scope(() => torch.noGrad(() => torch.cat(guideParts)));
    for (const part of [...parts, ...guideParts]) part.dispose();
    return { reps, guide };
  }

  /** Phase 3: re-embed each mini-batch with its saved generator states and backpropagate its cache slice. */
  #replay(columns: PendingColumn[], gradOutput: Tensor): void {
    const devices = [...new Set(columns.flatMap((c) => c.miniBatches.flatMap((mb) => [...mb.states.keys()])))];
    const before = new Map(devices.map((device) => [device, torch.getRngState(device)]));
    try {
      torch.enableGrad(() => {
        for (const column of columns) {
          const cache = column.cache;
          if (cache === null) continue;
          for (const { start, length, states } of column.miniBatches) {
            for (const [device, state] of states) torch.setRngState(state, device);
            torch.scope(() => {
              const rep = this.embed(sliceFeatures(column.features, start, length)); // [length, dim]
              if (rep.requiresGrad) rep.backward(cache.narrow(0, start, length).mul(gradOutput));
            });
          }
        }
      });
    } finally {
      for (const [device, state] of before) torch.setRngState(state, device);
    }
  }

  #discardPending(quiet = false): void {
    const pending = this.#pending;
    if (pending === null) return;
    this.#pending = null;
    disposeColumns(pending.columns);
    if (quiet || pending.loss.isDisposed) return;
    const grad = pending.loss.grad;
    if (grad === null) return;
    grad.dispose();
    throw new Error(
      `${this.constructor.name}: the previous loss value was backpropagated but runDeferredBackward() was never called, ` +
        "so the model got no gradient from it. Call backwardLoss(loss, value) (or value.backward() then loss.runDeferredBackward()) every step.",
    );
  }
}

/**
 * Throws unless `count` input columns fit `spec` (the loss class's static inputColumns and labelKind),
 * e.g. "SoftmaxLoss expects 2 input columns (sentence A, sentence B) and integer class labels, got 3 columns".
 */
export function checkColumnCount(who: string, spec: LossInputSpec, count: number): void {
  const { min, max } = spec.inputColumns;
  if (count < min || (max !== null && count > max)) {
    throw new Error(`${describeExpectation(who, spec)}, got ${count} column${count === 1 ? "" : "s"}`);
  }
}

function disposeColumns(columns: PendingColumn[]): void {
  for (const column of columns) {
    column.cache?.dispose();
    column.cache = null;
    for (const miniBatch of column.miniBatches) for (const state of miniBatch.states.values()) state.dispose();
    column.miniBatches = [];
  }
}

/** The number of rows of a column's features (from inputIds, else the first tensor). */
export function batchSizeOf(features: Features, who: string): number {
  const probe = features.inputIds ?? Object.values(features).find((v): v is Tensor => v instanceof torch.Tensor);
  if (probe === undefined || probe.ndim === 0) {
    throw new Error(`${who}: cannot tell the batch size of features with keys ${Object.keys(features).join(", ")}`);
  }
  return probe.size(0);
}

/** Rows [start, start + length) of every tensor in `features` (views; tensors in arrays too). */
export function sliceFeatures(features: Features, start: number, length: number): Features {
  const out: Features = {};
  for (const [key, value] of Object.entries(features)) {
    if (value instanceof torch.Tensor) out[key] = value.ndim === 0 ? value : value.narrow(0, start, length);
    else if (Array.isArray(value)) out[key] = value.map((t) => t.narrow(0, start, length));
    else out[key] = value;
  }
  return out;
}

/** "cpu" plus every other device the features live on: the generators dropout may draw from. */
function devicesOf(features: Features): string[] {
  const devices = new Set(["cpu"]);
  for (const value of Object.values(features)) {
    for (const t of Array.isArray(value) ? value : value === undefined ? [] : [value]) devices.add(t.device);
  }
  return [...devices];
}
