// Token packing: the real (non-pad) tokens of a padded [batch, seq] batch as one [tokens] sequence, so that
// position-wise layers (linear, LayerNorm, GELU, dropout) skip the padding.
import * as torch from "@stts/torch";
import type { Tensor } from "@stts/torch";

/**
 * Where the real tokens of a padded batch sit: `index` [tokens] holds their flat positions in batch * seq, in
 * row-major order (sentence by sentence). `pack` keeps those positions of a [batch, seq, ...] tensor,
 * `unpack` lays a [tokens, ...] tensor back out as [batch, seq, ...] with zeros at padded positions. Both are
 * differentiable (index_select / index_copy). The index tensor belongs to the scope that created the packing.
 *
 * @example
 * const packing = TokenPacking.fromMask(attentionMask); // [batch, seq] 0/1
 * const tokens = packing.pack(hidden); // [batch, seq, hidden] -> [tokens, hidden]
 * const padded = packing.unpack(tokens); // [batch, seq, hidden], zeros where attentionMask is 0
 *
 * @param index [tokens] int64 flat positions of the real tokens
 * @param batch the padded batch size
 * @param seq the padded sequence length
 */
export class TokenPacking {
  constructor(
    readonly index: Tensor,
    readonly batch: number,
    readonly seq: number,
  ) {}

  /** The packing of a [batch, seq] 0/1 attention mask. */
  static fromMask(mask: Tensor): TokenPacking {
    const [batch, seq] = mask.shape as [number, number];
    const index = torch.scope(() => mask.reshape([-1]).nonzero().reshape([-1])); // [tokens]
    return new TokenPacking(index, batch, seq);
  }

  /** The number of real tokens. */
  get tokens(): number {
    return this.index.size(0);
  }

  /** Whether the batch has no padding at all (packing would change nothing). */
  get isDense(): boolean {
    return this.tokens === this.batch * this.seq;
  }

  /** [batch, seq, ...rest] -> [tokens, ...rest] */
  pack(x: Tensor): Tensor {
    return torch.scope(() => x.reshape([this.batch * this.seq, ...x.shape.slice(2)]).indexSelect(0, this.index));
  }

  /** [tokens, ...rest] -> [batch, seq, ...rest], zeros at padded positions */
  unpack(x: Tensor): Tensor {
    return torch.scope(() => {
      const rest = x.shape.slice(1);
      const zeros = torch.zeros([this.batch * this.seq, ...rest], { dtype: x.dtype, device: x.device });
      return zeros.indexCopy(0, this.index, x).view([this.batch, this.seq, ...rest]);
    });
  }
}
