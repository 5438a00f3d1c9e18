// How long texts are for a model: its tokens per text (the attention mask's sum), for dataset statistics
// and length-grouped batches.
import * as torch from "@stts/torch";
import type { Features } from "../features.js";
import type { TokenizerInput } from "../models/tokenizer.js";

/** What textLengths needs of the model: its tokenizer. */
export interface TokenizingModel {
  tokenize(texts: readonly TokenizerInput[]): Features;
}

/**
 * Token counts per text (the attention mask's sum, tokenized in batches of 64, truncated as the model
 * truncates), or character counts (code points) when the model's tokenize gives no attention mask.
 *
 * @example
 * textLengths(model, ["A man is eating.", "Hi"]); // { lengths: [7, 3], unit: "tokens" }
 */
export function textLengths(
  model: TokenizingModel,
  texts: string[],
): { lengths: number[]; unit: "tokens" | "characters" } {
  const lengths: number[] = [];
  const batchSize = 64;
  for (let start = 0; start < texts.length; start += batchSize) {
    const batch = texts.slice(start, start + batchSize);
    const counts = torch.scope(() => {
      const mask = model.tokenize(batch).attentionMask;
      if (mask === undefined || Array.isArray(mask)) return null;
      return Array.from(mask.sum(1).to("cpu").long().toTypedArray() as BigInt64Array, Number);
    });
    if (counts === null) return { lengths: texts.map((text) => Array.from(text).length), unit: "characters" };
    lengths.push(...counts);
  }
  return { lengths, unit: "tokens" };
}
