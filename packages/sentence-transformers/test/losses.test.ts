import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as torch from "@stts/torch";
import type { Tensor } from "@stts/torch";
import type { EmbeddingModel, Features } from "../src/features.js";
import {
  AnglELoss,
  BatchAllTripletLoss,
  BatchHardSoftMarginTripletLoss,
  BatchHardTripletLoss,
  BatchHardTripletLossDistanceFunction,
  BatchSemiHardTripletLoss,
  CoSENTLoss,
  ContrastiveLoss,
  CosineSimilarityLoss,
  DistillKLDivLoss,
  MSELoss,
  MarginMSELoss,
  MegaBatchMarginLoss,
  MultipleNegativesRankingLoss,
  MultipleNegativesSymmetricRankingLoss,
  OnlineContrastiveLoss,
  SiameseDistanceMetric,
  TripletDistanceMetric,
  TripletLoss,
  distanceMetricName,
  getDistanceMetric,
  type LabelKind,
  type InputColumns,
  type Loss,
} from "../src/losses/index.js";
import { dotScore } from "../src/util/similarity.js";
import { TinyModel, assertClose, checkGradients, f64, i64, tidy, values } from "./losses-util.js";

/** What every loss of this file offers besides Loss. */
interface EmbeddingLoss extends Loss {
  forward(sentenceFeatures: Features[], labels: Tensor | null): Tensor;
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null): Tensor;
}

/** The constructors only need a model; hand examples pass embeddings directly. */
const model = new TinyModel();

/** The loss of fixed embeddings (columns of rows) and labels, as a number. */
function lossOf(loss: EmbeddingLoss, columns: number[][][], labels: Tensor | null = null): number {
  return torch.scope(() => loss.computeLossFromEmbeddings(columns.map(f64), labels).item());
}

const { log, log1p, exp, sqrt, SQRT1_2 } = Math;

describe("MultipleNegativesRankingLoss", () => {
  it("is the cross-entropy of each anchor's scores with its positive as target", () =>
    tidy(() => {
      const loss = new MultipleNegativesRankingLoss(model, { scale: 1, similarityFct: dotScore });
      // scores a @ p^T = [[1, 0], [2, 2]]: row 0 -> -log(e / (e + 1)) = log(1 + e^-1), row 1 -> log 2
      const pairs = [
        [
          [1, 0],
          [0, 2],
        ],
        [
          [1, 1],
          [0, 1],
        ],
      ];
      assertClose(lossOf(loss, pairs), (log1p(exp(-1)) + log(2)) / 2);
      // a hard negative column [[0, 1], [1, 0]] adds candidates: rows [1, 0, 0, 1] (target 0), [2, 2, 2, 0] (target 1)
      assertClose(
        lossOf(loss, [
          ...pairs,
          [
            [0, 1],
            [1, 0],
          ],
        ]),
        (log(2 + 2 / Math.E) + log(3 + exp(-2))) / 2,
      );
    }));

  it("defaults to cosine similarity with scale 20", () =>
    tidy(() => {
      const loss = new MultipleNegativesRankingLoss(model);
      // identical unit rows: scores [[20, 0], [0, 20]], loss log(1 + e^-20)
      assertClose(
        lossOf(loss, [
          [
            [1, 0],
            [0, 3],
          ],
          [
            [2, 0],
            [0, 1],
          ],
        ]),
        log1p(exp(-20)),
        1e-15,
      );
      assert.deepEqual(loss.getConfigDict(), { scale: 20, similarityFct: "cosSim" });
    }));
});

describe("MultipleNegativesSymmetricRankingLoss", () => {
  it("averages the anchor->candidates and positive->anchors cross-entropies", () =>
    tidy(() => {
      const loss = new MultipleNegativesSymmetricRankingLoss(model, { scale: 1, similarityFct: dotScore });
      // scores [[1, 0], [2, 2]]; forward: (log(1 + e^-1) + log 2) / 2; backward on the transpose [[1, 2], [0, 2]]:
      // row 0 -> log(1 + e), row 1 -> log(1 + e^-2)
      const expected = ((log1p(exp(-1)) + log(2)) / 2 + (log1p(Math.E) + log1p(exp(-2))) / 2) / 2;
      assertClose(
        lossOf(loss, [
          [
            [1, 0],
            [0, 2],
          ],
          [
            [1, 1],
            [0, 1],
          ],
        ]),
        expected,
      );
    }));
});

