// CosineSimilarityLoss: regress the cosine similarity of a pair onto its gold score.
import { functional as F, scope, type Tensor } from "@stts/torch";
import type { EmbeddingModel } from "../features.js";
import { SentenceEmbeddingLoss, type ConfigValue } from "./loss.js";
import {
  checkLabelledLossInputs,
  type InputColumns,
  type LabelKind,
  type DataFormatId,
  type LossCategory,
} from "./loss-inputs.js";

/** A regression loss of predictions [batch] against targets [batch], reduced to a scalar. */
export type RegressionLoss = (input: Tensor, target: Tensor) => Tensor;

/** The built-in regression losses by the reference's class names (mean reduction). */
const REGRESSION_LOSSES: Readonly<Record<"MSELoss" | "L1Loss", RegressionLoss>> = {
  MSELoss: (input, target) => F.mseLoss(input, target),
  L1Loss: (input, target) => F.l1Loss(input, target),
};

/** Options of `CosineSimilarityLoss`. */
export interface CosineSimilarityLossOptions {
  /** "MSELoss" (default), "L1Loss", or a custom regression loss. */
  lossFct?: "MSELoss" | "L1Loss" | RegressionLoss;
  /** Applied to the cosine similarities before the loss. Default the identity. */
  cosScoreTransformation?: (scores: Tensor) => Tensor;
}

function identity(scores: Tensor): Tensor {
  return scores;
}

/**
 * Computes cos(u, v) for each pair and regresses it onto the gold score:
 * loss = lossFct(cosScoreTransformation(cos(u, v)), label), MSE by default.
 *
 * Inputs: (sentence A, sentence B) pairs; float similarity scores (e.g. in [0, 1] or [-1, 1]).
 *
 * @example
 * const loss = new CosineSimilarityLoss(model, { lossFct: "MSELoss" });
 * const value = loss.forward([featuresA, featuresB], torch.tensor([0.9, 0.1]));
 *
 * @param model the model to train
 * @param options lossFct (default "MSELoss"), cosScoreTransformation (default identity)
 */
export class CosineSimilarityLoss extends SentenceEmbeddingLoss {
  static readonly inputColumns: InputColumns = { min: 2, max: 2, roles: ["sentence A", "sentence B"] };
  static readonly labelKind: LabelKind = "score";
  static readonly category: LossCategory = "table";
  static readonly description: string =
    "Regresses the cosine similarity of the two embeddings onto the gold score with mean squared error (or L1).";
  static readonly dataFormats: readonly DataFormatId[] = ["scored-pairs"];
  static readonly commonChoiceFor: readonly DataFormatId[] = [];

  readonly lossFct: "MSELoss" | "L1Loss" | RegressionLoss;
  readonly cosScoreTransformation: (scores: Tensor) => Tensor;

  constructor(model: EmbeddingModel, options: CosineSimilarityLossOptions = {}) {
    super(model);
    const lossFct = options.lossFct ?? "MSELoss";
    if (typeof lossFct === "string" && !Object.hasOwn(REGRESSION_LOSSES, lossFct)) {
      throw new Error(`CosineSimilarityLoss: lossFct must be "MSELoss", "L1Loss" or a function, got "${lossFct}"`);
    }
    this.lossFct = lossFct;
    this.cosScoreTransformation = options.cosScoreTransformation ?? identity;
  }

  /** embeddings: [sentencesA, sentencesB], each [batch, dim]; labels: [batch] float scores. */
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null): Tensor {
    const scores = checkLabelledLossInputs("CosineSimilarityLoss", CosineSimilarityLoss, embeddings, labels);
    return scope(() => {
      const [a, b] = embeddings as [Tensor, Tensor];
      const output = this.cosScoreTransformation(F.cosineSimilarity(a, b)); // [batch], cos with eps 1e-8
      const lossFct = typeof this.lossFct === "string" ? REGRESSION_LOSSES[this.lossFct] : this.lossFct;
      // The reference casts labels to float32; here they follow the embeddings' dtype.
      return lossFct(output, scores.to(output.dtype).reshape([-1]));
    });
  }

  override getConfigDict(): Record<string, ConfigValue> {
    const transformation = this.cosScoreTransformation;
    return {
      lossFct: typeof this.lossFct === "string" ? this.lossFct : this.lossFct.name || "anonymous",
      cosScoreTransformation: transformation === identity ? "Identity" : transformation.name || "anonymous",
    };
  }
}
