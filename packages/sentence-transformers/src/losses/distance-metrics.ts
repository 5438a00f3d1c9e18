// The distance functions the contrastive and triplet losses take, named as in the reference.
import { functional as F, scope, type Tensor } from "@stts/torch";
import { cosSim, pairwiseEuclideanSim, pairwiseManhattanSim } from "../util/similarity.js";

/** A distance between row i of `a` and row i of `b`: [batch, dim] x [batch, dim] -> [batch]. */
export type PairwiseDistance = (a: Tensor, b: Tensor) => Tensor;

/** A matrix of distances between all rows of one batch: [batch, dim] -> [batch, batch]. */
export type DistanceMatrix = (embeddings: Tensor) => Tensor;

function siameseEuclidean(a: Tensor, b: Tensor): Tensor {
  return F.pairwiseDistance(a, b, 2); // ||a - b + 1e-6||_2, as torch's pairwise_distance
}

function siameseManhattan(a: Tensor, b: Tensor): Tensor {
  return F.pairwiseDistance(a, b, 1); // ||a - b + 1e-6||_1
}

function cosineDistance(a: Tensor, b: Tensor): Tensor {
  return scope(() => F.cosineSimilarity(a, b).rsub(1)); // 1 - cos(a, b), cos with eps 1e-8
}

/**
 * Distances for ContrastiveLoss and OnlineContrastiveLoss (`SiameseDistanceMetric` in the reference).
 * EUCLIDEAN: ||a - b + 1e-6||_2; MANHATTAN: ||a - b + 1e-6||_1; COSINE_DISTANCE: 1 - cos(a, b).
 *
 * @example
 * new ContrastiveLoss(model, { distanceMetric: SiameseDistanceMetric.EUCLIDEAN, margin: 1 });
 */
export const SiameseDistanceMetric = Object.freeze({
  EUCLIDEAN: siameseEuclidean as PairwiseDistance,
  MANHATTAN: siameseManhattan as PairwiseDistance,
  COSINE_DISTANCE: cosineDistance as PairwiseDistance,
});

function tripletCosine(a: Tensor, b: Tensor): Tensor {
  return cosineDistance(a, b);
}

function tripletEuclidean(a: Tensor, b: Tensor): Tensor {
  return pairwiseEuclideanSim(a, b); // the reference (v5) uses MINUS the L2 distance here, no epsilon
}

function tripletManhattan(a: Tensor, b: Tensor): Tensor {
  return pairwiseManhattanSim(a, b); // the reference (v5) uses MINUS the L1 distance here
}

/**
 * Distances for TripletLoss (`TripletDistanceMetric` in the reference). COSINE: 1 - cos(a, b).
 * EUCLIDEAN and MANHATTAN follow sentence-transformers v5, which returns MINUS the L2 / L1 distance
 * (the negated-distance similarity), so with them TripletLoss = relu(||a - n|| - ||a - p|| + margin):
 * the opposite sign of the textbook triplet loss. Use COSINE, or a custom distance, for the usual form.
 */
export const TripletDistanceMetric = Object.freeze({
  COSINE: tripletCosine as PairwiseDistance,
  EUCLIDEAN: tripletEuclidean as PairwiseDistance,
  MANHATTAN: tripletManhattan as PairwiseDistance,
});

/**
 * Euclidean distance matrix sqrt(max(|a|^2 - 2 a.b + |b|^2, 0)), exactly 0 (with gradient 0) wherever
 * the squared distance is 0, e.g. on the diagonal. The reference spells it "eucledian".
 */
function eucledianDistance(embeddings: Tensor): Tensor {
  return scope(() => {
    const dot = embeddings.matmul(embeddings.t()); // [batch, batch]
    const squareNorm = dot.diagonal(); // [batch]
    let distances = squareNorm.unsqueeze(0).sub(dot.mul(2)).add(squareNorm.unsqueeze(1));
    distances = distances.maskedFill(distances.lt(0), 0); // rounding can make them slightly negative
    const zero = distances.eq(0).to(distances.dtype); // sqrt has an infinite gradient at 0: mask it out
    return zero.rsub(1).mul(distances.add(zero.mul(1e-16)).sqrt());
  });
}

function batchCosineDistance(embeddings: Tensor): Tensor {
  return scope(() => cosSim(embeddings, embeddings).rsub(1)); // 1 - cos_sim matrix
}

/**
 * Distance matrices for the batch triplet losses (`BatchHardTripletLossDistanceFunction` in the
 * reference): `eucledianDistance` (sic, the reference's spelling) and `cosineDistance` (1 - cos_sim).
 */
export const BatchHardTripletLossDistanceFunction = Object.freeze({
  eucledianDistance: eucledianDistance as DistanceMatrix,
  cosineDistance: batchCosineDistance as DistanceMatrix,
});

const FAMILIES = {
  SiameseDistanceMetric,
  TripletDistanceMetric,
  BatchHardTripletLossDistanceFunction,
} as const;

type Family = keyof typeof FAMILIES;

/** "eucledian_distance" -> "eucledianDistance"; constant names (EUCLIDEAN) stay as they are. */
function camelCase(name: string): string {
  return /[a-z]/.test(name) ? name.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase()) : name;
}

function lookup(family: Family, name: string): PairwiseDistance | DistanceMatrix {
  const members = FAMILIES[family] as Readonly<Record<string, PairwiseDistance | DistanceMatrix>>;
  const key = camelCase(name);
  const fn = Object.hasOwn(members, key) ? members[key] : undefined;
  if (fn === undefined) {
    throw new Error(
      `unknown distance metric '${family}.${name}'; expected one of ${Object.keys(members)
        .map((member) => `${family}.${member}`)
        .join(", ")}`,
    );
  }
  return fn;
}

/**
 * A built-in distance metric by its full name: ours ("BatchHardTripletLossDistanceFunction.eucledianDistance")
 * or the reference's ("SiameseDistanceMetric.EUCLIDEAN", "BatchHardTripletLossDistanceFunction.eucledian_distance").
 * Siamese and triplet metrics are `PairwiseDistance`s, batch-hard ones `DistanceMatrix`es.
 */
export function getDistanceMetric(name: string): PairwiseDistance | DistanceMatrix {
  const dot = name.indexOf(".");
  const family = name.slice(0, dot);
  if (dot < 0 || !Object.hasOwn(FAMILIES, family)) {
    throw new Error(
      `unknown distance metric '${name}'; expected 'Family.NAME' with Family one of ${Object.keys(FAMILIES).join(", ")}`,
    );
  }
  return lookup(family as Family, name.slice(dot + 1));
}

/** The full name of a built-in distance metric ("SiameseDistanceMetric.COSINE_DISTANCE"), or a custom function's own name. */
export function distanceMetricName(fn: PairwiseDistance | DistanceMatrix): string {
  for (const [family, members] of Object.entries(FAMILIES)) {
    for (const [name, member] of Object.entries(members)) if (member === fn) return `${family}.${name}`;
  }
  return fn.name === "" ? "anonymous" : fn.name;
}