describe("CoSENTLoss", () => {
  const a = [
    [1, 0],
    [1, 0],
  ];
  const b = [
    [1, 0],
    [0, 1],
  ]; // cosine similarities [1, 0]
  it("penalises pairs ranked against their gold order: log(1 + sum exp(s_i - s_j))", () =>
    tidy(() => {
      const loss = new CoSENTLoss(model);
      assertClose(lossOf(loss, [a, b], f64([1, 0])), log1p(exp(-20)), 1e-15); // right order: tiny
      assertClose(lossOf(loss, [a, b], f64([0, 1])), 20 + log1p(exp(-20))); // wrong order: log(1 + e^20)
      assertClose(lossOf(loss, [a, b], f64([0.5, 0.5])), 0); // ties form no constraint
    }));
});

describe("AnglELoss", () => {
  it("is CoSENTLoss with the angle similarity", () =>
    tidy(() => {
      const loss = new AnglELoss(model);
      // angle similarities: [1+1i vs 1] = sqrt(2), [1 vs i] = 1; labels [1, 0]: term exp(20 (1 - sqrt 2))
      assertClose(
        lossOf(
          loss,
          [
            [
              [1, 1],
              [1, 0],
            ],
            [
              [1, 0],
              [0, 1],
            ],
          ],
          f64([1, 0]),
        ),
        log1p(exp(20 * (1 - Math.SQRT2))),
      );
      assert.deepEqual(loss.getConfigDict(), { scale: 20 });
    }));
});

describe("CosineSimilarityLoss", () => {
  const columns = [
    [
      [1, 0],
      [1, 1],
    ],
    [
      [1, 0],
      [0, 1],
    ],
  ]; // cosines [1, 1/sqrt 2]
  it("regresses cos(u, v) onto the scores with MSE, or L1", () =>
    tidy(() => {
      const labels = f64([0.5, 1]);
      assertClose(lossOf(new CosineSimilarityLoss(model), columns, labels), (0.25 + (1 - SQRT1_2) ** 2) / 2);
      assertClose(
        lossOf(new CosineSimilarityLoss(model, { lossFct: "L1Loss" }), columns, labels),
        (0.5 + 1 - SQRT1_2) / 2,
      );
    }));
});

describe("ContrastiveLoss", () => {
  it("is 0.5 (y d^2 + (1 - y) relu(margin - d)^2), averaged or summed", () =>
    tidy(() => {
      // cosine distances [1, 0]; labels [1, 0]: 0.5 * 1 and 0.5 * (0.5 - 0)^2
      const columns = [
        [
          [1, 0],
          [1, 0],
        ],
        [
          [0, 1],
          [1, 0],
        ],
      ];
      assertClose(lossOf(new ContrastiveLoss(model), columns, i64([1, 0])), (0.5 + 0.125) / 2);
      assertClose(lossOf(new ContrastiveLoss(model, { sizeAverage: false }), columns, i64([1, 0])), 0.625);
    }));

  it("uses torch's pairwise_distance (epsilon 1e-6 added to the difference) for EUCLIDEAN", () =>
    tidy(() => {
      const loss = new ContrastiveLoss(model, { distanceMetric: SiameseDistanceMetric.EUCLIDEAN, margin: 6 });
      const d = Math.hypot(3 - 1e-6, 4 - 1e-6); // || [0,0] - [3,4] + 1e-6 ||
      assertClose(lossOf(loss, [[[0, 0]], [[3, 4]]], i64([0])), 0.5 * (6 - d) ** 2);
    }));
});

describe("OnlineContrastiveLoss", () => {
  it("sums over hard positives (d > min negative d) and hard negatives (d < max positive d)", () =>
    tidy(() => {
      // cosine distances [0.2, 0.6, 0.3, 0.9], labels [1, 1, 0, 0]: hard positive 0.6, hard negative 0.3
      const unit = (d: number) => [1 - d, sqrt(1 - (1 - d) ** 2)];
      const columns = [
        [
          [1, 0],
          [1, 0],
          [1, 0],
          [1, 0],
        ],
        [0.2, 0.6, 0.3, 0.9].map(unit),
      ];
      assertClose(lossOf(new OnlineContrastiveLoss(model), columns, i64([1, 1, 0, 0])), 0.36 + 0.04, 1e-12);
    }));
});

