// BERT (Devlin et al., 2019) as Hugging Face's modeling_bert builds it: embeddings -> N post-LayerNorm
// transformer layers -> optional pooler. Submodules are registered under the checkpoint's names
// ("encoder.layer.0.attention.self.query"), so loading a checkpoint is loadStateDict.
import * as torch from "@stts/torch";
import { nn, functional as F, type DType, type Tensor } from "@stts/torch";
import { BertConfig, type BertHiddenAct } from "./bert-config.js";
import type { EncoderForwardOptions, EncoderInputs, EncoderModel, EncoderOutput } from "./encoder.js";
import { TokenPacking } from "./token-packing.js";

/** BERT's inputs: an encoder's, plus the encoder states a decoder with cross-attention attends to. */
export interface BertInputs extends EncoderInputs {
  /** [batch, sourceSeq, hidden]: what cross-attention layers attend to (decoders with add_cross_attention only) */
  encoderHiddenStates?: Tensor;
  /** [batch, sourceSeq]: 1 for source positions to attend to (default: all ones) */
  encoderAttentionMask?: Tensor;
}

/** The most negative finite value of each floating dtype (torch.finfo(dtype).min), for additive masks. */
const FINFO_MIN: Partial<Record<DType, number>> = {
  float32: -3.4028234663852886e38,
  float64: -Number.MAX_VALUE,
  float16: -65504,
  bfloat16: -3.3895313892515355e38,
};

/** BERT's `hidden_act`: "gelu" is the exact erf GELU, "gelu_new" / "gelu_pytorch_tanh" its tanh approximation. */
export function bertActivation(name: BertHiddenAct, input: Tensor): Tensor {
  switch (name) {
    case "gelu":
      return F.gelu(input);
    case "gelu_new":
    case "gelu_pytorch_tanh":
      return F.gelu(input, "tanh");
    case "relu":
      return F.relu(input);
  }
}

/**
 * Additive attention mask from a [batch, seq] 0/1 mask: 0 where a key may be attended to, the dtype's most
 * negative value where not, shaped [batch, 1, 1, seq] (or [batch, 1, seq, seq] with `causal`, which also hides
 * every later position from each query), as transformers' get_extended_attention_mask.
 */
export function extendedAttentionMask(mask: Tensor, dtype: DType, causal = false): Tensor {
  const min = FINFO_MIN[dtype];
  if (min === undefined) throw new TypeError(`BertModel: attention needs a floating-point dtype, got ${dtype}`);
  return torch.scope(() => {
    const [batch, seq] = mask.shape as [number, number];
    let keep = mask.to(dtype).view([batch, 1, 1, seq]); // [batch, 1, 1, seq]
    if (causal) keep = keep.mul(torch.ones([seq, seq], { dtype, device: mask.device }).tril()); // [batch, 1, seq, seq]
    return keep.rsub(1).mul(min);
  });
}

/**
 * Word + token type + position embeddings, then LayerNorm and dropout (BertEmbeddings). Position ids default
 * to 0..seq-1 in every row; token type ids default to zeros. Packed inputs ([tokens] ids, see TokenPacking) need
 * their position ids.
 *
 * @example
 * const embeddings = new BertEmbeddings(config);
 * const h = embeddings.forward(inputIds); // [batch, seq, hidden]
 *
 * @param config the model's BertConfig (vocabSize, hiddenSize, maxPositionEmbeddings, typeVocabSize, padTokenId,
 *   layerNormEps, hiddenDropoutProb)
 */
export class BertEmbeddings extends nn.Module {
  readonly wordEmbeddings: nn.Embedding;
  readonly positionEmbeddings: nn.Embedding;
  readonly tokenTypeEmbeddings: nn.Embedding;
  readonly layerNorm: nn.LayerNorm;
  readonly dropout: nn.Dropout;

  constructor(config: BertConfig) {
    super();
    const { vocabSize, hiddenSize, padTokenId } = config;
    this.wordEmbeddings = this.registerModule(
      "word_embeddings",
      new nn.Embedding(vocabSize, hiddenSize, { paddingIdx: padTokenId }),
    );
    this.positionEmbeddings = this.registerModule(
      "position_embeddings",
      new nn.Embedding(config.maxPositionEmbeddings, hiddenSize),
    );
    this.tokenTypeEmbeddings = this.registerModule(
      "token_type_embeddings",
      new nn.Embedding(config.typeVocabSize, hiddenSize),
    );
    this.layerNorm = this.registerModule("LayerNorm", new nn.LayerNorm(hiddenSize, { eps: config.layerNormEps }));
    this.dropout = this.registerModule("dropout", new nn.Dropout(config.hiddenDropoutProb));
  }

