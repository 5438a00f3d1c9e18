// MSELoss: regress student embeddings onto teacher embeddings (multilingual knowledge distillation).
import { cat, functional as F, scope, type Tensor } from "@stts/torch";
import type { EmbeddingModel } from "../features.js";
import { SentenceEmbeddingLoss, type ConfigValue } from "./loss.js";
import {
  checkLabelledLossInputs,
  type InputColumns,
  type LabelKind,
  type DataFormatId,
  type LossCategory,
} from "./loss-inputs.js";

/** MSELoss has no options (the reference's constructor takes only the model). */
export type MSELossOptions = Record<string, never>;

/**
 * The mean squared error between the student's embeddings of every input column and the teacher
 * embeddings given as labels (the same teacher embedding for every column, e.g. a source sentence and
 * its translations).
 *
 * Inputs: one or more sentence columns; teacher embeddings [batch, dim] as labels.
 *
 * @example
 * const loss = new MSELoss(studentModel);
 * const value = loss.forward([englishFeatures, germanFeatures], teacherEmbeddings);
 *
 * @param model the student model to train
 * @param options none (MSELoss has no options)
 */
export class MSELoss extends SentenceEmbeddingLoss {
  static readonly inputColumns: InputColumns = { min: 1, max: null, roles: ["sentence..."] };
  static readonly labelKind: LabelKind = "teacher_embeddings";
  static readonly category: LossCategory = "distillation";
  static readonly description: string =
    "Mean squared error between the student's embeddings and given teacher embeddings (e.g. the teacher's embedding of the source sentence, for multilingual distillation).";
  static readonly dataFormats: readonly DataFormatId[] = ["teacher-embeddings"];
  static readonly commonChoiceFor: readonly DataFormatId[] = ["teacher-embeddings"];

  constructor(model: EmbeddingModel, _options: MSELossOptions = {}) {
    super(model);
  }

  /** embeddings: one [batch, dim] tensor per column; labels: [batch, dim] teacher embeddings. */
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null): Tensor {
    const teacher = checkLabelledLossInputs("MSELoss", MSELoss, embeddings, labels);
    const dim = embeddings[0]!.size(1);
    // With one column the reference compares against labels[:, :dim], so a Matryoshka-truncated
    // student still matches a wider teacher; with several columns the widths must agree.
    const truncates = embeddings.length === 1 && teacher.size(1) > dim;
    if (teacher.size(1) !== dim && !truncates) {
      throw new Error(`MSELoss: teacher embeddings have dimension ${teacher.size(1)} but the model's have ${dim}`);
    }
    return scope(() => {
      const student = cat(embeddings, 0); // [columns * batch, dim]
      const target = (truncates ? teacher.narrow(1, 0, dim) : teacher).to(student.dtype);
      return F.mseLoss(student, target.repeat([embeddings.length, 1]));
    });
  }

  override getConfigDict(): Record<string, ConfigValue> {
    return {};
  }

  override get citation(): string {
    return `@inproceedings{reimers-2020-multilingual-sentence-bert,
    title = "Making Monolingual Sentence Embeddings Multilingual using Knowledge Distillation",
    author = "Reimers, Nils and Gurevych, Iryna",
    booktitle = "Proceedings of the 2020 Conference on Empirical Methods in Natural Language Processing",
    month = "11",
    year = "2020",
    publisher = "Association for Computational Linguistics",
    url = "https://arxiv.org/abs/2004.09813",
}
`;
  }
}