describe("TripletLoss", () => {
  it("is mean(relu(d(a, p) - d(a, n) + margin)); EUCLIDEAN is minus the distance, as in the reference", () =>
    tidy(() => {
      // d = -||.||: relu(-5 - (-1) + 5) = 1
      assertClose(lossOf(new TripletLoss(model), [[[0, 0]], [[3, 4]], [[1, 0]]]), 1);
      const cosine = new TripletLoss(model, { distanceMetric: TripletDistanceMetric.COSINE, tripletMargin: 0.3 });
      assertClose(lossOf(cosine, [[[1, 0]], [[0, 1]], [[1, 0]]]), 1.3); // relu(1 - 0 + 0.3)
    }));
});

describe("batch triplet losses", () => {
  // distances: d01 = 1, d02 = 3, d03 = 4, d12 = sqrt 10, d13 = sqrt 17, d23 = 1
  const points = [
    [
      [0, 0],
      [1, 0],
      [0, 3],
      [0, 4],
    ],
  ];
  const classes = () => i64([0, 0, 1, 1]);
  it("BatchHardTripletLoss takes the farthest positive and the closest negative per anchor", () =>
    tidy(() => {
      // anchors: 1 - 3 + 5, 1 - sqrt 10 + 5, 1 - 3 + 5, 1 - 4 + 5
      assertClose(lossOf(new BatchHardTripletLoss(model), points, classes()), (14 - sqrt(10)) / 4);
    }));

  it("BatchAllTripletLoss averages over all positive valid triplets", () =>
    tidy(() => {
      const expected = (34 - 2 * sqrt(10) - 2 * sqrt(17)) / 8; // 8 valid triplets, all active with margin 5
      assertClose(lossOf(new BatchAllTripletLoss(model), points, classes()), expected);
    }));

  it("BatchHardSoftMarginTripletLoss is mean(log(1 + exp(d_p - d_n)))", () =>
    tidy(() => {
      const expected = [-2, 1 - sqrt(10), -2, -3].map((x) => log1p(exp(x))).reduce((s, x) => s + x) / 4;
      assertClose(lossOf(new BatchHardSoftMarginTripletLoss(model), points, classes()), expected);
    }));

  it("BatchSemiHardTripletLoss picks the closest negative beyond the positive, else the farthest", () =>
    tidy(() => {
      // on a line: 0, 2 (class 0), 1, 5 (class 1); margin 1.
      // pairs (0,1): negatives > 2 -> 5: 2-5+1 < 0; (1,0): > 2 -> 3: 0; (2,3): none > 4 -> farthest 1: 4-1+1 = 4; (3,2): 5: 0
      const line = [
        [
          [0, 0],
          [2, 0],
          [1, 0],
          [5, 0],
        ],
      ];
      assertClose(lossOf(new BatchSemiHardTripletLoss(model, { margin: 1 }), line, classes()), 1);
      // the batch-hard loss differs here: (2 + 2 + 4 + 2) / 4
      assertClose(lossOf(new BatchHardTripletLoss(model, { margin: 1 }), line, classes()), 2.5);
    }));

  it("the eucledian distance matrix is exactly 0 on the diagonal, with zero gradient there", () =>
    tidy(() => {
      const x = f64([
        [1, 2],
        [1, 2],
        [4, 6],
      ]).requiresGrad_(true);
      const distances = BatchHardTripletLossDistanceFunction.eucledianDistance(x);
      assertClose(values(distances), [0, 0, 5, 0, 0, 5, 5, 5, 0]);
      distances.sum().backward();
      assert.ok(values(x.grad!).every(Number.isFinite));
    }));
});

describe("MegaBatchMarginLoss", () => {
  const columns = [
    [
      [1, 0],
      [0, 1],
    ],
    [
      [1, 0],
      [1, 1],
    ],
  ];
  it("adds relu(posMargin - cos(a, p)) and relu(cos(a, hardest n) - negMargin)", () =>
    tidy(() => {
      // anchor 0: positive cos 1, hardest negative cos 1/sqrt 2; anchor 1: positive 1/sqrt 2, negative 0
      const expected = (SQRT1_2 - 0.3 + (0.8 - SQRT1_2)) / 2;
      assertClose(lossOf(new MegaBatchMarginLoss(model, { useMiniBatchedVersion: false }), columns), expected);
      assertClose(lossOf(new MegaBatchMarginLoss(model), columns), expected); // one mini-batch of 50
    }));

  it("returns the loss of the last mini-batch only when the batch spans several", () =>
    tidy(() => {
      const loss = new MegaBatchMarginLoss(model, { miniBatchSize: 1 });
      assertClose(lossOf(loss, columns), 0.8 - SQRT1_2);
    }));
});

