// Data types: names, libtorch codes, element sizes, TypedArray kinds and the errors for unknown names.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { dtypeCode, dtypeFromCode, dtypeOfTypedArray, typedArrayOf, type DType } from "../src/dtype.js";
import { tidy } from "./util.js";

describe("dtype names and codes", () => {
  it("lists the ten supported dtypes", () => {
    assert.deepEqual([...torch.DTYPES].sort(), [
      "bfloat16",
      "bool",
      "float16",
      "float32",
      "float64",
      "int16",
      "int32",
      "int64",
      "int8",
      "uint8",
    ]);
  });

  it("maps names to libtorch ScalarType codes and back", () => {
    // c10::ScalarType: Byte 0, Char 1, Short 2, Int 3, Long 4, Half 5, Float 6, Double 7, Bool 11, BFloat16 15
    const expected: Record<DType, number> = {
      uint8: 0,
      int8: 1,
      int16: 2,
      int32: 3,
      int64: 4,
      float16: 5,
      float32: 6,
      float64: 7,
      bool: 11,
      bfloat16: 15,
    };
    for (const dtype of torch.DTYPES) {
      assert.equal(dtypeCode(dtype), expected[dtype], dtype);
      assert.equal(dtypeFromCode(dtypeCode(dtype)), dtype, dtype);
    }
  });

  it("round-trips every dtype through a native tensor", () =>
    tidy(() => {
      for (const dtype of torch.DTYPES) {
        const t = torch.zeros([3], { dtype });
        assert.equal(t.dtype, dtype);
        // the bytes read back are numel * ITEM_SIZE
        assert.equal(t.toTypedArray().byteLength, 3 * torch.ITEM_SIZE[dtype], dtype);
      }
    }));

  it("knows which dtypes are floating point", () => {
    const floats = torch.DTYPES.filter((d) => torch.isFloatingPoint(d)).sort();
    assert.deepEqual(floats, ["bfloat16", "float16", "float32", "float64"]);
  });

  it("gives the TypedArray each dtype reads back into", () => {
    const buffer = new ArrayBuffer(8);
    assert.ok(typedArrayOf("float32", buffer) instanceof Float32Array);
    assert.ok(typedArrayOf("float64", buffer) instanceof Float64Array);
    assert.ok(typedArrayOf("int64", buffer) instanceof BigInt64Array);
    assert.ok(typedArrayOf("int32", buffer) instanceof Int32Array);
    assert.ok(typedArrayOf("int16", buffer) instanceof Int16Array);
    assert.ok(typedArrayOf("int8", buffer) instanceof Int8Array);
    assert.ok(typedArrayOf("uint8", buffer) instanceof Uint8Array);
    assert.ok(typedArrayOf("bool", buffer) instanceof Uint8Array);
    assert.ok(typedArrayOf("float16", buffer) instanceof Uint16Array);
    assert.ok(typedArrayOf("bfloat16", buffer) instanceof Uint16Array);
  });

  it("infers the dtype of each TypedArray kind", () => {
    assert.equal(dtypeOfTypedArray(new Float32Array(1)), "float32");
    assert.equal(dtypeOfTypedArray(new Float64Array(1)), "float64");
    assert.equal(dtypeOfTypedArray(new Int32Array(1)), "int32");
    assert.equal(dtypeOfTypedArray(new BigInt64Array(1)), "int64");
    assert.equal(dtypeOfTypedArray(new Int16Array(1)), "int16");
    assert.equal(dtypeOfTypedArray(new Int8Array(1)), "int8");
    assert.equal(dtypeOfTypedArray(new Uint8Array(1)), "uint8");
    assert.throws(() => dtypeOfTypedArray(new Uint32Array(1)), /cannot infer a dtype from Uint32Array/);
  });
});

describe("dtype errors", () => {
  it("rejects unknown dtype names with the list of valid ones", () => {
    assert.throws(
      () => dtypeCode("float" as DType),
      (e: unknown) => e instanceof TypeError && /dtype: unknown dtype 'float', expected one of uint8/.test(e.message),
    );
    // names inherited from Object.prototype are not dtypes either
    assert.throws(() => dtypeCode("constructor" as DType), /unknown dtype 'constructor'/);
    assert.throws(() => dtypeCode("toString" as DType), /unknown dtype 'toString'/);
  });

  it("rejects unknown ScalarType codes", () => {
    assert.throws(() => dtypeFromCode(99), /unsupported libtorch ScalarType code 99/);
  });

  it("rejects unknown dtype names in creation functions and conversions", () =>
    tidy(() => {
      assert.throws(() => torch.tensor([1], { dtype: "float" as DType }), /unknown dtype 'float'/);
      assert.throws(() => torch.zeros([1], { dtype: "double" as DType }), /unknown dtype 'double'/);
      assert.throws(
        () => torch.fromTypedArray(new Float32Array(1), { dtype: "half" as DType }),
        /unknown dtype 'half'/,
      );
      assert.throws(() => torch.fromBytes(new Uint8Array(4), "f32" as DType, [1]), /unknown dtype 'f32'/);
      assert.throws(() => torch.ones([1]).sum(undefined, false, { dtype: "long" as DType }), /unknown dtype 'long'/);
      assert.throws(() => torch.ones([1]).to("float"), /to\('float'\): not a dtype .* nor a usable device/);
    }));
});
