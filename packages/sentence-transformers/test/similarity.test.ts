import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as torch from "@stts/torch";
import {
  SIMILARITY_FUNCTIONS,
  cosSim,
  dotScore,
  euclideanSim,
  getSimilarityFunction,
  manhattanSim,
  pairwiseAngleSim,
  pairwiseCosSim,
  pairwiseDotScore,
  pairwiseEuclideanSim,
  pairwiseManhattanSim,
  similarityFunctionName,
} from "../src/util/similarity.js";
import { assertClose, checkGradients, f64, tidy, values } from "./losses-util.js";

const SQRT1_2 = Math.SQRT1_2;

describe("matrix similarity functions", () => {
  it("cosSim compares every row of a with every row of b", () =>
    tidy(() => {
      const s = cosSim(
        f64([
          [1, 0],
          [1, 1],
        ]),
        f64([
          [1, 0],
          [0, 2],
        ]),
      );
      assert.deepEqual(s.shape, [2, 2]);
      assertClose(values(s), [1, 0, SQRT1_2, SQRT1_2]); // cos 0°, 90°, 45°, 45°
    }));

  it("cosSim gives 0 for a zero row (norm clamped to 1e-12) and batches a 1-D vector", () =>
    tidy(() => {
      assertClose(values(cosSim(f64([[0, 0]]), f64([[1, 0]]))), [0]);
      const s = cosSim(f64([3, 4]), f64([[4, 3]]));
      assert.deepEqual(s.shape, [1, 1]);
      assertClose(values(s), [24 / 25]); // (12 + 12) / (5 * 5)
    }));

  it("dotScore is a @ b^T", () =>
    tidy(() =>
      assertClose(
        values(
          dotScore(
            f64([[1, 2]]),
            f64([
              [3, 4],
              [5, 6],
            ]),
          ),
        ),
        [11, 17],
      ),
    ));

  it("euclideanSim and manhattanSim are minus the L2 / L1 distances", () =>
    tidy(() => {
      assertClose(
        values(
          euclideanSim(
            f64([[0, 0]]),
            f64([
              [3, 4],
              [1, 0],
            ]),
          ),
        ),
        [-5, -1],
      );
      assertClose(
        values(
          manhattanSim(
            f64([[0, 0]]),
            f64([
              [3, 4],
              [1, -2],
            ]),
          ),
        ),
        [-7, -3],
      );
    }));
});

describe("pairwise similarity functions", () => {
  it("pairwiseCosSim and pairwiseDotScore compare row i with row i", () =>
    tidy(() => {
      assertClose(
        values(
          pairwiseCosSim(
            f64([
              [1, 0],
              [1, 1],
            ]),
            f64([
              [0, 1],
              [2, 2],
            ]),
          ),
        ),
        [0, 1],
      );
      assertClose(
        values(
          pairwiseDotScore(
            f64([
              [1, 2],
              [3, 4],
            ]),
            f64([
              [5, 6],
              [7, 8],
            ]),
          ),
        ),
        [17, 53],
      );
    }));

  it("pairwiseEuclideanSim and pairwiseManhattanSim are minus the distances, without epsilon", () =>
    tidy(() => {
      assertClose(
        values(
          pairwiseEuclideanSim(
            f64([
              [0, 0],
              [1, 1],
            ]),
            f64([
              [3, 4],
              [1, 1],
            ]),
          ),
        ),
        [-5, 0],
      );
      assertClose(
        values(
          pairwiseManhattanSim(
            f64([
              [0, 0],
              [1, 1],
            ]),
            f64([
              [3, 4],
              [1, 1],
            ]),
          ),
        ),
        [-7, 0],
      );
    }));

  it("pairwiseAngleSim sums real and imaginary parts of the normalised quotient", () =>
    tidy(() => {
      // x = 1 + 1i, y = 1: re = 1, im = 1, divided by |x| |y| = sqrt(2) each: sqrt(2)
      assertClose(values(pairwiseAngleSim(f64([[1, 1]]), f64([[1, 0]]))), [Math.SQRT2]);
      // x = 1, y = i: re = 0, im = -1: |0 - 1| = 1
      assertClose(values(pairwiseAngleSim(f64([[1, 0]]), f64([[0, 1]]))), [1]);
      // a = [1, 2], b = [3, 4], c = [5, 6], d = [7, 8]:
      // sum(ac + bd + bc - ad) = (5 + 21 + 15 - 7) + (12 + 32 + 24 - 16) = 86; ||x|| = sqrt(30), ||y|| = sqrt(174)
      assertClose(values(pairwiseAngleSim(f64([[1, 2, 3, 4]]), f64([[5, 6, 7, 8]]))), [86 / Math.sqrt(30 * 174)]);
    }));

  it("pairwiseAngleSim rejects an odd dimension and pairwise forms reject mismatched shapes", () =>
    tidy(() => {
      assert.throws(() => pairwiseAngleSim(f64([[1, 2, 3]]), f64([[1, 2, 3]])), /even dim/);
      assert.throws(
        () =>
          pairwiseDotScore(
            f64([[1, 2]]),
            f64([
              [1, 2],
              [3, 4],
            ]),
          ),
        /same shape/,
      );
    }));

  it("gradients agree with finite differences", () => {
    const x = f64([
      [0.3, -1.2, 0.5, 2.0],
      [1.1, 0.4, -0.7, 0.2],
    ]);
    const y = f64([
      [-0.6, 0.9, 1.4, -0.3],
      [0.8, -1.5, 0.1, 0.6],
    ]);
    checkGradients(([a, b]) => pairwiseAngleSim(a!, b!).sum(), [x, y]);
    checkGradients(
      ([a, b]) =>
        cosSim(a!, b!)
          .mul(
            f64([
              [1, -2],
              [3, 0.5],
            ]),
          )
          .sum(),
      [x, y],
    );
    checkGradients(([a, b]) => euclideanSim(a!, b!).sum(), [x, y]);
    [x, y].forEach((t) => t.dispose());
  });
});

describe("SIMILARITY_FUNCTIONS", () => {
  it("looks functions up by camelCase and by the reference's snake_case name", () => {
    assert.equal(getSimilarityFunction("cos_sim"), cosSim);
    assert.equal(getSimilarityFunction("cosSim"), cosSim);
    assert.equal(getSimilarityFunction("pairwise_angle_sim"), pairwiseAngleSim);
    assert.equal(getSimilarityFunction("manhattan_sim"), manhattanSim);
    assert.deepEqual(Object.keys(SIMILARITY_FUNCTIONS).sort(), [
      "cosSim",
      "dotScore",
      "euclideanSim",
      "manhattanSim",
      "pairwiseAngleSim",
      "pairwiseCosSim",
      "pairwiseDotScore",
      "pairwiseEuclideanSim",
      "pairwiseManhattanSim",
    ]);
    assert.throws(() => getSimilarityFunction("cosine"), /unknown similarity function 'cosine'.*cosSim/);
  });

  it("names built-in functions, and custom ones by their own name", () => {
    assert.equal(similarityFunctionName(dotScore), "dotScore");
    assert.equal(similarityFunctionName(pairwiseEuclideanSim), "pairwiseEuclideanSim");
    const myScore = (a: torch.Tensor, b: torch.Tensor) => dotScore(a, b);
    assert.equal(similarityFunctionName(myScore), "myScore");
  });
});