describe("MSELoss", () => {
  it("regresses every column onto the teacher embeddings", () =>
    tidy(() => {
      // errors (0, 1) and (2, 3): (0 + 1 + 4 + 9) / 4
      assertClose(lossOf(new MSELoss(model), [[[1, 2]], [[3, 4]]], f64([[1, 1]])), 3.5);
    }));
});

describe("MarginMSELoss", () => {
  const triplet = [[[1, 0]], [[2, 0]], [[0, 1]]]; // dot scores: positive 2, negative 0
  it("takes teacher margins, or raw teacher scores [pos, neg...]", () =>
    tidy(() => {
      const loss = new MarginMSELoss(model);
      assertClose(lossOf(loss, triplet, f64([0.5])), 2.25); // (2 - 0.5)^2
      assertClose(lossOf(loss, triplet, f64([[3, 1]])), 0); // teacher margin 3 - 1 = 2
      assertClose(lossOf(loss, [...triplet, [[1, 0]]], f64([[1, 1]])), 0.5); // margins [2, 1] vs [1, 1]
      assertClose(lossOf(loss, [...triplet, [[1, 0]]], f64([[4, 3, 3]])), 0.5); // raw: teacher margins [1, 1]
    }));
});

describe("DistillKLDivLoss", () => {
  it("is KL(softmax(teacher / T) || softmax(student / T)) * T^2", () =>
    tidy(() => {
      const loss = new DistillKLDivLoss(model);
      const triplet = [[[1, 0]], [[2, 0]], [[0, 1]]]; // student scores [2, 0]
      assertClose(lossOf(loss, triplet, f64([[2, 0]])), 0, 1e-15);
      // uniform teacher: sum 0.5 (log 0.5 - log p_i) = log 0.5 + log(1 + e^2) - 1
      assertClose(lossOf(loss, triplet, f64([[0, 0]])), log(0.5) + log1p(exp(2)) - 1);
      const hot = new DistillKLDivLoss(model, { temperature: 2 });
      const z = log1p(exp(1)); // student / 2 = [1, 0]
      assertClose(lossOf(hot, triplet, f64([[0, 0]])), 4 * (log(0.5) + z - 0.5));
    }));
});

