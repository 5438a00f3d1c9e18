// Matryoshka2dLoss (2DMSE): AdaptiveLayerLoss around a MatryoshkaLoss, fewer layers and fewer dims.
import type { EmbeddingModel } from "../features.js";
import { AdaptiveLayerLoss, type AdaptiveLayerLossOptions } from "./adaptive-layer-loss.js";
import type { ConfigValue, Loss } from "./loss.js";
import { MatryoshkaLoss, type MatryoshkaLossOptions } from "./matryoshka-loss.js";
import type { DataFormatId, LossCategory } from "./loss-inputs.js";

/** Options of `Matryoshka2dLoss`: MatryoshkaLoss's and AdaptiveLayerLoss's together. */
export interface Matryoshka2dLossOptions extends MatryoshkaLossOptions, AdaptiveLayerLossOptions {}

/**
 * 2D Matryoshka Sentence Embeddings (Li et al. 2024): an AdaptiveLayerLoss whose inner loss is a
 * MatryoshkaLoss around `loss`, so the model is trained for both fewer layers and shorter
 * embeddings. Every layer's loss is the Matryoshka sum over dims (truncated and L2-normalised);
 * the KL terms compare the full, untruncated embeddings. Defaults follow the 2DMSE paper: one random
 * earlier layer and one random dim per step (drawn from the engine's generator).
 *
 * Columns and labels: those of the inner loss.
 *
 * @param model the model to train
 * @param loss the inner loss (any non-cached loss with computeLossFromEmbeddings)
 * @param options matryoshkaDims (required), matryoshkaWeights (default null = all 1), nLayersPerStep
 *   (default 1), nDimsPerStep (default 1), lastLayerWeight (default 1), priorLayersWeight (default 1),
 *   klDivWeight (default 1), klTemperature (default 0.3)
 *
 * @example
 * const loss = new Matryoshka2dLoss(model, new MultipleNegativesRankingLoss(model), { matryoshkaDims: [768, 256, 64] });
 * const value = loss.forward([anchors, positives], null);
 */
export class Matryoshka2dLoss extends AdaptiveLayerLoss {
  static override readonly category: LossCategory = "modifier";
  static override readonly description: string =
    "MatryoshkaLoss inside AdaptiveLayerLoss (2D Matryoshka): fewer layers and fewer dimensions at once.";
  static override readonly dataFormats: readonly DataFormatId[] = [];
  static override readonly commonChoiceFor: readonly DataFormatId[] = [];

  constructor(model: EmbeddingModel, loss: Loss, options: Matryoshka2dLossOptions) {
    const given: Partial<Matryoshka2dLossOptions> = options ?? {};
    const matryoshka = new MatryoshkaLoss(model, loss, {
      matryoshkaDims: given.matryoshkaDims!,
      matryoshkaWeights: given.matryoshkaWeights ?? null,
      nDimsPerStep: given.nDimsPerStep ?? 1,
    });
    super(model, matryoshka, {
      nLayersPerStep: given.nLayersPerStep ?? 1,
      lastLayerWeight: given.lastLayerWeight,
      priorLayersWeight: given.priorLayersWeight,
      klDivWeight: given.klDivWeight,
      klTemperature: given.klTemperature,
    });
  }

  /** The MatryoshkaLoss this loss wraps around the given loss. */
  get matryoshkaLoss(): MatryoshkaLoss {
    return this.loss as MatryoshkaLoss;
  }

  /** AdaptiveLayerLoss's entries then MatryoshkaLoss's, "loss" naming the innermost loss (as the reference). */
  override getConfigDict(): Record<string, ConfigValue> {
    return { ...super.getConfigDict(), ...this.matryoshkaLoss.getConfigDict() };
  }
}
