// DistillKLDivLoss: match the student's score distribution over passages to the teacher's.
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

/** Options of `DistillKLDivLoss`. */
export interface DistillKLDivLossOptions {
  /** Pairwise similarity of queries and passages. Default pairwiseDotScore. */
  similarityFct?: SimilarityFunction;
  /** Softens both distributions; the loss is multiplied by temperature^2. Default 1. */
  temperature?: number;
}

/**
 * KL(teacher || student) over each query's passages [positive, negative_1, ...]: with student scores
 * s = sim(q, passage) and teacher scores t (the labels),
 * loss = KL(softmax(t / T) || softmax(s / T)) (batch mean) * T^2.
 *
 * Inputs: (query, positive, negative_1, ..., negative_n); raw teacher scores [batch, 1 + n].
 *
 * @example
 * const loss = new DistillKLDivLoss(model, { temperature: 1 });
 * const value = loss.forward([queryFeatures, positiveFeatures, negativeFeatures], teacherScores);
 *
 * @param model the student model to train
 * @param options similarityFct (default pairwiseDotScore), temperature (default 1)
 */
export class DistillKLDivLoss extends SentenceEmbeddingLoss {
  static readonly inputColumns: InputColumns = { min: 3, max: null, roles: ["query", "positive", "negative..."] };
  static readonly labelKind: LabelKind = "teacher_scores";
  static readonly category: LossCategory = "distillation";
  static readonly description: string =
    "KL divergence between the teacher's and the student's score distributions (softmax with a temperature) over the positive and the negatives of each query.";
  static readonly dataFormats: readonly DataFormatId[] = ["teacher-scores"];
  static readonly commonChoiceFor: readonly DataFormatId[] = ["teacher-scores"];

  readonly similarityFct: SimilarityFunction;
  readonly temperature: number;

  constructor(model: EmbeddingModel, options: DistillKLDivLossOptions = {}) {
    super(model);
    this.similarityFct = options.similarityFct ?? pairwiseDotScore;
    this.temperature = options.temperature ?? 1;
  }

  /** embeddings: [queries, positives, ...negatives], each [batch, dim]; labels: [batch, 1 + negatives]. */
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null): Tensor {
    const teacher = checkLabelledLossInputs("DistillKLDivLoss", DistillKLDivLoss, embeddings, labels);
    const passages = embeddings.length - 1;
    if (teacher.size(1) !== passages) {
      throw new Error(
        `DistillKLDivLoss: with ${passages} passage columns (positive and negatives), labels must be teacher scores [batch, ${passages}], got [${teacher.shape.join(", ")}]`,
      );
    }
    return scope(() => {
      const [queries, ...passageColumns] = embeddings as [Tensor, ...Tensor[]];
      const studentScores = stack(
        passageColumns.map((p) => this.similarityFct(queries, p)),
        1,
      ); // [batch, 1 + n]
      const studentLogProbs = studentScores.div(this.temperature).logSoftmax(1);
      const teacherProbs = teacher.to(studentScores.dtype).div(this.temperature).softmax(1);
      return F.klDiv(studentLogProbs, teacherProbs, { reduction: "batchmean" }).mul(this.temperature ** 2);
    });
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return { similarityFct: similarityFunctionName(this.similarityFct), temperature: this.temperature };
  }

  override get citation(): string {
    return `@misc{lin2020distillingdenserepresentationsranking,
      title={Distilling Dense Representations for Ranking using Tightly-Coupled Teachers},
      author={Sheng-Chieh Lin and Jheng-Hong Yang and Jimmy Lin},
      year={2020},
      eprint={2010.11386},
      archivePrefix={arXiv},
      primaryClass={cs.IR},
      url={https://arxiv.org/abs/2010.11386},
}
`;
  }
}