describe("input checks", () => {
  const two = () => [
    f64([
      [1, 0],
      [0, 1],
    ]),
    f64([
      [1, 1],
      [0, 1],
    ]),
  ];
  const expectError = (fn: () => unknown, message: string | RegExp) =>
    tidy(() => assert.throws(fn, typeof message === "string" ? { message } : message));

  it("names the loss, what it expects and how many columns it got", () => {
    expectError(
      () =>
        new CoSENTLoss(model).computeLossFromEmbeddings(
          [
            ...two(),
            f64([
              [0, 1],
              [1, 0],
            ]),
          ],
          f64([1, 0]),
        ),
      "CoSENTLoss expects 2 input columns (sentence A, sentence B) and float scores, got 3 columns",
    );
    expectError(
      () => new MultipleNegativesRankingLoss(model).computeLossFromEmbeddings([f64([[1, 0]])], null),
      "MultipleNegativesRankingLoss expects at least 2 input columns (anchor, positive, negative...) and no labels, got 1 column",
    );
    expectError(
      () => new TripletLoss(model).computeLossFromEmbeddings(two(), null),
      "TripletLoss expects 3 input columns (anchor, positive, negative) and no labels, got 2 columns",
    );
    expectError(
      () => new AnglELoss(model).computeLossFromEmbeddings([f64([[1, 0]])], f64([1])),
      /AnglELoss expects 2 input columns \(sentence A, sentence B\) and float scores, got 1 column/,
    );
  });

  it("rejects labels that are missing or of the wrong type or shape", () => {
    expectError(
      () => new CoSENTLoss(model).computeLossFromEmbeddings(two(), null),
      /CoSENTLoss expects .* float scores, got no labels/,
    );
    expectError(
      () => new CoSENTLoss(model).computeLossFromEmbeddings(two(), i64([1, 0])),
      "CoSENTLoss expects 2 input columns (sentence A, sentence B) and float scores of shape [batch], got labels of dtype int64 and shape [2]",
    );
    expectError(
      () =>
        new BatchHardTripletLoss(model).computeLossFromEmbeddings(
          [
            f64([
              [1, 0],
              [0, 1],
            ]),
          ],
          f64([0, 1]),
        ),
      /BatchHardTripletLoss expects 1 input column \(sentence\) and integer class labels of shape \[batch\], got labels of dtype float64/,
    );
    expectError(
      () => new ContrastiveLoss(model).computeLossFromEmbeddings(two(), i64([1, 0, 1])),
      "ContrastiveLoss: got labels for 3 rows but embeddings for 2 rows",
    );
    expectError(
      () => new MSELoss(model).computeLossFromEmbeddings(two(), f64([1, 0])),
      /MSELoss expects .* teacher embeddings of shape \[batch, dim\]/,
    );
    expectError(
      () =>
        new MarginMSELoss(model).computeLossFromEmbeddings(
          [
            ...two(),
            f64([
              [0, 1],
              [1, 0],
            ]),
          ],
          f64([
            [1, 2, 3],
            [4, 5, 6],
          ]),
        ),
      /MarginMSELoss: with 1 negative column\(s\), labels must be .* got \[2, 3\]/,
    );
    expectError(
      () =>
        new DistillKLDivLoss(model).computeLossFromEmbeddings(
          [
            ...two(),
            f64([
              [0, 1],
              [1, 0],
            ]),
          ],
          f64([
            [1, 2, 3],
            [4, 5, 6],
          ]),
        ),
      /DistillKLDivLoss: with 2 passage columns .* \[batch, 2\], got \[2, 3\]/,
    );
  });

  it("rejects columns of different batch sizes or non-2-D embeddings", () => {
    expectError(
      () =>
        new MultipleNegativesRankingLoss(model).computeLossFromEmbeddings(
          [
            f64([[1, 0]]),
            f64([
              [1, 0],
              [0, 1],
            ]),
          ],
          null,
        ),
      "MultipleNegativesRankingLoss: every input column must have the same batch size, got 1, 2",
    );
    expectError(
      () => new MultipleNegativesRankingLoss(model).computeLossFromEmbeddings([f64([1, 0]), f64([1, 0])], null),
      /input column 0 \(anchor\) must be a floating-point \[batch, dim\] embedding, got float64 \[2\]/,
    );
  });
});

/** Every loss of this file with random inputs of the right kind, for the generic checks below. */
interface Case {
  name: string;
  make: (m: EmbeddingModel) => EmbeddingLoss;
  columns: number;
  labels: (batch: number) => Tensor | null;
  config: Record<string, unknown>;
  cites: boolean;
  meta: { inputColumns: InputColumns; labelKind: LabelKind };
}

const scores = (batch: number) => f64(Array.from({ length: batch }, (_, i) => ((i * 5) % 7) / 7));
const binary = (batch: number) => i64(Array.from({ length: batch }, (_, i) => i % 2));
const classIds = (batch: number) => i64(Array.from({ length: batch }, (_, i) => Math.floor(i / 2)));
const BATCH_EUCLIDEAN = "BatchHardTripletLossDistanceFunction.eucledianDistance";

