// Similarity functions between sentence embeddings (sentence_transformers.util), on tensors.
import { cat, cdist, functional as F, scope, type Tensor } from "@stts/torch";

/** A similarity between two batches of embeddings: a [n, m] matrix, or a [n] vector for the pairwise forms. */
export type SimilarityFunction = (a: Tensor, b: Tensor) => Tensor;

/** A 1-D embedding becomes a batch of one, as the reference does for single vectors. */
function asBatch(x: Tensor, fn: string, argument: string): Tensor {
  if (x.ndim === 1) return x.unsqueeze(0);
  if (x.ndim !== 2) {
    throw new RangeError(`${fn}: argument '${argument}' must be [batch, dim] (or [dim]), got [${x.shape.join(", ")}]`);
  }
  return x;
}

/** Each row divided by max(||row||_2, 1e-12), as torch.nn.functional.normalize. */
function normalizeRows(x: Tensor): Tensor {
  return F.normalize(x, 2, 1);
}

/**
 * Cosine similarity of every row of `a` with every row of `b`: [n, dim] x [m, dim] -> [n, m].
 * Rows are divided by max(||row||, 1e-12) first, so a zero row gives 0, not NaN.
 *
 * @example
 * cosSim(torch.tensor([[1, 0]]), torch.tensor([[1, 0], [0, 1]])).toArray(); // [[1, 0]]
 */
export function cosSim(a: Tensor, b: Tensor): Tensor {
  return scope(() => normalizeRows(asBatch(a, "cosSim", "a")).mm(normalizeRows(asBatch(b, "cosSim", "b")).t()));
}

/** Dot product of every row of `a` with every row of `b`: [n, m]. */
export function dotScore(a: Tensor, b: Tensor): Tensor {
  return scope(() => asBatch(a, "dotScore", "a").mm(asBatch(b, "dotScore", "b").t()));
}

/** Minus the Euclidean (L2) distance between every row of `a` and every row of `b`: [n, m]. */
export function euclideanSim(a: Tensor, b: Tensor): Tensor {
  return scope(() => cdist(asBatch(a, "euclideanSim", "a"), asBatch(b, "euclideanSim", "b"), 2).neg());
}

/** Minus the Manhattan (L1) distance between every row of `a` and every row of `b`: [n, m]. */
export function manhattanSim(a: Tensor, b: Tensor): Tensor {
  return scope(() => cdist(asBatch(a, "manhattanSim", "a"), asBatch(b, "manhattanSim", "b"), 1).neg());
}

/** Checks that two batches can be compared row by row. */
function checkPairs(a: Tensor, b: Tensor, fn: string): void {
  const [sa, sb] = [a.shape, b.shape];
  if (sa.length !== sb.length || sa.some((n, i) => n !== sb[i])) {
    throw new RangeError(`${fn}: 'a' and 'b' must have the same shape, got [${sa.join(", ")}] and [${sb.join(", ")}]`);
  }
}

/** Dot product of row i of `a` with row i of `b`: [n]. */
export function pairwiseDotScore(a: Tensor, b: Tensor): Tensor {
  checkPairs(a, b, "pairwiseDotScore");
  return scope(() => a.mul(b).sum(-1));
}

/** Cosine similarity of row i of `a` with row i of `b` (rows normalised with eps 1e-12): [n]. */
export function pairwiseCosSim(a: Tensor, b: Tensor): Tensor {
  checkPairs(a, b, "pairwiseCosSim");
  return scope(() => pairwiseDotScore(normalizeRows(a), normalizeRows(b)));
}

/** Minus the Euclidean distance between row i of `a` and row i of `b` (no epsilon): [n]. */
export function pairwiseEuclideanSim(a: Tensor, b: Tensor): Tensor {
  checkPairs(a, b, "pairwiseEuclideanSim");
  return scope(() => a.sub(b).pow(2).sum(-1).sqrt().neg());
}

/** Minus the Manhattan distance between row i of `a` and row i of `b`: [n]. */
export function pairwiseManhattanSim(a: Tensor, b: Tensor): Tensor {
  checkPairs(a, b, "pairwiseManhattanSim");
  return scope(() => a.sub(b).abs().sum(-1).neg());
}

/**
 * The AnglE similarity of row i of `x` with row i of `y`: each row is read as a complex vector
 * (first half real parts, second half imaginary parts), and the value is the absolute value of the
 * sum of the real and imaginary parts of the normalised quotient x / y:
 * |sum_k (a_k c_k + b_k d_k + b_k c_k - a_k d_k)| / (||x|| ||y||). The dimension must be even.
 */
export function pairwiseAngleSim(x: Tensor, y: Tensor): Tensor {
  checkPairs(x, y, "pairwiseAngleSim");
  const dim = x.size(-1);
  if (x.ndim !== 2 || dim % 2 !== 0) {
    throw new RangeError(
      `pairwiseAngleSim: expects [batch, dim] tensors with an even dim, got [${x.shape.join(", ")}]`,
    );
  }
  return scope(() => {
    const [a, b] = x.chunk(2, 1) as [Tensor, Tensor]; // real, imaginary parts of x: [batch, dim / 2]
    const [c, d] = y.chunk(2, 1) as [Tensor, Tensor];
    const z = c.pow(2).add(d.pow(2)).sum(1, true); // |y|^2: [batch, 1]
    let re = a.mul(c).add(b.mul(d)).div(z);
    let im = b.mul(c).sub(a.mul(d)).div(z);
    const dz = a.pow(2).add(b.pow(2)).sum(1, true).pow(0.5);
    const dw = c.pow(2).add(d.pow(2)).sum(1, true).pow(0.5);
    re = re.div(dz.div(dw));
    im = im.div(dz.div(dw));
    return cat([re, im], 1).sum(1).abs(); // [batch]
  });
}

/** The built-in similarity functions by name (camelCase; `getSimilarityFunction` also takes the reference's snake_case). */
export const SIMILARITY_FUNCTIONS = Object.freeze({
  cosSim,
  dotScore,
  euclideanSim,
  manhattanSim,
  pairwiseCosSim,
  pairwiseDotScore,
  pairwiseEuclideanSim,
  pairwiseManhattanSim,
  pairwiseAngleSim,
} satisfies Record<string, SimilarityFunction>);

/** The name of a built-in similarity function, e.g. "cosSim". */
export type SimilarityFunctionName = keyof typeof SIMILARITY_FUNCTIONS;

/** "pairwise_cos_sim" -> "pairwiseCosSim" */
function camelCase(name: string): string {
  return name.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/**
 * The built-in similarity function called `name`, given as our camelCase name ("cosSim") or the
 * reference's snake_case one ("cos_sim").
 */
export function getSimilarityFunction(name: string): SimilarityFunction {
  const key = camelCase(name);
  if (!Object.hasOwn(SIMILARITY_FUNCTIONS, key)) {
    throw new Error(
      `unknown similarity function '${name}'; expected one of ${Object.keys(SIMILARITY_FUNCTIONS).join(", ")} (or their snake_case names)`,
    );
  }
  return SIMILARITY_FUNCTIONS[key as SimilarityFunctionName];
}

/** The camelCase name of a built-in similarity function, or a custom function's own name. */
export function similarityFunctionName(fn: SimilarityFunction): string {
  for (const [name, builtIn] of Object.entries(SIMILARITY_FUNCTIONS)) if (builtIn === fn) return name;
  return fn.name === "" ? "anonymous" : fn.name;
}
