// Shape, indexing and joining ops, checked against hand-worked examples.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import type { Tensor } from "../src/index.js";
import { tidy, values } from "./util.js";

const long = (data: number[] | number[][]): Tensor => torch.tensor(data, { dtype: "int64" });

/** [[0, 1, 2], [3, 4, 5]] */
const m23 = (): Tensor => torch.arange(6, undefined, 1, { dtype: "float32" }).reshape([2, 3]);

describe("views and reshapes", () => {
  it("reshape and view reorder row-major, with -1 inferred", () =>
    tidy(() => {
      const x = m23();
      assert.deepEqual(x.reshape([3, -1]).toArray(), [
        [0, 1],
        [2, 3],
        [4, 5],
      ]);
      const v = x.view([6]);
      assert.deepEqual(v.toArray(), [0, 1, 2, 3, 4, 5]);
      assert.ok(v.sharesMemoryWith(x)); // a view, not a copy
      assert.throws(() => x.view([4]), /shape '\[4\]' is invalid for input of size 6/);
    }));

  it("view of a non-contiguous tensor fails; contiguous() then view works", () =>
    tidy(() => {
      const t = m23().t(); // [[0, 3], [1, 4], [2, 5]]
      assert.throws(() => t.view([6]), /view size is not compatible with input tensor's size and stride/);
      const c = t.contiguous();
      assert.equal(c.sharesMemoryWith(t), false);
      assert.deepEqual(c.view([6]).toArray(), [0, 3, 1, 4, 2, 5]);
      assert.deepEqual(t.reshape([6]).toArray(), [0, 3, 1, 4, 2, 5]); // reshape copies when it must
    }));

  it("transpose, t and permute swap axes", () =>
    tidy(() => {
      const x = m23();
      assert.deepEqual(x.transpose(0, 1).toArray(), [
        [0, 3],
        [1, 4],
        [2, 5],
      ]);
      assert.deepEqual(x.t().toArray(), x.transpose(-1, -2).toArray());
      // y[i][j][k] = 4i + 2j + k for shape [2, 2, 2]; permute([2, 0, 1]) gives out[k][i][j] = y[i][j][k]
      const y = torch.arange(8).reshape([2, 2, 2]);
      assert.deepEqual(y.permute([2, 0, 1]).toArray(), [
        [
          [0, 2],
          [4, 6],
        ],
        [
          [1, 3],
          [5, 7],
        ],
      ]);
    }));

  it("squeeze/unsqueeze/flatten", () =>
    tidy(() => {
      const x = torch.zeros([1, 3, 1]);
      assert.deepEqual(x.squeeze().shape, [3]);
      assert.deepEqual(x.squeeze(0).shape, [3, 1]);
      assert.deepEqual(x.squeeze(1).shape, [1, 3, 1]); // size 3: unchanged
      assert.deepEqual(x.squeeze(-1).shape, [1, 3]);
      assert.deepEqual(torch.zeros([3]).unsqueeze(0).shape, [1, 3]);
      assert.deepEqual(torch.zeros([3]).unsqueeze(-1).shape, [3, 1]);
      const y = torch.zeros([2, 3, 4, 5]);
      assert.deepEqual(y.flatten().shape, [120]);
      assert.deepEqual(y.flatten(1).shape, [2, 60]);
      assert.deepEqual(y.flatten(1, 2).shape, [2, 12, 5]);
    }));

  it("expand/expandAs broadcast without copying; repeat tiles", () =>
    tidy(() => {
      const c = torch.tensor([[1], [2]]);
      const e = c.expand([2, 3]);
      assert.deepEqual(e.toArray(), [
        [1, 1, 1],
        [2, 2, 2],
      ]);
      assert.ok(e.sharesMemoryWith(c));
      assert.deepEqual(c.expand([-1, 2]).shape, [2, 2]);
      assert.deepEqual(c.expandAs(torch.zeros([3, 2, 4])).shape, [3, 2, 4]);
      assert.throws(() => c.expand([3, 3]), /must match the existing size/);
      assert.deepEqual(torch.tensor([1, 2]).repeat([2, 2]).toArray(), [
        [1, 2, 1, 2],
        [1, 2, 1, 2],
      ]);
    }));

  it("repeatInterleave repeats each element, flattening without dim", () =>
    tidy(() => {
      assert.deepEqual(torch.tensor([1, 2]).repeatInterleave(2).toArray(), [1, 1, 2, 2]);
      assert.deepEqual(
        torch
          .tensor([
            [1, 2],
            [3, 4],
          ])
          .repeatInterleave(2, 0)
          .toArray(),
        [
          [1, 2],
          [1, 2],
          [3, 4],
          [3, 4],
        ],
      );
      // per-element counts from a tensor: 1 -> once, 2 -> three times
      assert.deepEqual(
        torch
          .tensor([1, 2])
          .repeatInterleave(long([1, 3]))
          .toArray(),
        [1, 2, 2, 2],
      );
      // a tensor alone: each i appears repeats[i] times
      assert.deepEqual(
        long([2, 0, 1])
          .repeatInterleave(long([1, 2, 3]))
          .toArray(),
        [2, 0, 0, 1, 1, 1],
      );
    }));
});

describe("slicing and selecting", () => {
  it("narrow and select", () =>
    tidy(() => {
      const x = m23();
      assert.deepEqual(x.narrow(1, 1, 2).toArray(), [
        [1, 2],
        [4, 5],
      ]);
      assert.deepEqual(x.narrow(0, -1, 1).toArray(), [[3, 4, 5]]);
      assert.deepEqual(x.select(0, 1).toArray(), [3, 4, 5]);
      assert.deepEqual(x.select(1, -1).toArray(), [2, 5]);
      assert.throws(
        () => x.select(0, 2),
        /select\(\): index 2 out of range for tensor of size \[2, 3\] at dimension 0/,
      );
    }));

  it("slice takes start/end/step, negative and null bounds", () =>
    tidy(() => {
      const x = torch.arange(6); // 0..5
      assert.deepEqual(x.slice(0, 1, 4).toArray(), [1, 2, 3]);
      assert.deepEqual(x.slice(0, -2).toArray(), [4, 5]); // last two
      assert.deepEqual(x.slice(0, null, -1).toArray(), [0, 1, 2, 3, 4]); // all but the last
      assert.deepEqual(x.slice(0, null, null, 2).toArray(), [0, 2, 4]);
      assert.deepEqual(x.slice(0, -5, null, 2).toArray(), [1, 3, 5]);
      assert.deepEqual(x.slice(0, 4, 100).toArray(), [4, 5]); // clamped end
      assert.deepEqual(m23().slice(1, 1).toArray(), [
        [1, 2],
        [4, 5],
      ]);
      assert.throws(() => x.slice(0, 0, 3, 0), /slice step must be positive/);
    }));

  it("indexSelect picks rows or columns", () =>
    tidy(() => {
      const x = m23();
      assert.deepEqual(x.indexSelect(1, long([2, 0, 2])).toArray(), [
        [2, 0, 2],
        [5, 3, 5],
      ]);
      assert.deepEqual(x.indexSelect(0, long([1])).toArray(), [[3, 4, 5]]);
    }));

  it("indexCopy replaces rows, nonzero lists coordinates", () =>
    tidy(() => {
      const x = m23();
      const rows = torch.tensor([[9, 8, 7]]);
      assert.deepEqual(x.indexCopy(0, long([1]), rows).toArray(), [
        [0, 1, 2],
        [9, 8, 7],
      ]);
      assert.deepEqual(x.select(0, 1).toArray(), [3, 4, 5]); // out of place
      assert.deepEqual(long([0, 3, 0, 5]).nonzero().toArray(), [[1], [3]]);
      assert.deepEqual(m23().gt(3).nonzero().toArray(), [
        [1, 1],
        [1, 2],
      ]);
    }));

  it("gather: out[i][j] = x[i][index[i][j]] along dim 1", () =>
    tidy(() => {
      const x = m23();
      // row 0 picks cols 2, 0 -> 2, 0; row 1 picks cols 1, 1 -> 4, 4
      assert.deepEqual(
        x
          .gather(
            1,
            long([
              [2, 0],
              [1, 1],
            ]),
          )
          .toArray(),
        [
          [2, 0],
          [4, 4],
        ],
      );
      // along dim 0: out[i][j] = x[index[i][j]][j]
      assert.deepEqual(x.gather(0, long([[1, 0, 1]])).toArray(), [[3, 1, 5]]);
    }));

  it("scatter writes src (or a value) at index; scatterAdd accumulates", () =>
    tidy(() => {
      const base = torch.zeros([2, 3]);
      const idx = long([[2, 0]]);
      // out[0][idx[0][j]] = src[0][j]: out[0][2] = 7, out[0][0] = 8
      assert.deepEqual(base.scatter(1, idx, torch.tensor([[7, 8]])).toArray(), [
        [8, 0, 7],
        [0, 0, 0],
      ]);
      assert.deepEqual(base.scatter(1, idx, -1).toArray(), [
        [-1, 0, -1],
        [0, 0, 0],
      ]);
      // scatterAdd with a repeated index: out[0][1] = 1 + 2 + 3
      assert.deepEqual(base.scatterAdd(1, long([[1, 1, 1]]), torch.tensor([[1, 2, 3]])).toArray(), [
        [0, 6, 0],
        [0, 0, 0],
      ]);
      assert.deepEqual(values(base), [0, 0, 0, 0, 0, 0]); // out of place: base unchanged
    }));

  it("index with integer tensors, null for ':', and a boolean mask", () =>
    tidy(() => {
      const x = m23();
      assert.deepEqual(x.index([long([1, 0])]).toArray(), [
        [3, 4, 5],
        [0, 1, 2],
      ]);
      assert.deepEqual(x.index([null, long([2, 0])]).toArray(), [
        [2, 0],
        [5, 3],
      ]);
      // paired indices pick elements (0, 1) and (1, 2)
      assert.deepEqual(x.index([long([0, 1]), long([1, 2])]).toArray(), [1, 5]);
      // a boolean mask over the whole tensor flattens the selected elements
      const mask = x.gt(2.5); // [[F, F, F], [T, T, T]]
      assert.deepEqual(x.index([mask]).toArray(), [3, 4, 5]);
      // a boolean mask over rows
      assert.deepEqual(x.index([torch.tensor([false, true])]).toArray(), [[3, 4, 5]]);
    }));

  it("maskedSelect broadcasts the mask", () =>
    tidy(() => {
      const x = m23();
      assert.deepEqual(x.maskedSelect(torch.tensor([true, false, true])).toArray(), [0, 2, 3, 5]);
    }));

  it("tril/triu/diag/diagonal", () =>
    tidy(() => {
      const x = torch.arange(1, 10).reshape([3, 3]); // [[1,2,3],[4,5,6],[7,8,9]]
      assert.deepEqual(x.tril().toArray(), [
        [1, 0, 0],
        [4, 5, 0],
        [7, 8, 9],
      ]);
      assert.deepEqual(x.triu(1).toArray(), [
        [0, 2, 3],
        [0, 0, 6],
        [0, 0, 0],
      ]);
      assert.deepEqual(x.tril(-1).toArray(), [
        [0, 0, 0],
        [4, 0, 0],
        [7, 8, 0],
      ]);
      assert.deepEqual(x.diag().toArray(), [1, 5, 9]);
      assert.deepEqual(x.diag(1).toArray(), [2, 6]);
      assert.deepEqual(torch.tensor([1, 2]).diag().toArray(), [
        [1, 0],
        [0, 2],
      ]);
      assert.deepEqual(x.diagonal(-1).toArray(), [4, 8]);
      // batched diagonal over dims 1 and 2 of [2, 2, 2]: y[b][i][i]
      const y = torch.arange(8).reshape([2, 2, 2]);
      assert.deepEqual(y.diagonal(0, 1, 2).toArray(), [
        [0, 3],
        [4, 7],
      ]);
    }));

  it("flip and roll", () =>
    tidy(() => {
      const x = m23();
      assert.deepEqual(x.flip([1]).toArray(), [
        [2, 1, 0],
        [5, 4, 3],
      ]);
      assert.deepEqual(x.flip([0, 1]).toArray(), [
        [5, 4, 3],
        [2, 1, 0],
      ]);
      assert.deepEqual(torch.tensor([1, 2, 3, 4]).roll(1, 0).toArray(), [4, 1, 2, 3]);
      assert.deepEqual(x.roll(-1, 1).toArray(), [
        [1, 2, 0],
        [4, 5, 3],
      ]);
      assert.deepEqual(x.roll([1, 1], [0, 1]).toArray(), [
        [5, 3, 4],
        [2, 0, 1],
      ]);
    }));

  it("where picks from this tensor or the other (tensor or number)", () =>
    tidy(() => {
      const cond = torch.tensor([true, false, true]);
      const a = torch.tensor([1, 2, 3]);
      const b = torch.tensor([10, 20, 30]);
      assert.deepEqual(a.where(cond, b).toArray(), [1, 20, 3]);
      assert.deepEqual(a.where(cond, 0).toArray(), [1, 0, 3]);
      assert.deepEqual(torch.where(cond, a, b).toArray(), [1, 20, 3]);
      assert.deepEqual(torch.where(cond, 5, b).toArray(), [5, 20, 5]);
      assert.deepEqual(torch.where(cond, a, -1).toArray(), [1, -1, 3]);
      const s = torch.where(cond, 1.5, 0);
      assert.equal(s.dtype, "float32");
      assert.deepEqual(s.toArray(), [1.5, 0, 1.5]);
      // broadcasting: a column condition against a row
      assert.deepEqual(torch.where(torch.tensor([[true], [false]]), a, b).toArray(), [
        [1, 2, 3],
        [10, 20, 30],
      ]);
    }));
});

describe("joining and splitting", () => {
  it("cat along an existing dim; stack along a new one", () =>
    tidy(() => {
      const a = torch.tensor([[1, 2]]);
      const b = torch.tensor([[3, 4]]);
      assert.deepEqual(torch.cat([a, b]).toArray(), [
        [1, 2],
        [3, 4],
      ]);
      assert.deepEqual(torch.cat([a, b], 1).toArray(), [[1, 2, 3, 4]]);
      assert.deepEqual(torch.cat([a, b], -1).shape, [1, 4]);
      assert.deepEqual(torch.stack([a, b]).shape, [2, 1, 2]);
      assert.deepEqual(torch.stack([a.squeeze(), b.squeeze()], 1).toArray(), [
        [1, 3],
        [2, 4],
      ]);
      assert.throws(() => torch.cat([]), /cat: expected at least one tensor/);
      assert.throws(() => torch.stack([]), /stack: expected at least one tensor/);
      assert.throws(() => torch.stack([a, torch.ones([2])]), /stack expects each tensor to be equal size/);
      // mixed dtypes promote: int64 with float32 -> float32
      assert.equal(torch.cat([torch.arange(2), torch.tensor([0.5])]).dtype, "float32");
    }));

  it("split by size, by sizes; chunk; unbind", () =>
    tidy(() => {
      const x = torch.tensor([1, 2, 3, 4, 5]);
      assert.deepEqual(
        x.split(2).map((p) => p.toArray()),
        [[1, 2], [3, 4], [5]],
      );
      assert.deepEqual(
        x.split([1, 4]).map((p) => p.toArray()),
        [[1], [2, 3, 4, 5]],
      );
      assert.throws(() => x.split([1, 1]), /split_with_sizes expects split_sizes to sum exactly to 5/);
      assert.deepEqual(
        x.chunk(2).map((p) => p.toArray()),
        [
          [1, 2, 3],
          [4, 5],
        ],
      );
      assert.deepEqual(
        m23()
          .split(2, 1)
          .map((p) => p.toArray()),
        [
          [
            [0, 1],
            [3, 4],
          ],
          [[2], [5]],
        ],
      );
      assert.deepEqual(
        m23()
          .unbind(1)
          .map((p) => p.toArray()),
        [
          [0, 3],
          [1, 4],
          [2, 5],
        ],
      );
      assert.deepEqual(
        m23()
          .unbind()
          .map((p) => p.toArray()),
        [
          [0, 1, 2],
          [3, 4, 5],
        ],
      );
    }));

  it("broadcastTensors brings tensors to one shape", () =>
    tidy(() => {
      const [a, b] = torch.broadcastTensors([torch.tensor([[1], [2]]), torch.tensor([10, 20, 30])]);
      assert.deepEqual(a!.toArray(), [
        [1, 1, 1],
        [2, 2, 2],
      ]);
      assert.deepEqual(b!.toArray(), [
        [10, 20, 30],
        [10, 20, 30],
      ]);
    }));
});

describe("argument errors", () => {
  it("fractional dims and sizes name the op and the argument", () =>
    tidy(() => {
      const x = m23();
      assert.throws(() => x.transpose(0, 1.5), /aten::transpose\.int: argument 'dim1' expects an integer, got 1\.5/);
      assert.throws(() => x.narrow(0, 0.5, 1), /aten::narrow: argument 'start' expects an integer, got 0\.5/);
      assert.throws(() => x.reshape([2, 1.5]), /aten::reshape: argument 'shape' expects an integer, got 1\.5/);
      assert.throws(() => x.softmax(0.5), /aten::softmax\.int: argument 'dim' expects an integer, got 0\.5/);
      assert.throws(() => x.permute([0, NaN]), /aten::permute: argument 'dims' expects an integer, got nan/);
      assert.throws(() => torch.cat([x, x], 0.5), /aten::cat: argument 'dim' expects an integer/);
    }));

  it("out-of-range dims are catchable errors", () =>
    tidy(() => {
      const x = m23();
      assert.throws(() => x.sum(2), /Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)/);
      assert.throws(() => x.transpose(0, -3), /Dimension out of range/);
    }));

  it("a disposed tensor in any argument position is named", () =>
    tidy(() => {
      const w = torch.ones([3, 3]);
      w.dispose();
      assert.throws(
        () => torch.functional.linear(m23(), w),
        /linear: argument 'weight' expects a live Tensor, got one that has been disposed/,
      );
      assert.throws(
        () => m23().gather(1, w),
        /gather: argument 'index' expects a live Tensor, got one that has been disposed/,
      );
      assert.throws(
        () => torch.stack([m23(), w]),
        /stack: argument 'tensors' expects a live Tensor, got one that has been disposed/,
      );
    }));
});