const CASES: Case[] = [
  {
    name: "MultipleNegativesRankingLoss",
    make: (m) => new MultipleNegativesRankingLoss(m),
    columns: 3,
    labels: () => null,
    config: { scale: 20, similarityFct: "cosSim" },
    cites: true,
    meta: MultipleNegativesRankingLoss,
  },
  {
    name: "MultipleNegativesSymmetricRankingLoss",
    make: (m) => new MultipleNegativesSymmetricRankingLoss(m),
    columns: 3,
    labels: () => null,
    config: { scale: 20, similarityFct: "cosSim" },
    cites: false,
    meta: MultipleNegativesSymmetricRankingLoss,
  },
  {
    name: "CoSENTLoss",
    make: (m) => new CoSENTLoss(m),
    columns: 2,
    labels: scores,
    config: { scale: 20, similarityFct: "pairwiseCosSim" },
    cites: true,
    meta: CoSENTLoss,
  },
  {
    name: "AnglELoss",
    make: (m) => new AnglELoss(m),
    columns: 2,
    labels: scores,
    config: { scale: 20 },
    cites: true,
    meta: AnglELoss,
  },
  {
    name: "CosineSimilarityLoss",
    make: (m) => new CosineSimilarityLoss(m),
    columns: 2,
    labels: scores,
    config: { lossFct: "MSELoss", cosScoreTransformation: "Identity" },
    cites: false,
    meta: CosineSimilarityLoss,
  },
  {
    name: "ContrastiveLoss",
    make: (m) => new ContrastiveLoss(m),
    columns: 2,
    labels: binary,
    config: { distanceMetric: "SiameseDistanceMetric.COSINE_DISTANCE", margin: 0.5, sizeAverage: true },
    cites: true,
    meta: ContrastiveLoss,
  },
  {
    name: "OnlineContrastiveLoss",
    make: (m) => new OnlineContrastiveLoss(m, { margin: 1.5 }),
    columns: 2,
    labels: binary,
    config: { distanceMetric: "SiameseDistanceMetric.COSINE_DISTANCE", margin: 1.5 },
    cites: false,
    meta: OnlineContrastiveLoss,
  },
  {
    name: "TripletLoss",
    make: (m) => new TripletLoss(m),
    columns: 3,
    labels: () => null,
    config: { distanceMetric: "TripletDistanceMetric.EUCLIDEAN", tripletMargin: 5 },
    cites: true,
    meta: TripletLoss,
  },
  {
    name: "BatchAllTripletLoss",
    make: (m) => new BatchAllTripletLoss(m),
    columns: 1,
    labels: classIds,
    config: { distanceMetric: BATCH_EUCLIDEAN, margin: 5 },
    cites: true,
    meta: BatchAllTripletLoss,
  },
  {
    name: "BatchHardTripletLoss",
    make: (m) => new BatchHardTripletLoss(m),
    columns: 1,
    labels: classIds,
    config: { distanceMetric: BATCH_EUCLIDEAN, margin: 5 },
    cites: true,
    meta: BatchHardTripletLoss,
  },
  {
    name: "BatchHardSoftMarginTripletLoss",
    make: (m) => new BatchHardSoftMarginTripletLoss(m),
    columns: 1,
    labels: classIds,
    config: { distanceMetric: BATCH_EUCLIDEAN },
    cites: true,
    meta: BatchHardSoftMarginTripletLoss,
  },
  {
    name: "BatchSemiHardTripletLoss",
    make: (m) => new BatchSemiHardTripletLoss(m),
    columns: 1,
    labels: classIds,
    config: { distanceMetric: BATCH_EUCLIDEAN, margin: 5 },
    cites: true,
    meta: BatchSemiHardTripletLoss,
  },
  {
    name: "MegaBatchMarginLoss",
    make: (m) => new MegaBatchMarginLoss(m, { miniBatchSize: 2 }),
    columns: 2,
    labels: () => null,
    config: { positiveMargin: 0.8, negativeMargin: 0.3, useMiniBatchedVersion: true, miniBatchSize: 2 },
    cites: true,
    meta: MegaBatchMarginLoss,
  },
  {
    name: "MSELoss",
    make: (m) => new MSELoss(m),
    columns: 2,
    labels: (batch) => torch.randn([batch, 4], { dtype: "float64" }),
    config: {},
    cites: true,
    meta: MSELoss,
  },
  {
    name: "MarginMSELoss",
    make: (m) => new MarginMSELoss(m),
    columns: 4,
    labels: (batch) => torch.randn([batch, 3], { dtype: "float64" }),
    config: { similarityFct: "pairwiseDotScore" },
    cites: true,
    meta: MarginMSELoss,
  },
  {
    name: "DistillKLDivLoss",
    make: (m) => new DistillKLDivLoss(m, { temperature: 2 }),
    columns: 3,
    labels: (batch) => torch.randn([batch, 2], { dtype: "float64" }),
    config: { similarityFct: "pairwiseDotScore", temperature: 2 },
    cites: true,
    meta: DistillKLDivLoss,
  },
];

