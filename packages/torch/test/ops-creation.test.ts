// Creating tensors and reading them back: nested arrays, TypedArrays, bytes, fills, ranges, random draws.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { assertClose, handleCount, tidy, values } from "./util.js";

describe("tensor() from nested arrays", () => {
  it("makes float32 from numbers by default, with the nested shape", () =>
    tidy(() => {
      const t = torch.tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      assert.equal(t.dtype, "float32");
      assert.deepEqual(t.shape, [2, 3]);
      assert.equal(t.ndim, 2);
      assert.equal(t.numel, 6);
      assert.equal(t.size(-1), 3);
      assert.deepEqual(t.toArray(), [
        [1, 2, 3],
        [4, 5, 6],
      ]);
    }));

  it("makes a 0-dim tensor from a number and an empty tensor from []", () =>
    tidy(() => {
      const s = torch.tensor(2.5);
      assert.deepEqual(s.shape, []);
      assert.equal(s.toArray(), 2.5);
      assert.equal(s.item(), 2.5);
      const e = torch.tensor([]);
      assert.deepEqual(e.shape, [0]);
      assert.deepEqual(e.toArray(), []);
      const e2 = torch.tensor([[], []]);
      assert.deepEqual(e2.shape, [2, 0]);
      assert.deepEqual(e2.toArray(), [[], []]);
    }));

  it("makes bool from booleans", () =>
    tidy(() => {
      const t = torch.tensor([
        [true, false],
        [false, true],
      ]);
      assert.equal(t.dtype, "bool");
      assert.deepEqual(t.toArray(), [
        [true, false],
        [false, true],
      ]);
    }));

  it("honours the dtype option (numbers are rounded toward zero for integer dtypes)", () =>
    tidy(() => {
      const i = torch.tensor([1.7, -2.7, 3], { dtype: "int64" });
      assert.equal(i.dtype, "int64");
      assert.deepEqual(i.toArray(), [1, -2, 3]); // C++ float->int conversion truncates
      const d = torch.tensor([0.1], { dtype: "float64" });
      assert.equal((d.toArray() as number[])[0], 0.1); // float64 keeps the JS double exactly
      const f = torch.tensor([0.1]);
      assert.equal((f.toArray() as number[])[0], Math.fround(0.1)); // float32 rounds
      const b = torch.tensor([0, 2, -1], { dtype: "bool" });
      assert.deepEqual(b.toArray(), [false, true, true]);
    }));

  it("sets requiresGrad when asked", () =>
    tidy(() => {
      const t = torch.tensor([1, 2], { requiresGrad: true });
      assert.equal(t.requiresGrad, true);
      assert.equal(t.isLeaf, true);
      assert.equal(torch.tensor([1, 2]).requiresGrad, false);
    }));

  it("rejects ragged input, naming the path of the offending element", () => {
    assert.throws(
      () => torch.tensor([[1, 2], [3]]),
      (e: unknown) => e instanceof TypeError && /data\[1\] has length 1, expected an array of length 2/.test(e.message),
    );
    assert.throws(
      () =>
        torch.tensor([
          [1, 2],
          [3, [4]],
        ] as never),
      /element data\[1\]\[1\] is \[4\], expected a number/,
    );
    assert.throws(() => torch.tensor([[1], 2] as never), /data\[1\] has no array, expected an array of length 1/);
    assert.throws(() => torch.tensor([1, true] as never), /element data\[1\] is true, expected a number/);
    assert.throws(() => torch.tensor([true, 0] as never), /element data\[1\] is 0, expected a boolean/);
  });
});

