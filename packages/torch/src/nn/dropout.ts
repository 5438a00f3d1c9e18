// Dropout (torch.nn.Dropout).
import type { Tensor } from "../tensor.js";
import { dropout } from "../ops/nn-functional.js";
import { Module } from "./module.js";

/**
 * During training, zeroes each element with probability `p` and scales the others by 1 / (1 - p)
 * (torch.nn.Dropout), drawing from the default generator; in eval mode (`module.eval()`) it
 * returns its input unchanged (as a new handle to the same tensor).
 *
 * On CPU builds whose Bernoulli kernel is serial (libtorch 1.13 without MKL, 2.7+), the mask is
 * drawn as `uniform_() < 1 - p`, about twice as fast: reproducible under `torch.manualSeed`, but
 * not the same mask as PyTorch's for the same seed (see `functional.dropout`).
 *
 * @param p probability of zeroing an element, in [0, 1] (default 0.5)
 *
 * @example
 * const drop = new nn.Dropout(0.1);
 * const y = drop.forward(x); // training: ~10% zeros, the rest * 1/0.9
 * drop.eval();
 * drop.forward(x);           // x's values
 */
export class Dropout extends Module {
  readonly p: number;

  constructor(p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: p must be in [0, 1], got ${p}`);
    this.p = p;
  }

  /** input: any shape -> same shape */
  override forward(input: Tensor): Tensor {
    return dropout(input, this.p, this.training);
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}
