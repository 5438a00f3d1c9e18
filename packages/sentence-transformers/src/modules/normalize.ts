// Normalize: scales each sentence embedding to unit L2 norm.
import * as fs from "node:fs";
import { functional as F, nn } from "@stts/torch";
import { requireFeature, type Features } from "../features.js";

/**
 * L2-normalizes the sentence embedding (sentence-transformers' `models.Normalize`), so that dot
 * product equals cosine similarity. It has no parameters and no config: its folder ("2_Normalize")
 * is written empty, as the reference does, and loading does not need it.
 *
 * @example
 * const model = new SentenceTransformer([transformer, pooling, new Normalize()]);
 * const unit = new Normalize().forward({ sentenceEmbedding: x }).sentenceEmbedding; // rows of norm 1
 */
export class Normalize extends nn.Module {
  /** Builds a Normalize; the folder's contents (if any) are not needed. */
  static load(_folder: string): Normalize {
    return new Normalize();
  }

  /** sentenceEmbedding [batch, dim] -> the same rows divided by max(norm, 1e-12) */
  override forward(features: Features): Features {
    const embedding = requireFeature(features, "sentenceEmbedding", "Normalize");
    return { ...features, sentenceEmbedding: F.normalize(embedding, 2, -1) };
  }

  /** Creates the (empty) module folder. */
  save(folder: string): void {
    fs.mkdirSync(folder, { recursive: true });
  }
}
