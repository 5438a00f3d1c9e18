// Embedding (torch.nn.Embedding): a lookup table of vectors.
import type { Tensor } from "../tensor.js";
import type { DType } from "../dtype.js";
import { empty } from "../ops/creation.js";
import { embedding } from "../ops/nn-functional.js";
import { noGrad } from "../autograd.js";
import { scope } from "../scope.js";
import { Module } from "./module.js";
import { normal_ } from "./init.js";

/** Options of `Embedding`. */
export interface EmbeddingOptions {
  /**
   * A row that stays zero at initialisation and receives no gradient (e.g. the padding token);
   * negative values count from the end. Default none.
   */
  paddingIdx?: number | null;
  /** Default "float32". */
  dtype?: DType;
  /** Default "cpu". */
  device?: string;
}

/**
 * A table of `numEmbeddings` vectors of size `embeddingDim`, looked up by integer index
 * (torch.nn.Embedding). `weight` is [numEmbeddings, embeddingDim], initialised from N(0, 1) like
 * PyTorch (same values for the same manualSeed), with the `paddingIdx` row set to zero.
 *
 * @param numEmbeddings size of the table (e.g. the vocabulary size)
 * @param embeddingDim size of each vector
 * @param options paddingIdx (default none), dtype (default "float32"), device (default "cpu")
 *
 * @example
 * const emb = new nn.Embedding(30522, 768, { paddingIdx: 0 });
 * const vectors = emb.forward(torch.tensor([[101, 2023, 102]], { dtype: "int64" })); // [1, 3, 768]
 */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** The padding row (non-negative), or null. */
  readonly paddingIdx: number | null;

  constructor(numEmbeddings: number, embeddingDim: number, options: EmbeddingOptions = {}) {
    super();
    for (const [name, value] of [
      ["numEmbeddings", numEmbeddings],
      ["embeddingDim", embeddingDim],
    ] as const) {
      if (!Number.isInteger(value) || value < 0) {
        throw new RangeError(`Embedding: ${name} must be a non-negative integer, got ${value}`);
      }
    }
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    const paddingIdx = options.paddingIdx ?? null;
    if (
      paddingIdx !== null &&
      (!Number.isInteger(paddingIdx) || paddingIdx >= numEmbeddings || paddingIdx < -numEmbeddings)
    ) {
      throw new RangeError(
        `Embedding: paddingIdx must be an integer in [-${numEmbeddings}, ${numEmbeddings}), got ${paddingIdx}`,
      );
    }
    this.paddingIdx = paddingIdx === null ? null : paddingIdx < 0 ? paddingIdx + numEmbeddings : paddingIdx;
    this.registerParameter(
      "weight",
      empty([numEmbeddings, embeddingDim], { dtype: options.dtype, device: options.device }),
    );
    this.resetParameters();
  }

  /** [numEmbeddings, embeddingDim] */
  get weight(): Tensor {
    return this.getParameter("weight");
  }

  /** Draws new vectors from N(0, 1) and zeroes the padding row, as the constructor did. */
  resetParameters(): void {
    normal_(this.weight);
    const paddingIdx = this.paddingIdx;
    if (paddingIdx !== null) noGrad(() => scope(() => void this.weight.select(0, paddingIdx).fill_(0)));
  }

  /** indices: integer tensor of any shape [...] -> [..., embeddingDim] */
  override forward(indices: Tensor): Tensor {
    return embedding(indices, this.weight, this.paddingIdx);
  }

  override extraRepr(): string {
    const padding = this.paddingIdx === null ? "" : `, paddingIdx=${this.paddingIdx}`;
    return `${this.numEmbeddings}, ${this.embeddingDim}${padding}`;
  }
}
