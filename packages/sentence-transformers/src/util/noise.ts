// TSDAE's input noise: delete words at random (DenoisingAutoEncoderDataset.delete), seeded, and a
// (damaged, original) dataset built with it.
import { Dataset } from "../training/dataset.js";
import { SeededRandom } from "../training/samplers.js";

/** A source of uniform numbers in [0, 1): a SeededRandom (anything with `next()`) or a function. */
export type RandomSource = { next(): number } | (() => number);

/** Options of `damage`. */
export interface DamageOptions {
  /** Probability of deleting each word, in [0, 1]; default 0.6 (the TSDAE paper's). */
  delRatio?: number;
}

/** Options of `denoisingAutoEncoderDataset`. */
export interface DenoisingAutoEncoderDatasetOptions extends DamageOptions {
  /** Seed of the word deletions; default 42. */
  seed?: number;
  /** The dataset's name; default "denoising-auto-encoder". */
  name?: string;
}

/** Words (letters/digits, joined by inner ' - . , as in "don't", "e-mail", "3.5") or single punctuation marks. */
const TOKEN = /[\p{L}\p{N}_]+(?:[-'’.,][\p{L}\p{N}_]+)*|\.{2,}|[^\s\p{L}\p{N}_]/gu;
/** Marks written without a space before them. */
const CLOSING = /^(?:[.,;:!?%)\]}]|\.{2,}|['’]s?)$/u;
/** Marks written without a space after them. */
const OPENING = /^[([{$#@]$/u;

/**
 * Splits text into words and punctuation marks, a plain-text stand-in for nltk's `word_tokenize`:
 * "The man, tired, went home." -> ["The", "man", ",", "tired", ",", "went", "home", "."].
 */
export function wordTokenize(text: string): string[] {
  return text.match(TOKEN) ?? [];
}

/**
 * Joins tokens back into text (the inverse of `wordTokenize` for plain text, like nltk's
 * TreebankWordDetokenizer): no space before closing marks (". , ; : ! ? ) ] } %"), none after
 * opening ones ("( [ { $ # @"); straight double quotes alternate between opening and closing.
 */
export function detokenize(tokens: readonly string[]): string {
  let out = "";
  let glueNext = true; // no space before the first token
  let quoteOpen = false;
  for (const token of tokens) {
    let glue = glueNext || CLOSING.test(token);
    glueNext = OPENING.test(token);
    if (token === '"') {
      if (quoteOpen) glue = true;
      else glueNext = true;
      quoteOpen = !quoteOpen;
    }
    out += glue ? token : ` ${token}`;
  }
  return out;
}

function uniform(rng: RandomSource): number {
  return typeof rng === "function" ? rng() : rng.next();
}

/**
 * TSDAE's noise (sentence-transformers' `DenoisingAutoEncoderDataset.delete`): tokenizes `text` into
 * words and punctuation marks, deletes each with probability `delRatio` (keeping one at random when
 * all would go) and joins the rest. Empty text (no tokens) is returned unchanged. Deterministic for a
 * seeded `rng`: `n` tokens use `n` draws, plus one when every token was deleted.
 *
 * @example
 * const rng = new SeededRandom(42);
 * damage("The man went to the city to find work.", {}, rng); // e.g. "man the to"
 *
 * @param text the sentence
 * @param options delRatio (default 0.6)
 * @param rng uniform numbers in [0, 1): a SeededRandom, or a function such as Math.random
 */
export function damage(text: string, options: DamageOptions, rng: RandomSource): string {
  const delRatio = options.delRatio ?? 0.6;
  if (typeof delRatio !== "number" || !(delRatio >= 0 && delRatio <= 1)) {
    throw new RangeError(`damage: delRatio must be a number in [0, 1], got ${String(delRatio)}`);
  }
  const words = wordTokenize(text);
  if (words.length === 0) return text;
  const keep = words.map(() => uniform(rng) > delRatio);
  if (!keep.includes(true)) keep[Math.min(words.length - 1, Math.floor(uniform(rng) * words.length))] = true;
  return detokenize(words.filter((_, i) => keep[i]));
}

/**
 * A dataset for DenoisingAutoEncoderLoss: columns "damaged" (each sentence after `damage`) and "original"
 * (the sentence), in this order. Unlike the reference's DenoisingAutoEncoderDataset, which re-draws the
 * noise every time a row is read, the noise is drawn once here, from `seed`; build a new dataset per
 * epoch (seed + epoch) for fresh noise.
 *
 * @example
 * const train = denoisingAutoEncoderDataset(sentences, { seed: 1 }); // columns damaged, original
 *
 * @param sentences the training sentences
 * @param options delRatio (default 0.6), seed (default 42), name (default "denoising-auto-encoder")
 */
export function denoisingAutoEncoderDataset(
  sentences: readonly string[],
  options: DenoisingAutoEncoderDatasetOptions = {},
): Dataset {
  const rng = new SeededRandom(options.seed ?? 42);
  const original = sentences.map((sentence, i) => {
    if (typeof sentence !== "string") {
      throw new TypeError(`denoisingAutoEncoderDataset: sentences[${i}] must be a string, got ${typeof sentence}`);
    }
    return sentence;
  });
  const damaged = original.map((sentence) => damage(sentence, { delRatio: options.delRatio }, rng));
  return new Dataset({ damaged, original }, options.name ?? "denoising-auto-encoder");
}