describe("every loss", () => {
  for (const c of CASES) {
    describe(c.name, () => {
      it("getConfigDict lists the constructor's options; citation and input metadata are declared", () => {
        const loss = c.make(model);
        assert.equal(loss.constructor.name, c.name);
        assert.deepEqual(loss.getConfigDict(), c.config);
        assert.equal(loss.citation !== null && loss.citation.startsWith("@"), c.cites);
        assert.ok(c.meta.inputColumns.min <= c.columns && (c.meta.inputColumns.max ?? Infinity) >= c.columns);
        assert.ok(c.meta.inputColumns.roles.length >= 1);
        assert.equal(c.meta.labelKind === "none", c.labels(2) === null);
      });

      it("gradients of computeLossFromEmbeddings agree with finite differences", () => {
        torch.manualSeed(11);
        const batch = 6;
        const columns = Array.from({ length: c.columns }, () => torch.randn([batch, 4], { dtype: "float64" }));
        const labels = c.labels(batch);
        const loss = c.make(model);
        checkGradients((inputs) => loss.computeLossFromEmbeddings(inputs, labels), columns, 1e-6, 1e-5);
        [...columns, labels].forEach((t) => t?.dispose());
      });

      it("forward through a real model back-propagates finite gradients and leaks no tensor", () => {
        const tiny = new TinyModel();
        const loss = c.make(tiny);
        const batch = 4;
        tidy(() => {
          const features = Array.from({ length: c.columns }, (_, k) =>
            TinyModel.features(
              Array.from({ length: batch }, (_, i) => [
                1 + ((i + 3 * k) % 11),
                1 + ((2 * i + k) % 11),
                ...(i % 2 ? [5] : []),
              ]),
            ),
          );
          const value = loss.forward(features, c.labels(batch));
          assert.deepEqual(value.shape, []);
          assert.ok(Number.isFinite(value.item()));
          value.backward();
          const grad = tiny.embeddings.weight.grad;
          assert.ok(grad !== null, "the embedding table received a gradient");
          assert.ok(values(grad).every(Number.isFinite));
        });
        tiny.dispose();
      });
    });
  }
});

describe("MegaBatchMarginLoss.forward", () => {
  it("returns the last mini-batch's loss, the same as computeLossFromEmbeddings on the model's embeddings", () => {
    const tiny = new TinyModel();
    const loss = new MegaBatchMarginLoss(tiny, { miniBatchSize: 3 });
    tidy(() => {
      const anchor = TinyModel.features([[1, 2], [3], [4, 5], [6], [7, 8]]);
      const positive = TinyModel.features([[2, 9], [3, 10], [5], [6, 11], [8]]);
      const value = loss.forward([anchor, positive], null).item();
      const embedded = [anchor, positive].map((f) => tiny.forward(f).sentenceEmbedding!);
      assertClose(value, loss.computeLossFromEmbeddings(embedded, null).item(), 1e-15);
    });
    tiny.dispose();
  });
});

describe("distance metrics", () => {
  it("are looked up by the reference's names and named back for getConfigDict", () => {
    assert.equal(getDistanceMetric("SiameseDistanceMetric.EUCLIDEAN"), SiameseDistanceMetric.EUCLIDEAN);
    assert.equal(getDistanceMetric("TripletDistanceMetric.COSINE"), TripletDistanceMetric.COSINE);
    assert.equal(
      getDistanceMetric("BatchHardTripletLossDistanceFunction.eucledian_distance"),
      BatchHardTripletLossDistanceFunction.eucledianDistance,
    );
    assert.equal(
      getDistanceMetric("BatchHardTripletLossDistanceFunction.cosineDistance"),
      BatchHardTripletLossDistanceFunction.cosineDistance,
    );
    assert.equal(distanceMetricName(SiameseDistanceMetric.MANHATTAN), "SiameseDistanceMetric.MANHATTAN");
    assert.throws(
      () => getDistanceMetric("SiameseDistanceMetric.COSINE"),
      /unknown distance metric 'SiameseDistanceMetric.COSINE'/,
    );
    assert.throws(() => getDistanceMetric("EUCLIDEAN"), /expected 'Family.NAME'/);
  });

  it("compute the documented values", () =>
    tidy(() => {
      const a = f64([
        [0, 0],
        [1, 0],
      ]);
      const b = f64([
        [3, 4],
        [0, 1],
      ]);
      assertClose(values(SiameseDistanceMetric.MANHATTAN(a, b)), [7 - 2e-6, 2], 1e-12); // |a - b + 1e-6|_1
      assertClose(values(SiameseDistanceMetric.COSINE_DISTANCE(f64([[1, 0]]), f64([[0, 2]]))), [1]);
      assertClose(values(TripletDistanceMetric.MANHATTAN(a, b)), [-7, -2]); // minus the distance, no epsilon
      assertClose(
        values(
          BatchHardTripletLossDistanceFunction.cosineDistance(
            f64([
              [1, 0],
              [0, 1],
            ]),
          ),
        ),
        [0, 1, 1, 0],
      );
    }));
});