  /** inputIds, tokenTypeIds, positionIds: [batch, seq] (or [tokens] when packed) -> [batch, seq, hidden] */
  override forward(inputIds: Tensor, tokenTypeIds?: Tensor, positionIds?: Tensor): Tensor {
    return torch.scope(() => {
      if (positionIds === undefined && inputIds.ndim !== 2) {
        throw new RangeError(`BertEmbeddings: inputIds of shape [${inputIds.shape.join(", ")}] need positionIds`);
      }
      positionIds ??= torch.arange(0, inputIds.size(1), 1, { dtype: "int64", device: inputIds.device }); // [seq]
      const typeIds = tokenTypeIds ?? torch.zerosLike(inputIds, { dtype: "int64" }); // [batch, seq]
      const summed = this.wordEmbeddings
        .forward(inputIds)
        .add(this.tokenTypeEmbeddings.forward(typeIds))
        .add(this.positionEmbeddings.forward(positionIds)); // [batch, seq, hidden]
      return this.dropout.forward(this.layerNorm.forward(summed));
    });
  }
}

/**
 * Multi-head scaled dot-product attention (BertSelfAttention): softmax(q kᵀ / √headSize + mask) v, with dropout on
 * the probabilities. Keys and values come from `context` when given (cross-attention), else from the input.
 *
 * @example
 * const { context, probs } = attention.forward(h, mask); // [batch, seq, hidden], [batch, heads, seq, seq]
 *
 * @param config numAttentionHeads, hiddenSize, attentionProbsDropoutProb
 */
export class BertSelfAttention extends nn.Module {
  readonly numHeads: number;
  readonly headSize: number;
  readonly query: nn.Linear;
  readonly key: nn.Linear;
  readonly value: nn.Linear;
  readonly dropout: nn.Dropout;

  constructor(config: BertConfig) {
    super();
    this.numHeads = config.numAttentionHeads;
    this.headSize = config.attentionHeadSize;
    this.query = this.registerModule("query", new nn.Linear(config.hiddenSize, config.hiddenSize));
    this.key = this.registerModule("key", new nn.Linear(config.hiddenSize, config.hiddenSize));
    this.value = this.registerModule("value", new nn.Linear(config.hiddenSize, config.hiddenSize));
    this.dropout = this.registerModule("dropout", new nn.Dropout(config.attentionProbsDropoutProb));
  }

  /** [batch, seq, hidden] -> [batch, heads, seq, headSize] */
  private splitHeads(x: Tensor): Tensor {
    const [batch, seq] = x.shape as [number, number];
    return x.view([batch, seq, this.numHeads, this.headSize]).permute([0, 2, 1, 3]);
  }

  /**
   * hidden: [batch, seq, hidden]; mask: additive, broadcastable to [batch, heads, seq, sourceSeq];
   * context: [batch, sourceSeq, hidden] (cross-attention) -> context [batch, seq, hidden], probs [batch, heads, seq, sourceSeq].
   * With `packing`, hidden and the returned context are packed ([tokens, hidden]): q, k and v are projected on
   * the real tokens only and laid out padded for the attention product (self-attention only).
   */
  override forward(
    hidden: Tensor,
    mask: Tensor | null,
    context: Tensor | null = null,
    packing: TokenPacking | null = null,
  ): { context: Tensor; probs: Tensor } {
    if (packing !== null && context !== null)
      throw new Error("BertSelfAttention: packed inputs support self-attention only");
    return torch.scope(() => {
      const [q, k, v] =
        packing === null ? this.project(hidden, context ?? hidden) : this.projectPacked(hidden, packing);
      let scores = q.matmul(k.transpose(-1, -2)).div(Math.sqrt(this.headSize)); // [batch, heads, seq, sourceSeq]
      if (mask !== null) scores = scores.add(mask);
      const probs = this.dropout.forward(scores.softmax(-1));
      const [batch, , seq] = q.shape as [number, number, number];
      const out = probs
        .matmul(v)
        .permute([0, 2, 1, 3])
        .reshape([batch, seq, this.numHeads * this.headSize]); // [batch, seq, hidden]
      return { context: packing === null ? out : packing.pack(out), probs };
    });
  }