describe("tensor() from TypedArrays and bytes", () => {
  it("keeps the dtype of each TypedArray kind", () =>
    tidy(() => {
      const cases: [ArrayBufferView, string, number[]][] = [
        [new Float32Array([1.5, -2]), "float32", [1.5, -2]],
        [new Float64Array([0.1, 2]), "float64", [0.1, 2]],
        [new Int32Array([-7, 8]), "int32", [-7, 8]],
        [new BigInt64Array([-9n, 10n]), "int64", [-9, 10]],
        [new Int16Array([-300, 300]), "int16", [-300, 300]],
        [new Int8Array([-128, 127]), "int8", [-128, 127]],
        [new Uint8Array([0, 255]), "uint8", [0, 255]],
      ];
      for (const [data, dtype, expected] of cases) {
        const t = torch.tensor(data);
        assert.equal(t.dtype, dtype);
        assert.deepEqual(t.toArray(), expected, dtype);
        // toTypedArray gives back the same kind of array
        assert.equal(t.toTypedArray().constructor, data.constructor, dtype);
      }
    }));

  it("applies shape and dtype options, and reads a Uint8Array as bool when asked", () =>
    tidy(() => {
      const t = torch.fromTypedArray(new Int32Array([1, 2, 3, 4, 5, 6]), { shape: [3, 2], dtype: "float64" });
      assert.equal(t.dtype, "float64");
      assert.deepEqual(t.toArray(), [
        [1, 2],
        [3, 4],
        [5, 6],
      ]);
      const b = torch.fromTypedArray(new Uint8Array([0, 1, 0]), { dtype: "bool" });
      assert.equal(b.dtype, "bool");
      assert.deepEqual(b.toArray(), [false, true, false]);
    }));

  it("copies only the viewed part of a subarray", () =>
    tidy(() => {
      const big = new Float32Array([9, 1, 2, 3, 9]);
      const t = torch.fromTypedArray(big.subarray(1, 4));
      big[2] = 100; // the tensor holds a copy
      assert.deepEqual(t.toArray(), [1, 2, 3]);
    }));

  it("reads raw float16/bfloat16 bits from a Uint16Array (the inverse of toTypedArray)", () =>
    tidy(() => {
      // float16: 1.0 = 0x3C00 = 15360, -2.0 = 0xC000 = 49152
      const h = torch.fromTypedArray(new Uint16Array([15360, 49152]), { dtype: "float16" });
      assert.equal(h.dtype, "float16");
      assert.deepEqual(h.toArray(), [1, -2]);
      assert.deepEqual(values(h), [15360, 49152]);
      // bfloat16: 1.0 = 0x3F80 = 16256, -2.5 = 0xC020 = 49184
      const b = torch.fromTypedArray(new Uint16Array([16256, 49184]), { dtype: "bfloat16" });
      assert.deepEqual(b.toArray(), [1, -2.5]);
    }));

  it("rejects a shape that does not match the data or is not integral", () => {
    assert.throws(() => torch.fromTypedArray(new Float32Array(4), { shape: [3] }), /needs 12 bytes, got 16/);
    assert.throws(
      () => torch.fromTypedArray(new Float32Array(2), { shape: [2, 1.5] }),
      /fromTypedArray: shape must be an array of non-negative integers, got \[2,1.5\]/,
    );
    assert.throws(() => torch.fromTypedArray(new Uint32Array(2)), /cannot infer a dtype from Uint32Array/);
  });

  it("fromBytes reads little-endian bytes of any dtype, honouring the view offset", () =>
    tidy(() => {
      // float16 1.0 = bytes 00 3C, -2.0 = bytes 00 C0
      const h = torch.fromBytes(new Uint8Array([0x00, 0x3c, 0x00, 0xc0]), "float16", [2]);
      assert.deepEqual(h.toArray(), [1, -2]);
      // float32 1.0 = 0x3F800000 -> bytes 00 00 80 3F; skip a leading byte through subarray
      const f = torch.fromBytes(new Uint8Array([0xff, 0, 0, 0x80, 0x3f]).subarray(1), "float32", [1, 1]);
      assert.deepEqual(f.toArray(), [[1]]);
      // int64 258 = 0x0102 -> bytes 02 01 00 ...
      const l = torch.fromBytes(new Uint8Array([2, 1, 0, 0, 0, 0, 0, 0]), "int64", []);
      assert.equal(l.item(), 258);
      assert.throws(() => torch.fromBytes(new Uint8Array(3), "float32", [1]), /needs 4 bytes, got 3/);
      assert.throws(() => torch.fromBytes(new Uint8Array(4), "float32", [-1]), /non-negative integers/);
    }));
});

