// StaticEmbedding: a bag of trained token vectors, averaged (an EmbeddingBag in mean mode).
import * as fs from "node:fs";
import * as path from "node:path";
import * as torch from "@stts/torch";
import { functional as F, nn, type Tensor } from "@stts/torch";
import { requireFeature, type Features } from "../features.js";
import { Tokenizer, type TokenizerInput } from "../models/tokenizer.js";
import { readJsonObject, readWeights, saveWeights } from "./module-io.js";

/** Options of `StaticEmbedding`: one of the two is required. */
export interface StaticEmbeddingOptions {
  /** Pretrained vectors [vocabSize, dim] (copied). */
  embeddingWeights?: Tensor;
  /** The width of new, randomly initialised (N(0, 1), like nn.EmbeddingBag) vectors. */
  embeddingDim?: number;
}

/**
 * A static embedding model (sentence-transformers' `models.StaticEmbedding`): each token id has a
 * trainable vector and a text's embedding is the mean of its tokens' vectors, as `nn.EmbeddingBag`
 * (mode "mean") computes it; a text with no tokens gets zeros. Tokens come from a tokenizer.json
 * without special tokens, truncated only when the tokenizer.json enables truncation (its `truncation`
 * max_length and direction, as the reference's `tokenizers.Tokenizer` applies them). `tokenize` pads
 * the batch (`inputIds` and `attentionMask` [batch, seq]) and `forward` averages over the non-padding
 * positions, which is the same number (and gradient) as the reference's flat ids + offsets.
 *
 * Saved as the reference: model.safetensors (`embedding.weight`) and tokenizer.json, in the model's root
 * folder when it is the first module (as sentence-transformers v4+ saves input modules; older stts
 * versions wrote a "0_StaticEmbedding" folder, which loads too). model2vec folders (key `embeddings`) load too.
 *
 * @example
 * const model = new SentenceTransformer([new StaticEmbedding(Tokenizer.fromFolder("bert-base-uncased"), { embeddingDim: 256 })]);
 * const rows = model.encode(["What are Pandas?"]); // [Float32Array(256)]
 *
 * @param tokenizer the tokenizer (its vocabulary size is the number of vectors)
 * @param options embeddingWeights, or embeddingDim for random vectors
 */
export class StaticEmbedding extends nn.Module {
  readonly tokenizer: Tokenizer;
  readonly embedding: nn.Embedding;
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** No truncation: Infinity, as the reference's `math.inf`. */
  readonly maxSeqLength = Infinity;

  constructor(tokenizer: Tokenizer, options: StaticEmbeddingOptions = {}) {
    super();
    this.tokenizer = tokenizer;
    const weights = options.embeddingWeights;
    if (weights !== undefined) {
      if (weights.ndim !== 2)
        throw new Error(`StaticEmbedding: embeddingWeights must be [vocab, dim], got [${weights.shape.join(", ")}]`);
      this.numEmbeddings = weights.shape[0]!;
      this.embeddingDim = weights.shape[1]!;
    } else if (options.embeddingDim !== undefined) {
      this.numEmbeddings = tokenizer.vocabSize;
      this.embeddingDim = options.embeddingDim;
    } else {
      throw new Error("StaticEmbedding: either embeddingWeights or embeddingDim must be provided");
    }
    this.embedding = this.registerModule("embedding", new nn.Embedding(this.numEmbeddings, this.embeddingDim));
    if (weights !== undefined) torch.noGrad(() => this.embedding.weight.copy_(weights));
  }

  /** Reads tokenizer.json and model.safetensors (`embedding.weight`, or model2vec's `embeddings`). */
  static load(folder: string): StaticEmbedding {
    const tokenizerFile = path.join(folder, "tokenizer.json");
    if (!fs.existsSync(tokenizerFile)) throw new Error(`StaticEmbedding: missing file ${tokenizerFile}`);
    const tokenizer = new Tokenizer(readJsonObject(tokenizerFile));
    const tensors = readWeights(folder, "StaticEmbedding");
    try {
      const weights = tensors.get("embedding.weight") ?? tensors.get("embeddings");
      if (weights === undefined) {
        throw new Error(
          `StaticEmbedding: ${path.join(folder, "model.safetensors")} has no 'embedding.weight' (or 'embeddings') tensor ` +
            `(keys: ${[...tensors.keys()].join(", ")})`,
        );
      }
      return new StaticEmbedding(tokenizer, { embeddingWeights: weights });
    } finally {
      for (const tensor of tensors.values()) tensor.dispose();
    }
  }

  getSentenceEmbeddingDimension(): number {
    return this.embeddingDim;
  }

  /** Token ids without special tokens, padded with id 0 and masked: `inputIds`, `attentionMask` [batch, seq]. */
  tokenize(texts: readonly TokenizerInput[]): Features {
    const strings = texts.map((text) => {
      if (typeof text !== "string") throw new Error("StaticEmbedding.tokenize: text pairs are not supported");
      return text;
    });
    const { inputIds, attentionMask } = this.tokenizer.encodeBatch(strings, {
      addSpecialTokens: false,
      padTokenId: 0,
      ...this.#truncation(),
    });
    return { inputIds, attentionMask };
  }

  /** tokenizer.json's `truncation` (null: none), which the reference's tokenizers.Tokenizer applies. */
  #truncation(): { maxLength: number | null; truncationSide?: "left" | "right" } {
    const truncation = this.tokenizer.tokenizerJson.truncation as Record<string, unknown> | null | undefined;
    const maxLength = truncation?.max_length;
    if (typeof maxLength !== "number") return { maxLength: null };
    return { maxLength, truncationSide: truncation?.direction === "Left" ? "left" : "right" };
  }

  /** sentenceEmbedding [batch, dim] = mean of the vectors of each row's unmasked tokens. */
  override forward(features: Features): Features {
    const inputIds = requireFeature(features, "inputIds", "StaticEmbedding");
    const mask = features.attentionMask;
    const sentenceEmbedding = torch.scope(() => {
      const vectors = F.embedding(inputIds, this.embedding.weight); // [batch, seq, dim]
      if (mask === undefined || Array.isArray(mask)) return vectors.mean(1);
      const weights = mask.unsqueeze(-1).to(vectors.dtype); // [batch, seq, 1]
      const counts = weights.sum(1).clampMin(1); // [batch, 1]: an empty bag averages to 0
      return vectors.mul(weights).sum(1).div(counts);
    });
    return { ...features, sentenceEmbedding };
  }

  /** Writes model.safetensors and tokenizer.json into `folder`. */
  save(folder: string): void {
    fs.mkdirSync(folder, { recursive: true });
    saveWeights(this, path.join(folder, "model.safetensors"));
    fs.writeFileSync(path.join(folder, "tokenizer.json"), JSON.stringify(this.tokenizer.tokenizerJson, null, 2));
  }

  override extraRepr(): string {
    return `numEmbeddings=${this.numEmbeddings}, embeddingDim=${this.embeddingDim}`;
  }
}