  /** hidden [batch, seq, hidden], source [batch, sourceSeq, hidden] -> q [batch, heads, seq, headSize], k, v */
  private project(hidden: Tensor, source: Tensor): [Tensor, Tensor, Tensor] {
    return [
      this.splitHeads(this.query.forward(hidden)),
      this.splitHeads(this.key.forward(source)),
      this.splitHeads(this.value.forward(source)),
    ];
  }

  /**
   * Packed hidden [tokens, hidden] -> q, k, v [batch, heads, seq, headSize], zeros at padded positions: one
   * projection by the three weights stacked and one unpacking, instead of three of each (the unpacking's
   * backward is a gather per call).
   */
  private projectPacked(hidden: Tensor, packing: TokenPacking): [Tensor, Tensor, Tensor] {
    const linears = [this.query, this.key, this.value]; // built alike: all with a bias, as BERT's
    const bias = torch.cat(
      linears.map((linear) => linear.bias!),
      0,
    ); // [3 * hidden]
    const weight = torch.cat(
      linears.map((linear) => linear.weight),
      0,
    ); // [3 * hidden, hidden]
    const qkv = packing
      .unpack(F.linear(hidden, weight, bias)) // [batch, seq, 3 * hidden]
      .view([packing.batch, packing.seq, 3, this.numHeads, this.headSize])
      .permute([2, 0, 3, 1, 4]); // [3, batch, heads, seq, headSize]
    return [qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2)];
  }
}

/** dense -> dropout -> LayerNorm(· + residual), the block that closes attention and the feed-forward layer. */
abstract class ResidualOutput extends nn.Module {
  readonly dense: nn.Linear;
  readonly layerNorm: nn.LayerNorm;
  readonly dropout: nn.Dropout;

  constructor(config: BertConfig, inputSize: number) {
    super();
    this.dense = this.registerModule("dense", new nn.Linear(inputSize, config.hiddenSize));
    this.layerNorm = this.registerModule(
      "LayerNorm",
      new nn.LayerNorm(config.hiddenSize, { eps: config.layerNormEps }),
    );
    this.dropout = this.registerModule("dropout", new nn.Dropout(config.hiddenDropoutProb));
  }

  /** input: [batch, seq, inputSize], residual: [batch, seq, hidden] -> [batch, seq, hidden] */
  override forward(input: Tensor, residual: Tensor): Tensor {
    return torch.scope(() => this.layerNorm.forward(this.dropout.forward(this.dense.forward(input)).add(residual)));
  }
}

/**
 * The block after attention (BertSelfOutput): LayerNorm(dropout(dense(attended)) + input), hidden -> hidden.
 *
 * @example
 * const h = new BertSelfOutput(config).forward(attended, input); // [batch, seq, hidden]
 *
 * @param config hiddenSize, layerNormEps, hiddenDropoutProb
 */
export class BertSelfOutput extends ResidualOutput {
  constructor(config: BertConfig) {
    super(config, config.hiddenSize);
  }
}

/**
 * The feed-forward layer's second half (BertOutput): LayerNorm(dropout(dense(intermediate)) + input),
 * intermediate -> hidden.
 *
 * @example
 * const h = new BertOutput(config).forward(intermediate, input); // [batch, seq, hidden]
 *
 * @param config intermediateSize, hiddenSize, layerNormEps, hiddenDropoutProb
 */
export class BertOutput extends ResidualOutput {
  constructor(config: BertConfig) {
    super(config, config.intermediateSize);
  }
}

/**
 * Attention with its output block (BertAttention): LayerNorm(h + dropout(dense(attention(h)))).
 *
 * @example
 * const { output, probs } = new BertAttention(config).forward(h, mask); // [batch, seq, hidden]
 *
 * @param config see BertSelfAttention and BertSelfOutput
 */
export class BertAttention extends nn.Module {
  readonly selfAttention: BertSelfAttention;
  readonly output: BertSelfOutput;

  constructor(config: BertConfig) {
    super();
    this.selfAttention = this.registerModule("self", new BertSelfAttention(config));
    this.output = this.registerModule("output", new BertSelfOutput(config));
  }

  /**
   * hidden: [batch, seq, hidden] (or [tokens, hidden] with `packing`) -> output of the same shape, probs
   * [batch, heads, seq, sourceSeq]
   */
  override forward(
    hidden: Tensor,
    mask: Tensor | null,
    context: Tensor | null = null,
    packing: TokenPacking | null = null,
  ): { output: Tensor; probs: Tensor } {
    return torch.scope(() => {
      const { context: attended, probs } = this.selfAttention.forward(hidden, mask, context, packing);
      return { output: this.output.forward(attended, hidden), probs };
    });
  }
}