describe("reading data out for every dtype", () => {
  it("toArray/toTypedArray/item agree for integer and bool dtypes", () =>
    tidy(() => {
      for (const dtype of ["int8", "int16", "int32", "uint8"] as const) {
        const t = torch.tensor([1, 2, 100], { dtype });
        assert.deepEqual(t.toArray(), [1, 2, 100], dtype);
        assert.deepEqual(values(t), [1, 2, 100], dtype);
        assert.equal(t.select(0, 2).item(), 100, dtype);
      }
      const l = torch.tensor([-3, 2 ** 40], { dtype: "int64" });
      const raw = l.toTypedArray();
      assert.ok(raw instanceof BigInt64Array);
      assert.deepEqual(Array.from(raw), [-3n, 2n ** 40n]);
      assert.deepEqual(l.toArray(), [-3, 2 ** 40]);
      assert.equal(l.select(0, 1).item(), 2 ** 40);
      const b = torch.tensor([true, false]);
      assert.deepEqual(values(b), [1, 0]);
      assert.equal(b.select(0, 0).item(), 1); // item() of a bool gives 1 / 0
      assert.equal(b.select(0, 1).item(), 0);
    }));

  it("toArray/item of float types round to the dtype's precision", () =>
    tidy(() => {
      // float16 has a 10-bit mantissa: 1/3 -> 1365 / 4096; 65519 rounds to the largest half, 65504
      const h = torch.tensor([1 / 3, 65519], { dtype: "float16" });
      assert.deepEqual(h.toArray(), [1365 / 4096, 65504]);
      assert.equal(h.select(0, 0).item(), 0.333251953125);
      // float16 0.1 = 0x2E66 = 11878
      assert.deepEqual(values(torch.tensor([0.1], { dtype: "float16" })), [11878]);
      // bfloat16 has a 7-bit mantissa: 1/3 -> 171 / 512; 1000.7 -> 1000 (spacing 4 above 512)
      const b = torch.tensor([1 / 3, 1000.7], { dtype: "bfloat16" });
      assert.deepEqual(b.toArray(), [171 / 512, 1000]);
      assert.equal(b.select(0, 0).item(), 171 / 512);
      const f = torch.tensor([1 / 3], { dtype: "float32" });
      assert.equal(f.item(), Math.fround(1 / 3));
      const d = torch.tensor([1 / 3], { dtype: "float64" });
      assert.equal(d.item(), 1 / 3);
    }));

  it("item() rejects a tensor with more than one element", () =>
    tidy(() => {
      assert.throws(() => torch.tensor([1, 2]).item(), /a Tensor with 2 elements cannot be converted to Scalar/);
    }));
});

