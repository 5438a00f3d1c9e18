// Linear (torch.nn.Linear): y = x W^T + b.
import type { Tensor } from "../tensor.js";
import type { DType } from "../dtype.js";
import { empty } from "../ops/creation.js";
import { linear } from "../ops/nn-functional.js";
import { Module } from "./module.js";
import { calculateFanInAndFanOut, kaimingUniform_, uniform_ } from "./init.js";

/** Options of `Linear`. */
export interface LinearOptions {
  /** Add a learnable bias (default true). */
  bias?: boolean;
  /** Default "float32". */
  dtype?: DType;
  /** Default "cpu". */
  device?: string;
}

/**
 * A fully connected layer, y = x W^T + b (torch.nn.Linear), applied to the last dimension of x.
 * `weight` is [outFeatures, inFeatures], `bias` is [outFeatures] (or null). Initialised as in
 * PyTorch: weight by kaimingUniform_ with a = sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in)), then bias
 * by U(-1/sqrt(in), 1/sqrt(in)); with the same manualSeed the values equal PyTorch's.
 *
 * @param inFeatures size of each input sample
 * @param outFeatures size of each output sample
 * @param options bias (default true), dtype (default "float32"), device (default "cpu")
 *
 * @example
 * const fc = new nn.Linear(4, 3);
 * const y = fc.forward(torch.ones([2, 4])); // [2, 3]
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    checkSize(inFeatures, "inFeatures");
    checkSize(outFeatures, "outFeatures");
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const factory = { dtype: options.dtype, device: options.device };
    this.registerParameter("weight", empty([outFeatures, inFeatures], factory));
    if (options.bias ?? true) this.registerParameter("bias", empty([outFeatures], factory));
    this.resetParameters();
  }

  /** [outFeatures, inFeatures] */
  get weight(): Tensor {
    return this.getParameter("weight");
  }

  /** [outFeatures], or null when built with bias: false. */
  get bias(): Tensor | null {
    return this.ownParameter("bias");
  }

  /** Draws new weights (and bias) from the default generator, as the constructor did. */
  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    const bias = this.bias;
    if (bias !== null) {
      const { fanIn } = calculateFanInAndFanOut(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      uniform_(bias, -bound, bound);
    }
  }

  /** input: [..., inFeatures] -> [..., outFeatures] */
  override forward(input: Tensor): Tensor {
    return linear(input, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

function checkSize(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`Linear: ${name} must be a non-negative integer, got ${value}`);
  }
}