/**
 * The feed-forward layer's first half (BertIntermediate): activation(dense(h)), hidden -> intermediate size.
 *
 * @example
 * const x = new BertIntermediate(config).forward(h); // [batch, seq, intermediate]
 *
 * @param config hiddenSize, intermediateSize, hiddenAct
 */
export class BertIntermediate extends nn.Module {
  readonly dense: nn.Linear;
  readonly hiddenAct: BertHiddenAct;

  constructor(config: BertConfig) {
    super();
    this.dense = this.registerModule("dense", new nn.Linear(config.hiddenSize, config.intermediateSize));
    this.hiddenAct = config.hiddenAct;
  }

  /** [batch, seq, hidden] -> [batch, seq, intermediate] */
  override forward(hidden: Tensor): Tensor {
    return torch.scope(() => bertActivation(this.hiddenAct, this.dense.forward(hidden)));
  }
}

/** Encoder states for a decoder layer's cross-attention. */
export interface CrossAttentionInputs {
  /** [batch, sourceSeq, hidden] */
  states: Tensor;
  /** additive, [batch, 1, 1, sourceSeq] */
  mask: Tensor;
}

/**
 * One transformer layer (BertLayer): self-attention block, cross-attention block (decoders built with
 * add_cross_attention), feed-forward block; each post-LayerNorm with a residual connection.
 *
 * @example
 * const { hidden, probs } = new BertLayer(config).forward(h, mask); // [batch, seq, hidden]
 *
 * @param config the model's BertConfig (addCrossAttention adds the `crossattention` block)
 */
export class BertLayer extends nn.Module {
  readonly attention: BertAttention;
  readonly crossattention: BertAttention | null;
  readonly intermediate: BertIntermediate;
  readonly output: BertOutput;

  constructor(config: BertConfig) {
    super();
    this.attention = this.registerModule("attention", new BertAttention(config));
    this.crossattention = config.addCrossAttention
      ? this.registerModule("crossattention", new BertAttention(config))
      : null;
    this.intermediate = this.registerModule("intermediate", new BertIntermediate(config));
    this.output = this.registerModule("output", new BertOutput(config));
  }

  /**
   * hidden: [batch, seq, hidden] (or [tokens, hidden] with `packing`, no cross-attention) -> hidden of the same
   * shape, probs (self-attention) [batch, heads, seq, seq]
   */
  override forward(
    hidden: Tensor,
    mask: Tensor,
    cross: CrossAttentionInputs | null = null,
    packing: TokenPacking | null = null,
  ): { hidden: Tensor; probs: Tensor } {
    return torch.scope(() => {
      const { output: attended, probs } = this.attention.forward(hidden, mask, null, packing);
      const h =
        this.crossattention !== null && cross !== null
          ? this.crossattention.forward(attended, cross.mask, cross.states).output
          : attended;
      return { hidden: this.output.forward(this.intermediate.forward(h), h), probs };
    });
  }
}

/**
 * The stack of layers (BertEncoder); `layer` is an nn.ModuleList so its keys are "layer.0", "layer.1", ...
 *
 * @example
 * const encoder = new BertEncoder(config);
 * encoder.layer.length; // config.numHiddenLayers
 *
 * @param config numHiddenLayers and the per-layer fields
 */
export class BertEncoder extends nn.Module {
  readonly layer: nn.ModuleList<BertLayer>;

  constructor(config: BertConfig) {
    super();
    const layers = Array.from({ length: config.numHiddenLayers }, () => new BertLayer(config));
    this.layer = this.registerModule("layer", new nn.ModuleList(layers));
  }
}

/**
 * tanh(dense(h[:, 0])): the [CLS] state through a dense layer (BertPooler), used by next-sentence prediction and
 * returned as `poolerOutput`.
 *
 * @example
 * const pooled = new BertPooler(config).forward(lastHiddenState); // [batch, hidden]
 *
 * @param config hiddenSize
 */
export class BertPooler extends nn.Module {
  readonly dense: nn.Linear;

  constructor(config: BertConfig) {
    super();
    this.dense = this.registerModule("dense", new nn.Linear(config.hiddenSize, config.hiddenSize));
  }