describe("filled tensors and ranges", () => {
  it("zeros/ones/full/empty give the shape and dtype asked for", () =>
    tidy(() => {
      const z = torch.zeros([2, 3]);
      assert.equal(z.dtype, "float32");
      assert.deepEqual(values(z), [0, 0, 0, 0, 0, 0]);
      const o = torch.ones([2], { dtype: "int32" });
      assert.equal(o.dtype, "int32");
      assert.deepEqual(o.toArray(), [1, 1]);
      // full defaults to float32 even for an integer fill value (Python would infer int64)
      const f = torch.full([2, 1], 3);
      assert.equal(f.dtype, "float32");
      assert.deepEqual(f.toArray(), [[3], [3]]);
      assert.equal(torch.full([1], 3, { dtype: undefined }).dtype, "float32");
      assert.deepEqual(torch.full([2], 7, { dtype: "int64" }).toArray(), [7, 7]);
      const e = torch.empty([4, 0]);
      assert.deepEqual(e.shape, [4, 0]);
      assert.equal(e.dtype, "float32");
      const s = torch.scalarTensor(2);
      assert.deepEqual(s.shape, []);
      assert.equal(s.dtype, "float32");
      assert.equal(torch.scalarTensor(2, { dtype: "int64" }).dtype, "int64");
    }));

  it("eye makes square and rectangular identities", () =>
    tidy(() => {
      assert.deepEqual(torch.eye(2).toArray(), [
        [1, 0],
        [0, 1],
      ]);
      assert.deepEqual(torch.eye(2, 3).toArray(), [
        [1, 0, 0],
        [0, 1, 0],
      ]);
    }));

  it("arange gives int64 for integer arguments and float32 otherwise", () =>
    tidy(() => {
      const a = torch.arange(5);
      assert.equal(a.dtype, "int64");
      assert.deepEqual(a.toArray(), [0, 1, 2, 3, 4]);
      assert.deepEqual(torch.arange(2, 8, 3).toArray(), [2, 5]); // 2, 5 (8 excluded)
      assert.deepEqual(torch.arange(3, 0, -1).toArray(), [3, 2, 1]);
      const f = torch.arange(0, 1, 0.25);
      assert.equal(f.dtype, "float32");
      assert.deepEqual(f.toArray(), [0, 0.25, 0.5, 0.75]);
      const d = torch.arange(1, 4, 1, { dtype: "float64" });
      assert.equal(d.dtype, "float64");
      assert.deepEqual(d.toArray(), [1, 2, 3]);
    }));

  it("linspace includes both ends", () =>
    tidy(() => {
      const l = torch.linspace(0, 1, 5);
      assert.equal(l.dtype, "float32");
      assert.deepEqual(l.toArray(), [0, 0.25, 0.5, 0.75, 1]);
      assert.deepEqual(torch.linspace(-1, 1, 3, { dtype: "float64" }).toArray(), [-1, 0, 1]);
    }));

  it("requiresGrad option on factories", () =>
    tidy(() => {
      assert.equal(torch.zeros([2], { requiresGrad: true }).requiresGrad, true);
      assert.equal(torch.ones([2], { requiresGrad: true }).requiresGrad, true);
      assert.equal(torch.full([2], 1, { requiresGrad: true }).requiresGrad, true);
      assert.equal(torch.randn([2], { requiresGrad: true }).requiresGrad, true);
      assert.equal(torch.zeros([2]).requiresGrad, false);
      assert.throws(
        () => torch.zeros([2], { dtype: "int64", requiresGrad: true }),
        /Only Tensors of floating point and complex dtype can require gradients/,
      );
    }));

  it("frees the new tensor when requiresGrad cannot be set, even outside a scope", () => {
    const before = handleCount();
    assert.throws(() => torch.ones([2], { dtype: "int32", requiresGrad: true }), /floating point/);
    assert.throws(() => torch.tensor([1], { dtype: "int64", requiresGrad: true }), /floating point/);
    assert.equal(handleCount(), before);
  });

  it("*Like functions copy shape and dtype unless overridden", () =>
    tidy(() => {
      const like = torch.tensor([[1, 2, 3]], { dtype: "float64" });
      const z = torch.zerosLike(like);
      assert.deepEqual([z.shape, z.dtype], [[1, 3], "float64"]);
      assert.deepEqual(values(z), [0, 0, 0]);
      const o = torch.onesLike(like, { dtype: "int32" });
      assert.deepEqual([o.shape, o.dtype], [[1, 3], "int32"]);
      assert.deepEqual(values(o), [1, 1, 1]);
      const f = torch.fullLike(like, 0.5);
      assert.deepEqual(values(f), [0.5, 0.5, 0.5]);
      const e = torch.emptyLike(like);
      assert.deepEqual([e.shape, e.dtype], [[1, 3], "float64"]);
      const rn = torch.randnLike(like);
      assert.deepEqual([rn.shape, rn.dtype], [[1, 3], "float64"]);
      const r = torch.randLike(like, { requiresGrad: true });
      assert.equal(r.requiresGrad, true);
      assert.ok(values(r).every((v) => v >= 0 && v < 1));
    }));
});

