// LayerNorm (torch.nn.LayerNorm): normalisation over the trailing dimensions.
import type { Tensor } from "../tensor.js";
import type { DType } from "../dtype.js";
import { empty } from "../ops/creation.js";
import { layerNorm } from "../ops/nn-functional.js";
import { Module } from "./module.js";
import { ones_, zeros_ } from "./init.js";

/** Options of `LayerNorm`. */
export interface LayerNormOptions {
  /** Added to the variance (default 1e-5; BERT uses 1e-12). */
  eps?: number;
  /** Learnable per-element weight (and bias) (default true). */
  elementwiseAffine?: boolean;
  /** Learnable bias, when elementwiseAffine (default true). */
  bias?: boolean;
  /** Default "float32". */
  dtype?: DType;
  /** Default "cpu". */
  device?: string;
}

/**
 * Layer normalisation over the last `normalizedShape.length` dimensions (torch.nn.LayerNorm):
 * y = (x - mean) / sqrt(var + eps) * weight + bias, with the biased variance. `weight` starts at
 * ones and `bias` at zeros, both of shape `normalizedShape`.
 *
 * @param normalizedShape the trailing shape to normalise over (a number means [number])
 * @param options eps (default 1e-5), elementwiseAffine (default true), bias (default true),
 *   dtype (default "float32"), device (default "cpu")
 *
 * @example
 * const norm = new nn.LayerNorm(768, { eps: 1e-12 });
 * const y = norm.forward(hidden); // hidden: [batch, seq, 768]
 */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;

  constructor(normalizedShape: number | number[], options: LayerNormOptions = {}) {
    super();
    const shape = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
    if (!shape.every((size) => Number.isInteger(size) && size >= 0)) {
      throw new RangeError(`LayerNorm: normalizedShape must hold non-negative integers, got [${shape.join(", ")}]`);
    }
    this.normalizedShape = shape;
    this.eps = options.eps ?? 1e-5;
    this.elementwiseAffine = options.elementwiseAffine ?? true;
    const factory = { dtype: options.dtype, device: options.device };
    if (this.elementwiseAffine) {
      this.registerParameter("weight", empty(shape, factory));
      if (options.bias ?? true) this.registerParameter("bias", empty(shape, factory));
    }
    this.resetParameters();
  }

  /** normalizedShape, or null without elementwiseAffine. */
  get weight(): Tensor | null {
    return this.ownParameter("weight");
  }

  /** normalizedShape, or null without elementwiseAffine or bias. */
  get bias(): Tensor | null {
    return this.ownParameter("bias");
  }

  /** Sets weight to ones and bias to zeros. */
  resetParameters(): void {
    const { weight, bias } = this;
    if (weight !== null) ones_(weight);
    if (bias !== null) zeros_(bias);
  }

  /** input: [..., *normalizedShape] -> same shape */
  override forward(input: Tensor): Tensor {
    return layerNorm(input, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `[${this.normalizedShape.join(", ")}], eps=${this.eps}, elementwiseAffine=${this.elementwiseAffine}`;
  }
}