  /** [batch, seq, hidden] -> [batch, hidden] */
  override forward(hidden: Tensor): Tensor {
    return torch.scope(() => F.tanh(this.dense.forward(hidden.select(1, 0))));
  }
}

/** Options of `BertModel`. */
export interface BertModelOptions {
  /** Build the pooler (default true, as transformers' BertModel; BertForMaskedLM checkpoints have none). */
  addPoolingLayer?: boolean;
}

/**
 * BERT (transformers' BertModel): embeddings -> `numHiddenLayers` post-LayerNorm transformer layers -> optional
 * pooler. Its parameter names are Hugging Face's BertModel keys ("embeddings.word_embeddings.weight",
 * "encoder.layer.0.attention.self.query.weight", "pooler.dense.weight"). Padding is masked with
 * (1 - attentionMask) · finfo(dtype).min added to the attention scores; with config.isDecoder the self-attention
 * is also causal, and with config.addCrossAttention each layer attends to `encoderHiddenStates`. Dropout
 * (hiddenDropoutProb, attentionProbsDropoutProb) is active only in training mode (`train()` / `eval()`).
 *
 * @example
 * const model = new BertModel(new BertConfig({ vocabSize: 1000, hiddenSize: 64, numHiddenLayers: 2, numAttentionHeads: 4 }));
 * const { lastHiddenState, poolerOutput } = model.eval().forward({ inputIds, attentionMask }); // [b, s, 64], [b, 64]
 *
 * @param config the BertConfig (or config.json's contents, read with BertConfig.fromJson)
 * @param options addPoolingLayer (default true)
 */
export class BertModel extends nn.Module implements EncoderModel {
  readonly modelType = "bert";
  readonly config: BertConfig;
  readonly embeddings: BertEmbeddings;
  readonly encoder: BertEncoder;
  readonly pooler: BertPooler | null;

  constructor(config: BertConfig | Record<string, unknown>, options: BertModelOptions = {}) {
    super();
    this.config = config instanceof BertConfig ? config : BertConfig.fromJson(config);
    this.embeddings = this.registerModule("embeddings", new BertEmbeddings(this.config));
    this.encoder = this.registerModule("encoder", new BertEncoder(this.config));
    this.pooler = (options.addPoolingLayer ?? true) ? this.registerModule("pooler", new BertPooler(this.config)) : null;
  }

  get hiddenSize(): number {
    return this.config.hiddenSize;
  }

  get numLayers(): number {
    return this.config.numHiddenLayers;
  }

  get configJson(): Record<string, unknown> {
    return this.config.toJson();
  }

  /**
   * inputIds, attentionMask, tokenTypeIds: [batch, seq] -> lastHiddenState [batch, seq, hidden], hiddenStates
   * (k + 1 of them, with outputHiddenStates), attentions (k, with outputAttentions), poolerOutput [batch, hidden]
   * (null without a pooler), where k = options.numLayers (default all layers). With options.unpadInputs (and an
   * attentionMask with padding; not for decoders, cross-attention or outputAttentions) position-wise layers run on
   * the real tokens only (see EncoderForwardOptions.unpadInputs).
   */
  override forward(inputs: BertInputs, options: EncoderForwardOptions = {}): EncoderOutput {
    const numLayers = this.checkInputs(inputs, options);
    return torch.scope(() => {
      const { inputIds } = inputs;
      const mask = inputs.attentionMask ?? torch.onesLike(inputIds); // [batch, seq]
      const packable =
        options.unpadInputs === true &&
        inputs.attentionMask !== undefined &&
        !this.config.isDecoder &&
        inputs.encoderHiddenStates === undefined &&
        options.outputAttentions !== true;
      const packing = packable ? TokenPacking.fromMask(mask) : null;
      if (packing !== null && !packing.isDense) {
        return this.forwardPacked(inputs, mask, packing, numLayers, options.outputHiddenStates === true);
      }
      let hidden = this.embeddings.forward(inputIds, inputs.tokenTypeIds); // [batch, seq, hidden]
      const additiveMask = extendedAttentionMask(mask, hidden.dtype, this.config.isDecoder); // [batch, 1, 1|seq, seq]
      const cross = this.crossAttentionInputs(inputs, hidden.dtype);
      const hiddenStates = [hidden];
      const attentions: Tensor[] = [];
      for (let i = 0; i < numLayers; i++) {
        const out = this.encoder.layer.at(i).forward(hidden, additiveMask, cross);
        hidden = out.hidden;
        hiddenStates.push(hidden);
        attentions.push(out.probs);
      }
      const result: EncoderOutput = { lastHiddenState: hidden, poolerOutput: this.pooler?.forward(hidden) ?? null };
      if (options.outputHiddenStates === true) result.hiddenStates = hiddenStates;
      if (options.outputAttentions === true) result.attentions = attentions;
      return result;
    });
  }