describe("random draws", () => {
  it("randn/rand/randint/randperm match Python torch under the same seed", () =>
    tidy(() => {
      // python3 -c "import torch; torch.manual_seed(0); print(torch.randn(5).tolist())"  (torch 2.13)
      torch.manualSeed(0);
      assertClose(
        values(torch.randn([5])),
        [1.5409960746765137, -0.293428897857666, -2.1787893772125244, 0.5684312582015991, -1.0845223665237427],
        0,
        0,
      );
      // the draw after that: torch.randn(2, dtype=torch.float64).tolist()
      assertClose(values(torch.randn([2], { dtype: "float64" })), [-1.3985953953708767, 0.4033468476292993], 1e-15);
      // 16 or more normals take libtorch's vectorised path: torch.manual_seed(0); torch.randn(20)[15:]
      torch.manualSeed(0);
      assertClose(
        values(torch.randn([20])).slice(15),
        [-0.843676745891571, 0.9318265914916992, 1.2590092420578003, 2.0049805641174316, 0.05373690277338028],
        0,
        0,
      );
      // torch.manual_seed(0); torch.rand(3)
      torch.manualSeed(0);
      assertClose(values(torch.rand([3])), [0.49625658988952637, 0.7682217955589294, 0.08847743272781372], 0, 0);
      // torch.manual_seed(42); torch.randint(0, 10, (6,))
      torch.manualSeed(42);
      const ri = torch.randint(0, 10, [6]);
      assert.equal(ri.dtype, "int64");
      assert.deepEqual(ri.toArray(), [2, 7, 6, 4, 6, 5]);
      // torch.manual_seed(42); torch.randperm(6)
      torch.manualSeed(42);
      const rp = torch.randperm(6);
      assert.equal(rp.dtype, "int64");
      assert.deepEqual(rp.toArray(), [0, 3, 2, 4, 1, 5]);
      assert.equal(torch.initialSeed(), 42);
    }));

  it("the same seed gives the same values", () =>
    tidy(() => {
      torch.manualSeed(123);
      const a = values(torch.randn([4, 4]));
      const b = values(torch.rand([3]));
      torch.manualSeed(123);
      assert.deepEqual(values(torch.randn([4, 4])), a);
      assert.deepEqual(values(torch.rand([3])), b);
      const c = values(torch.randn([4, 4]));
      assert.notDeepEqual(c, a); // the stream moves on
    }));

  it("randint respects [low, high) and dtype", () =>
    tidy(() => {
      const r = torch.randint(-2, 3, [200], { dtype: "int32" });
      assert.equal(r.dtype, "int32");
      const v = values(r);
      assert.ok(v.every((x) => x >= -2 && x < 3 && Number.isInteger(x)));
      assert.equal(new Set(v).size, 5); // 200 draws hit all of -2..2
    }));

  it("getRngState/setRngState replay the same draws", () =>
    tidy(() => {
      torch.manualSeed(7);
      const state = torch.getRngState();
      assert.equal(state.dtype, "uint8");
      const first = values(torch.randn([6]));
      const second = values(torch.rand([2]));
      torch.setRngState(state);
      assert.deepEqual(values(torch.randn([6])), first);
      assert.deepEqual(values(torch.rand([2])), second);
      assert.throws(() => torch.setRngState(torch.zeros([3])), /setRngState: state must be a uint8 tensor/);
    }));

  it("forkRng leaves the outer stream untouched", () =>
    tidy(() => {
      torch.manualSeed(3);
      const expected = values(torch.randn([3]));
      torch.manualSeed(3);
      const inner = torch.forkRng(() => values(torch.randn([100])));
      assert.equal(inner.length, 100);
      assert.deepEqual(values(torch.randn([3])), expected);
      // also restored when the body throws
      torch.manualSeed(3);
      assert.throws(() =>
        torch.forkRng(() => {
          torch.randn([5]);
          throw new Error("boom");
        }),
      );
      assert.deepEqual(values(torch.randn([3])), expected);
    }));

  it("manualSeed rejects negative and fractional seeds", () => {
    assert.throws(() => torch.manualSeed(-1), /seed must be a non-negative integer/);
    assert.throws(() => torch.manualSeed(1.5), /seed must be a non-negative integer/);
  });
});

describe("argument errors at the TypeScript boundary", () => {
  it("a fractional size or dim names the op and argument", () =>
    tidy(() => {
      assert.throws(
        () => torch.zeros([2, 1.5]),
        (e: unknown) => e instanceof TypeError && /zeros: argument 'size' expects an integer/.test(e.message),
      );
      assert.throws(() => torch.eye(2.5), /eye\.m: argument 'n' expects an integer/);
      assert.throws(() => torch.ones([3]).sum(1.5), /sum\.dim_IntList: argument 'dim' expects an integer, got 1\.5/);
      assert.throws(() => torch.ones([3]).size(0.5), /size: argument 'dim' expects an integer, got 0\.5/);
      assert.throws(() => torch.ones([3]).size(1), /size\(1\): tensor has 1 dimensions/);
    }));

  it("a disposed tensor is reported as disposed", () =>
    tidy(() => {
      const x = torch.ones([2]);
      x.dispose();
      x.dispose(); // idempotent
      assert.equal(x.isDisposed, true);
      assert.equal(x.toString(), "Tensor(disposed)");
      assert.throws(() => x.add(1), /has been disposed/);
      assert.throws(
        () => torch.ones([2]).add(x),
        /add\.Tensor: argument 'other' expects a live Tensor, got one that has been disposed/,
      );
      assert.throws(() => x.shape, /has been disposed/);
      assert.throws(() => torch.cat([torch.ones([1]), x]), /has been disposed/);
    }));

  it("wrong argument types name what was expected", () =>
    tidy(() => {
      const x = torch.ones([2, 2]);
      assert.throws(() => x.transpose("0" as never, 1), /transpose\.int: argument 'dim0' expects an integer/);
      assert.throws(() => x.add({} as never), /add\.Tensor: argument 'other' expects a Tensor/);
      assert.throws(() => x.sum(0, "yes" as never), /argument 'keepdim' expects a boolean/);
    }));
});
