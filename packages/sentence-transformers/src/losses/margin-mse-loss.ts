// MarginMSELoss: regress the student's score margins (positive - negative) onto the teacher's.
import { functional as F, scope, stack, type Tensor } from "@stts/torch";
import type { EmbeddingModel } from "../features.js";
import { pairwiseDotScore, similarityFunctionName, type SimilarityFunction } from "../util/similarity.js";
import { SentenceEmbeddingLoss, type ConfigValue } from "./loss.js";
import {
  checkLabelledLossInputs,
  type InputColumns,
  type LabelKind,
  type DataFormatId,
  type LossCategory,
} from "./loss-inputs.js";

/** Options of `MarginMSELoss`. */
export interface MarginMSELossOptions {
  /** Pairwise similarity of queries and passages. Default pairwiseDotScore. */
  similarityFct?: SimilarityFunction;
}

/**
 * MSE between the student's margins sim(q, pos) - sim(q, neg_i) and the teacher's (Hofstätter et al.).
 * Labels are the teacher margins, [batch] (broadcast over the negatives) or [batch, negatives], or the
 * raw teacher scores [batch, 1 + negatives] = [score(q, pos), score(q, neg_1), ...], which are turned
 * into margins score(q, pos) - score(q, neg_i).
 *
 * Inputs: (query, positive, negative_1, ..., negative_n); teacher margins or scores.
 *
 * @example
 * const loss = new MarginMSELoss(model);
 * const value = loss.forward([queryFeatures, positiveFeatures, negativeFeatures], teacherMargins);
 *
 * @param model the student model to train
 * @param options similarityFct (default pairwiseDotScore)
 */
export class MarginMSELoss extends SentenceEmbeddingLoss {
  static readonly inputColumns: InputColumns = { min: 3, max: null, roles: ["query", "positive", "negative..."] };
  static readonly labelKind: LabelKind = "teacher_margins";
  static readonly category: LossCategory = "distillation";
  static readonly description: string =
    "Mean squared error between the student's score margins, sim(q, p) - sim(q, n_i), and the teacher's.";
  static readonly dataFormats: readonly DataFormatId[] = ["teacher-margins", "teacher-scores"];
  static readonly commonChoiceFor: readonly DataFormatId[] = ["teacher-margins", "teacher-scores"];

  readonly similarityFct: SimilarityFunction;

  constructor(model: EmbeddingModel, options: MarginMSELossOptions = {}) {
    super(model);
    this.similarityFct = options.similarityFct ?? pairwiseDotScore;
  }

  /** embeddings: [queries, positives, ...negatives], each [batch, dim]; labels: see the class docs. */
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null): Tensor {
    const teacher = checkLabelledLossInputs("MarginMSELoss", MarginMSELoss, embeddings, labels);
    const negatives = embeddings.length - 2;
    const width = teacher.ndim === 1 ? 1 : teacher.size(1);
    if (width !== 1 && width !== negatives && width !== negatives + 1) {
      throw new Error(
        `MarginMSELoss: with ${negatives} negative column(s), labels must be teacher margins [batch] or [batch, ${negatives}], or raw teacher scores [batch, ${negatives + 1}]; got [${teacher.shape.join(", ")}]`,
      );
    }
    return scope(() => {
      const [queries, positives, ...negativeColumns] = embeddings as [Tensor, Tensor, ...Tensor[]];
      const positiveScores = this.similarityFct(queries, positives); // [batch]
      const negativeScores = stack(
        negativeColumns.map((n) => this.similarityFct(queries, n)),
        1,
      ); // [batch, n]
      const margins = positiveScores.unsqueeze(1).sub(negativeScores); // [batch, n]
      let target = (teacher.ndim === 1 ? teacher.unsqueeze(1) : teacher).to(margins.dtype);
      if (width === negatives + 1) target = target.narrow(1, 0, 1).sub(target.narrow(1, 1, negatives));
      return F.mseLoss(margins, target.expandAs(margins));
    });
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return { similarityFct: similarityFunctionName(this.similarityFct) };
  }

  override get citation(): string {
    return `@misc{hofstätter2021improving,
    title={Improving Efficient Neural Ranking Models with Cross-Architecture Knowledge Distillation},
    author={Sebastian Hofstätter and Sophia Althammer and Michael Schröder and Mete Sertkan and Allan Hanbury},
    year={2021},
    eprint={2010.02666},
    archivePrefix={arXiv},
    primaryClass={cs.IR}
}
`;
  }
}