  /**
   * The forward pass on the real tokens only (`unpadInputs`): embeddings, linear layers, LayerNorms, GELU and
   * dropout see [tokens, hidden]; only attention lays q, k, v out padded. Outputs are unpacked, with zeros at
   * padded positions.
   */
  private forwardPacked(
    inputs: BertInputs,
    mask: Tensor,
    packing: TokenPacking,
    numLayers: number,
    outputHiddenStates: boolean,
  ): EncoderOutput {
    const { inputIds, tokenTypeIds } = inputs;
    const positions = torch
      .arange(0, packing.seq, 1, { dtype: "int64", device: inputIds.device })
      .expand([packing.batch, packing.seq]); // [batch, seq]
    let hidden = this.embeddings.forward(
      packing.pack(inputIds),
      tokenTypeIds === undefined ? undefined : packing.pack(tokenTypeIds),
      packing.pack(positions),
    ); // [tokens, hidden]
    const additiveMask = extendedAttentionMask(mask, hidden.dtype); // [batch, 1, 1, seq]
    const hiddenStates = outputHiddenStates ? [packing.unpack(hidden)] : [];
    for (let i = 0; i < numLayers; i++) {
      hidden = this.encoder.layer.at(i).forward(hidden, additiveMask, null, packing).hidden; // [tokens, hidden]
      if (outputHiddenStates) hiddenStates.push(packing.unpack(hidden));
    }
    const last = outputHiddenStates ? hiddenStates[hiddenStates.length - 1]! : packing.unpack(hidden); // [batch, seq, hidden]
    const result: EncoderOutput = { lastHiddenState: last, poolerOutput: this.pooler?.forward(last) ?? null };
    if (outputHiddenStates) result.hiddenStates = hiddenStates;
    return result;
  }

  /** The encoder states and their additive mask for cross-attention, or null when none are given. */
  private crossAttentionInputs(inputs: BertInputs, dtype: DType): CrossAttentionInputs | null {
    const states = inputs.encoderHiddenStates;
    if (states === undefined) return null;
    const [batch, sourceSeq] = states.shape as [number, number];
    const sourceMask = inputs.encoderAttentionMask ?? torch.ones([batch, sourceSeq], { device: states.device });
    return { states, mask: extendedAttentionMask(sourceMask, dtype) }; // mask: [batch, 1, 1, sourceSeq]
  }

  /** Validates the inputs' shapes and returns the number of layers to run. */
  private checkInputs(inputs: BertInputs, options: EncoderForwardOptions): number {
    const shape = inputs.inputIds.shape;
    if (shape.length !== 2) throw new RangeError(`BertModel: inputIds must be [batch, seq], got [${shape.join(", ")}]`);
    const sameShape = (name: string, t: Tensor | undefined) => {
      if (t !== undefined && (t.ndim !== 2 || t.size(0) !== shape[0] || t.size(1) !== shape[1])) {
        throw new RangeError(
          `BertModel: ${name} must have inputIds' shape [${shape.join(", ")}], got [${t.shape.join(", ")}]`,
        );
      }
    };
    sameShape("attentionMask", inputs.attentionMask);
    sameShape("tokenTypeIds", inputs.tokenTypeIds);
    if (shape[1]! > this.config.maxPositionEmbeddings) {
      throw new RangeError(
        `BertModel: the input has ${shape[1]} tokens, more than max_position_embeddings (${this.config.maxPositionEmbeddings}); truncate it`,
      );
    }
    if (inputs.encoderHiddenStates !== undefined && !this.config.addCrossAttention) {
      throw new Error(
        "BertModel: encoderHiddenStates were given but the model has no cross-attention layers (config add_cross_attention is false)",
      );
    }
    const numLayers = options.numLayers ?? this.numLayers;
    if (!Number.isInteger(numLayers) || numLayers < 0 || numLayers > this.numLayers) {
      throw new RangeError(`BertModel: numLayers must be an integer in [0, ${this.numLayers}], got ${numLayers}`);
    }
    return numLayers;
  }
}
