// AnglELoss: CoSENTLoss with the angle similarity of embeddings read as complex vectors.
import type { EmbeddingModel } from "../features.js";
import { pairwiseAngleSim } from "../util/similarity.js";
import { CoSENTLoss } from "./cosent-loss.js";
import type { ConfigValue } from "./loss.js";
import type { DataFormatId, LossCategory } from "./loss-inputs.js";

/** Options of `AnglELoss`. */
export interface AnglELossOptions {
  /** Multiplies the similarities. Default 20. */
  scale?: number;
}

/**
 * CoSENTLoss with `pairwiseAngleSim`: each embedding (of even dimension) is a complex vector whose
 * first half holds the real and second half the imaginary parts; pairs are ranked by the angle
 * difference in complex space, which avoids the flat gradients of cosine near +-1.
 *
 * Inputs: (sentence A, sentence B) pairs; float similarity scores.
 *
 * @example
 * const loss = new AnglELoss(model, { scale: 20 });
 * const value = loss.forward([featuresA, featuresB], torch.tensor([1, 0.3, 0]));
 *
 * @param model the model to train (its embedding dimension must be even)
 * @param options scale (default 20)
 */
export class AnglELoss extends CoSENTLoss {
  static override readonly category: LossCategory = "table";
  static override readonly description: string =
    "CoSENTLoss with an angle-based similarity in complex space, which keeps the gradient alive where cosine similarity saturates.";
  static override readonly dataFormats: readonly DataFormatId[] = ["scored-pairs"];
  static override readonly commonChoiceFor: readonly DataFormatId[] = ["scored-pairs"];

  constructor(model: EmbeddingModel, options: AnglELossOptions = {}) {
    super(model, { scale: options.scale ?? 20, similarityFct: pairwiseAngleSim });
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return { scale: this.scale };
  }

  override get citation(): string {
    return `@misc{li2023angleoptimized,
    title={AnglE-optimized Text Embeddings},
    author={Xianming Li and Jing Li},
    year={2023},
    eprint={2309.12871},
    archivePrefix={arXiv},
    primaryClass={cs.CL}
}
`;
  }
}
