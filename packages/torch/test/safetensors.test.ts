// safetensors reading and writing: round trips for every dtype, byte-level golden files, validation errors,
// atomic saves, and a real checkpoint written by the Python reference (the BERT parity fixtures).
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/index.js";
import type { DType, Tensor } from "../src/index.js";
import {
  SafetensorsError,
  loadSafetensors,
  loadSafetensorsSync,
  parseSafetensors,
  readSafetensorsHeader,
  saveSafetensors,
  saveSafetensorsSync,
  serializeSafetensors,
} from "../src/io/safetensors.js";
import { handleCount } from "./util.js";

// ---- helpers ------------------------------------------------------------------------------------

/** A tensor's elements as raw bytes (bit-exact comparisons, NaN payloads and -0 included). */
function bytesOf(t: Tensor): number[] {
  const data = t.toTypedArray();
  return Array.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

function le(value: bigint, size: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(size * 8, value);
  for (let i = 0; i < size; i++) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

/** Little-endian bytes of integers / bit patterns, `size` bytes each. */
function leBytes(values: (number | bigint)[], size: number): Uint8Array {
  return new Uint8Array(values.flatMap((v) => le(BigInt(v), size)));
}

/** A file: 8-byte length, `header` (space-padded to a multiple of 8 unless pad is false), then `data`. */
function craft(header: string, data: Uint8Array | number = 0, pad = true): Uint8Array {
  let json = Buffer.from(header, "utf8");
  if (pad) json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const body = typeof data === "number" ? new Uint8Array(data) : data;
  return new Uint8Array([...le(BigInt(json.length), 8), ...json, ...body]);
}

function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stts-safetensors-"));
  try {
    return fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function withTempDirAsync<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stts-safetensors-"));
  try {
    return await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function disposeAll(tensors: Map<string, Tensor>): void {
  for (const t of tensors.values()) t.dispose();
}

/** Asserts that `fn` throws a SafetensorsError whose message matches `pattern` (and names `tensor`, if given). */
function assertRejects(fn: () => unknown, pattern: RegExp, tensor?: string): SafetensorsError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof SafetensorsError, `expected a SafetensorsError, got ${String(caught)}`);
  assert.match(caught.message, pattern);
  if (tensor !== undefined) {
    assert.equal(caught.tensor, tensor);
    assert.ok(caught.message.includes(`tensor ${JSON.stringify(tensor)}`), caught.message);
  }
  return caught;
}

const F32 = (name: string, shape: string, offsets: string): string =>
  `"${name}":{"dtype":"F32","shape":${shape},"data_offsets":${offsets}}`;

let baseline = 0;
beforeEach(() => {
  baseline = handleCount();
});
afterEach(() => {
  assert.equal(handleCount(), baseline, "live tensors after the test");
});

// ---- every dtype: bit-exact round trips ---------------------------------------------------------

/** Bit patterns for each dtype: extremes, -0, infinities, NaN with payloads, subnormals. */
const PATTERNS: Record<DType, { size: number; values: (number | bigint)[] }> = {
  // 1, -0, +inf, -inf, NaN with payload 1, smallest subnormal
  float32: { size: 4, values: [0x3f800000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00001, 0x00000001] },
  // 1, -0, NaN with payload 1, smallest subnormal, -inf, largest finite
  float64: {
    size: 8,
    values: [
      0x3ff0000000000000n,
      0x8000000000000000n,
      0x7ff8000000000001n,
      1n,
      0xfff0000000000000n,
      0x7fefffffffffffffn,
    ],
  },
  // 1, -0, +inf, NaN with payload, smallest subnormal, -65504
  float16: { size: 2, values: [0x3c00, 0x8000, 0x7c00, 0x7e01, 0x0001, 0xfbff] },
  // 1, -0, +inf, NaN with payload, smallest subnormal, lowest finite
  bfloat16: { size: 2, values: [0x3f80, 0x8000, 0x7f80, 0x7fc1, 0x0001, 0xff7f] },
  int64: { size: 8, values: [-(2n ** 63n), 2n ** 63n - 1n, -1n, 0n, 1n, 123456789012345678n] },
  int32: { size: 4, values: [-(2 ** 31), 2 ** 31 - 1, -1, 0, 1, 65536] },
  int16: { size: 2, values: [-32768, 32767, -1, 0, 1, 256] },
  int8: { size: 1, values: [-128, 127, -1, 0, 1, 2] },
  uint8: { size: 1, values: [0, 255, 128, 127, 1, 2] },
  bool: { size: 1, values: [1, 0, 0, 1, 1, 0] },
};

/** The safetensors name of each dtype (the header's "dtype" field). */
const FILE_DTYPE: Record<DType, string> = {
  float32: "F32",
  float64: "F64",
  float16: "F16",
  bfloat16: "BF16",
  int64: "I64",
  int32: "I32",
  int16: "I16",
  int8: "I8",
  uint8: "U8",
  bool: "BOOL",
};

describe("safetensors round trips", () => {
  it("keeps every dtype bit for bit, with 0-dim and zero-size shapes", () => {
    torch.scope(() => {
      const input = new Map<string, Tensor>();
      const expected = new Map<string, { dtype: DType; shape: number[]; bytes: number[] }>();
      for (const dtype of torch.DTYPES) {
        const { size, values } = PATTERNS[dtype];
        const all = leBytes(values, size);
        const cases: [string, number[], Uint8Array][] = [
          [`${dtype}.matrix`, dtype === "bfloat16" ? [2, 1, 3] : [2, 3], all],
          [`${dtype}.scalar`, [], all.subarray(0, size)],
          [`${dtype}.empty`, [0], all.subarray(0, 0)],
          [`${dtype}.empty2`, [2, 0, 3], all.subarray(0, 0)],
        ];
        for (const [name, shape, bytes] of cases) {
          input.set(name, torch.fromBytes(bytes, dtype, shape));
          expected.set(name, { dtype, shape, bytes: Array.from(bytes) });
        }
      }
      const file = serializeSafetensors(input);
      const { tensors, metadata } = parseSafetensors(file);
      assert.deepEqual(metadata, {});
      assert.equal(tensors.size, 40);
      for (const [name, want] of expected) {
        const got = tensors.get(name);
        assert.ok(got !== undefined, name);
        assert.equal(got.dtype, want.dtype, name);
        assert.deepEqual(got.shape, want.shape, name);
        assert.deepEqual(bytesOf(got), want.bytes, name);
        assert.equal(got.requiresGrad, false, name);
      }
    });
  });

  it("writes the dtype names and little-endian bytes of the format", () => {
    torch.scope(() => {
      for (const dtype of torch.DTYPES) {
        const { size, values } = PATTERNS[dtype];
        const bytes = leBytes(values.slice(0, 2), size);
        const file = serializeSafetensors({ x: torch.fromBytes(bytes, dtype, [2]) });
        const header = `{"x":{"dtype":"${FILE_DTYPE[dtype]}","shape":[2],"data_offsets":[0,${2 * size}]}}`;
        assert.deepEqual(Array.from(file), Array.from(craft(header, bytes)), dtype);
      }
    });
  });

  it("keeps __metadata__ (unicode, quotes, newlines, empty strings), and returns {} when absent", () => {
    torch.scope(() => {
      const metadata = { format: "pt", note: 'line1\nline2 "quoted" \\ ü 😀', empty: "", "": "empty key" };
      const file = serializeSafetensors({ w: torch.tensor([1, 2]) }, metadata);
      const parsed = parseSafetensors(file);
      assert.deepEqual(parsed.metadata, metadata);
      assert.deepEqual(parseSafetensors(serializeSafetensors({ w: torch.tensor([1]) })).metadata, {});
      // "__proto__" is an ordinary key, not a prototype
      const proto = parseSafetensors(craft('{"__metadata__":{"__proto__":"x"}}')).metadata;
      assert.deepEqual(Object.entries(proto), [["__proto__", "x"]]);
    });
  });

  it("saves non-contiguous tensors and tensors that require grad by value", () => {
    torch.scope(() => {
      const x = torch.arange(0, 12, 1, { dtype: "float32" }).reshape([3, 4]);
      const w = torch.tensor([1.5, -2], { requiresGrad: true });
      const file = serializeSafetensors({
        transposed: x.t(),
        strided: x.slice(1, 0, 4, 2),
        leaf: w,
        nonLeaf: w.mul(2),
      });
      const { tensors } = parseSafetensors(file);
      // x = [[0,1,2,3],[4,5,6,7],[8,9,10,11]]: x^T row by row, and columns 0 and 2 of x
      assert.deepEqual(tensors.get("transposed")?.toArray(), [
        [0, 4, 8],
        [1, 5, 9],
        [2, 6, 10],
        [3, 7, 11],
      ]);
      assert.deepEqual(tensors.get("strided")?.toArray(), [
        [0, 2],
        [4, 6],
        [8, 10],
      ]);
      assert.deepEqual(tensors.get("leaf")?.toArray(), [1.5, -2]);
      assert.deepEqual(tensors.get("nonLeaf")?.toArray(), [3, -4]);
      assert.equal(tensors.get("leaf")?.requiresGrad, false);
    });
  });

  it("accepts a Map, and creates the tensors in the caller's scope", () => {
    const outside = torch.scope(() => {
      const input = new Map([["a", torch.tensor([1, 2, 3])]]);
      const { tensors } = parseSafetensors(serializeSafetensors(input));
      const a = tensors.get("a");
      assert.ok(a !== undefined);
      return torch.keep(a); // everything else made in this scope is freed
    });
    assert.deepEqual(outside.toArray(), [1, 2, 3]);
    outside.dispose();
  });

  it("round-trips through files, sync and async", async () => {
    await withTempDirAsync(async (dir) => {
      const file = path.join(dir, "model.safetensors");
      const w = torch.tensor(
        [
          [1, 2],
          [3, 4],
        ],
        { dtype: "float64" },
      );
      const ids = torch.tensor([7, -8], { dtype: "int64" });
      try {
        saveSafetensorsSync(file, { w, ids }, { format: "pt" });
        const sync = loadSafetensorsSync(file);
        assert.deepEqual(sync.metadata, { format: "pt" });
        assert.deepEqual([...sync.tensors.keys()], ["ids", "w"]); // file order: I64 before F64
        assert.deepEqual(sync.tensors.get("w")?.toArray(), [
          [1, 2],
          [3, 4],
        ]);
        disposeAll(sync.tensors);

        const other = path.join(dir, "other.safetensors");
        await saveSafetensors(other, new Map([["w", w]]), { a: "b" });
        assert.deepEqual(fs.readFileSync(other), Buffer.from(serializeSafetensors({ w }, { a: "b" })));
        const loaded = await loadSafetensors(other);
        assert.deepEqual(loaded.metadata, { a: "b" });
        assert.deepEqual(bytesOf(loaded.tensors.get("w")!), bytesOf(w));
        disposeAll(loaded.tensors);

        const header = await readSafetensorsHeader(file);
        assert.deepEqual(header.metadata, { format: "pt" });
        assert.deepEqual(
          header.tensors.map((t) => [t.name, t.dtype, t.safetensorsDtype, t.shape, t.dataOffsets]),
          [
            ["ids", "int64", "I64", [2], [0, 16]],
            ["w", "float64", "F64", [2, 2], [16, 48]],
          ],
        );
        // header '{"__metadata__":{"format":"pt"},"ids":{...},"w":{...}}' is 146 characters, padded to 152
        assert.equal(header.headerLength, 152);
        assert.equal(header.dataStart, 160);
        assert.equal(header.byteLength, 208);
      } finally {
        w.dispose();
        ids.dispose();
      }
    });
  });
});

// ---- golden bytes -------------------------------------------------------------------------------

describe("safetensors golden files", () => {
  it("writes and reads the reference crate's own test file byte for byte", () => {
    // safetensors' Rust test_serialization: "attn.0" = F32 [1, 2, 3] holding 0..5. The header
    // {"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}} is exactly 64 bytes: no padding.
    const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    assert.equal(header.length, 64);
    // float32 little-endian: 0 = 00000000, 1 = 3f800000, 2 = 40000000, 3 = 40400000, 4 = 40800000, 5 = 40a00000
    const data = [0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64];
    const expected = [64, 0, 0, 0, 0, 0, 0, 0, ...Buffer.from(header), ...data];
    torch.scope(() => {
      const t = torch.tensor([0, 1, 2, 3, 4, 5]).reshape([1, 2, 3]);
      assert.deepEqual(Array.from(serializeSafetensors({ "attn.0": t })), expected);
      const back = parseSafetensors(new Uint8Array(expected)).tensors.get("attn.0");
      assert.deepEqual(back?.shape, [1, 2, 3]);
      assert.deepEqual(back?.toArray(), [
        [
          [0, 1, 2],
          [3, 4, 5],
        ],
      ]);
    });
  });

  it("orders tensors by dtype alignment then name, pads the header with spaces, writes metadata first", () => {
    // Tensors given as b (I8), a (F64), c (BOOL): the reference writer orders them a, b, c (F64 > I8 > BOOL).
    const header =
      '{"__metadata__":{"format":"pt"},' +
      '"a":{"dtype":"F64","shape":[],"data_offsets":[0,8]},' +
      '"b":{"dtype":"I8","shape":[2],"data_offsets":[8,10]},' +
      '"c":{"dtype":"BOOL","shape":[1],"data_offsets":[10,11]}}';
    assert.equal(header.length, 193); // padded with 7 spaces to N = 200
    const expected = [
      ...[200, 0, 0, 0, 0, 0, 0, 0],
      ...Buffer.from(header + "       "),
      ...[0, 0, 0, 0, 0, 0, 0xf0, 0x3f], // 1.0 as float64: 3ff0000000000000
      ...[1, 0xff], // int8 1, -1
      1, // true
    ];
    assert.equal(expected.length, 219); // 8 + 200 + 11, as Python's safetensors.torch.save writes it
    torch.scope(() => {
      const tensors = {
        b: torch.tensor([1, -1], { dtype: "int8" }),
        a: torch.tensor(1, { dtype: "float64" }),
        c: torch.tensor([true]),
      };
      assert.deepEqual(Array.from(serializeSafetensors(tensors, { format: "pt" })), expected);
      const back = parseSafetensors(new Uint8Array(expected));
      assert.deepEqual([...back.tensors.keys()], ["a", "b", "c"]);
      assert.equal(back.tensors.get("a")?.item(), 1);
      assert.deepEqual(back.tensors.get("a")?.shape, []);
      assert.deepEqual(back.tensors.get("b")?.toArray(), [1, -1]);
      assert.deepEqual(back.tensors.get("c")?.toArray(), [true]);
    });
  });

  it("writes an empty file as the reference does", () => {
    // Rust test_empty: {} padded to 8 bytes, and {"__metadata__":{"framework":"pt"}} padded to 40.
    assert.deepEqual(Array.from(serializeSafetensors({})), [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    const withMeta = serializeSafetensors(new Map(), { framework: "pt" });
    assert.deepEqual(Array.from(withMeta.subarray(0, 8)), [40, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(Buffer.from(withMeta.subarray(8)).toString(), '{"__metadata__":{"framework":"pt"}}     ');
    assert.deepEqual(parseSafetensors(withMeta).metadata, { framework: "pt" });
    assert.equal(parseSafetensors(withMeta).tensors.size, 0);
  });

  it("accepts what the reference reader accepts", () => {
    torch.scope(() => {
      const one = leBytes([0x3f800000], 4); // 1.0f
      // no padding, leading and trailing JSON whitespace
      assert.equal(
        parseSafetensors(craft(`{${F32("a", "[1]", "[0,4]")}}`, one, false))
          .tensors.get("a")
          ?.item(),
        1,
      );
      assert.equal(parseSafetensors(craft(` \n{${F32("a", "[1]", "[0,4]")}}\r\n\t`, one)).tensors.size, 1);
      // "__metadata__": null, unknown keys in an entry (ignored), escaped names
      const extra = `{"__metadata__":null,"caf\\u00e9":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":[{}]}}`;
      const parsed = parseSafetensors(craft(extra, one));
      assert.deepEqual(parsed.metadata, {});
      assert.deepEqual([...parsed.tensors.keys()], ["café"]);
      // entries in any order; zero-size tensors sharing an offset
      const unordered = `{${F32("late", "[1]", "[4,8]")},${F32("z", "[0]", "[0,0]")},${F32("early", "[1]", "[0,4]")},${F32("y", "[0]", "[8,8]")}}`;
      const got = parseSafetensors(craft(unordered, leBytes([0x3f800000, 0x40000000], 4)));
      assert.deepEqual([...got.tensors.keys()], ["z", "early", "late", "y"]); // by offset, then name
      assert.equal(got.tensors.get("late")?.item(), 2);
    });
  });
});

// ---- validation ---------------------------------------------------------------------------------

describe("safetensors validation", () => {
  const four = new Uint8Array(4);

  it("rejects a file shorter than 8 bytes", () => {
    assertRejects(() => parseSafetensors(new Uint8Array([1, 2, 3])), /3 bytes long, shorter than the 8-byte header/);
  });

  it("rejects a header length larger than the file, or absurdly large", () => {
    assertRejects(
      () => parseSafetensors(new Uint8Array([100, 0, 0, 0, 0, 0, 0, 0, 123, 125])),
      /header length 100 is larger than the 2 bytes/,
    );
    // 100_000_001 = 0x05f5e101: one over the reference's limit of 100_000_000
    const huge = new Uint8Array([0x01, 0xe1, 0xf5, 0x05, 0, 0, 0, 0, 123, 125]);
    assertRejects(() => parseSafetensors(huge), /header length 100000001 is absurdly large/);
    const max = new Uint8Array([255, 255, 255, 255, 255, 255, 255, 255, 123, 125]);
    assertRejects(() => parseSafetensors(max), /header length 18446744073709551615 is absurdly large/);
  });

  it("rejects a header that is not UTF-8, not JSON, or not an object", () => {
    const bad = craft('{"a":1}');
    bad[9] = 0xff; // inside the JSON text
    assertRejects(() => parseSafetensors(bad), /header is not valid UTF-8/);
    assertRejects(
      () => parseSafetensors(craft(`{${F32("a", "[1]", "[0,4]")}`, four)),
      /not valid JSON: unexpected end of header/,
    );
    assertRejects(
      () => parseSafetensors(craft(`{${F32("a", "[1]", "[0,4]")}}x`, four)),
      /unexpected character "x" .* after the end/,
    );
    assertRejects(() => parseSafetensors(craft(`{${F32("a", "[1]", "[0,4]")}}\u0000`, four, false)), /not valid JSON/);
    assertRejects(() => parseSafetensors(craft("\ufeff{}")), /not valid JSON: unexpected character "\ufeff"/);
    assertRejects(() => parseSafetensors(craft('{"a\\ud800":1}')), /lone high surrogate/);
    assertRejects(() => parseSafetensors(craft("[]")), /header is not a JSON object \(it is the array \[\]\)/);
    assertRejects(() => parseSafetensors(craft("")), /unexpected end of header/);
    assertRejects(() => parseSafetensors(craft("[".repeat(100))), /nested deeper than 64 levels/);
  });

  it("rejects an entry that is not an object or misses a field", () => {
    assertRejects(() => parseSafetensors(craft('{"w":5}')), /header entry must be an object .*got the number 5/, "w");
    const noShape = '{"w":{"dtype":"F32","data_offsets":[0,4]}}';
    assertRejects(() => parseSafetensors(craft(noShape, four)), /"shape" must be an array .*got missing/, "w");
  });

  it("rejects unknown and unsupported dtypes", () => {
    const f7 = '{"w":{"dtype":"F7","shape":[1],"data_offsets":[0,4]}}';
    assertRejects(
      () => parseSafetensors(craft(f7, four)),
      /dtype "F7" is not a safetensors dtype \(supported: F64, F32/,
      "w",
    );
    const u16 = '{"w":{"dtype":"U16","shape":[2],"data_offsets":[0,4]}}';
    assertRejects(() => parseSafetensors(craft(u16, four)), /dtype "U16" is not supported by stts/, "w");
    const lower = '{"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}';
    assertRejects(() => parseSafetensors(craft(lower, four)), /dtype "f32" is not a safetensors dtype/, "w");
    const notString = '{"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}';
    assertRejects(() => parseSafetensors(craft(notString, four)), /"dtype" must be a string, got the number 4/, "w");
  });

  it("rejects a shape that is not an array of non-negative integers", () => {
    for (const shape of ["[-1]", "[1.5]", "[1.0]", "[1e0]", '["1"]', "3", "[[1]]", "null"]) {
      assertRejects(
        () => parseSafetensors(craft(`{${F32("w", shape, "[0,4]")}}`, four)),
        /"shape" must be an array of non-negative integers/,
        "w",
      );
    }
    const huge = `{${F32("w", "[9007199254740992,0]", "[0,0]")}}`;
    assertRejects(() => parseSafetensors(craft(huge)), /has a dimension above 2\^53 - 1/, "w");
  });

  it("rejects data_offsets that are not two integers with begin <= end", () => {
    for (const offsets of ["[0,4,4]", "[0]", "[0,4.0]", "[-4,0]", '["0","4"]', "null"]) {
      assertRejects(
        () => parseSafetensors(craft(`{${F32("w", "[1]", offsets)}}`, four)),
        /"data_offsets" must be two non-negative integers \[begin, end\]/,
        "w",
      );
    }
    assertRejects(
      () => parseSafetensors(craft(`{${F32("w", "[0]", "[4,0]")}}`, four)),
      /\[4, 0\] has begin > end/,
      "w",
    );
  });

  it("rejects a byte range whose length is not numel * itemsize", () => {
    const file = craft(`{${F32("w", "[2,3]", "[0,20]")}}`, 20);
    assertRejects(
      () => parseSafetensors(file),
      /\[0, 20\] hold 20 bytes, but shape \[2, 3\] of dtype F32 needs 6 x 4 = 24 bytes/,
      "w",
    );
  });

  it("rejects offsets past the end of the data buffer", () => {
    const file = craft(`{${F32("a", "[1]", "[0,4]")},${F32("w", "[2]", "[4,12]")}}`, 8);
    assertRejects(
      () => parseSafetensors(file),
      /\[4, 12\] go past the end of the data buffer, which holds 8 bytes/,
      "w",
    );
    const far = craft(`{${F32("w", "[1]", "[18446744073709551616,18446744073709551620]")}}`, 4);
    assertRejects(() => parseSafetensors(far), /go past the end of the data buffer/, "w");
  });

  it("rejects overlapping ranges, naming both tensors", () => {
    const file = craft(`{${F32("a", "[2]", "[0,8]")},${F32("b", "[2]", "[4,12]")}}`, 12);
    assertRejects(() => parseSafetensors(file), /\[4, 12\] overlap those of tensor "a" \[0, 8\]/, "b");
    const same = craft(`{${F32("a", "[1]", "[0,4]")},${F32("b", "[1]", "[0,4]")}}`, 4);
    assertRejects(() => parseSafetensors(same), /\[0, 4\] overlap those of tensor "a"/, "b");
  });

  it("rejects gaps and trailing bytes that belong to no tensor", () => {
    const gap = craft(`{${F32("a", "[1]", "[0,4]")},${F32("b", "[1]", "[8,12]")}}`, 12);
    assertRejects(() => parseSafetensors(gap), /bytes \[4, 8\) of the data buffer belong to no tensor/, "b");
    const start = craft(`{${F32("a", "[1]", "[4,8]")}}`, 8);
    assertRejects(() => parseSafetensors(start), /bytes \[0, 4\) of the data buffer belong to no tensor/, "a");
    const trailing = craft(`{${F32("a", "[1]", "[0,4]")}}`, 6);
    assertRejects(
      () => parseSafetensors(trailing),
      /trailing data: bytes \[4, 6\) of the data buffer after the last tensor "a"/,
    );
    assertRejects(() => parseSafetensors(craft("{}", 1)), /trailing data: bytes \[0, 1\)/);
  });

  it("rejects a __metadata__ that is not a string -> string map", () => {
    assertRejects(
      () => parseSafetensors(craft('{"__metadata__":{"format":1}}')),
      /"__metadata__" must map strings to strings, but key "format" holds the number 1/,
    );
    assertRejects(() => parseSafetensors(craft('{"__metadata__":{"a":{"b":"c"}}}')), /key "a" holds an object/);
    assertRejects(
      () => parseSafetensors(craft('{"__metadata__":["pt"]}')),
      /"__metadata__" must be an object mapping strings to strings, got the array \["pt"\]/,
    );
  });

  it("rejects duplicate keys", () => {
    const twice = `{${F32("w", "[1]", "[0,4]")},${F32("w", "[1]", "[0,4]")}}`;
    assertRejects(
      () => parseSafetensors(craft(twice, four)),
      /appears twice in the header \(duplicate JSON key\)/,
      "w",
    );
    assertRejects(
      () => parseSafetensors(craft('{"__metadata__":{},"__metadata__":{}}')),
      /header lists "__metadata__" twice/,
    );
    const inner = '{"w":{"dtype":"F32","dtype":"F64","shape":[1],"data_offsets":[0,4]}}';
    assertRejects(() => parseSafetensors(craft(inner, four)), /header entry "w" has the key "dtype" twice/, "w");
    assertRejects(
      () => parseSafetensors(craft('{"__metadata__":{"k":"a","k":"b"}}')),
      /"__metadata__" has the key "k" twice/,
    );
  });

  it("names the file in errors when reading from a path, sync, async and header-only", async () => {
    await withTempDirAsync(async (dir) => {
      const file = path.join(dir, "broken.safetensors");
      fs.writeFileSync(file, craft(`{${F32("encoder.weight", "[3]", "[0,8]")}}`, 8));
      const pattern =
        /safetensors file .*broken\.safetensors: tensor "encoder\.weight": "data_offsets" \[0, 8\] hold 8 bytes/;
      const error = assertRejects(() => loadSafetensorsSync(file), pattern, "encoder.weight");
      assert.equal(error.source, file);
      await assert.rejects(loadSafetensors(file), pattern);
      await assert.rejects(readSafetensorsHeader(file), pattern);
      const tiny = path.join(dir, "tiny.safetensors");
      fs.writeFileSync(tiny, new Uint8Array([1, 2]));
      await assert.rejects(loadSafetensors(tiny), /safetensors file .*tiny\.safetensors: the file is 2 bytes long/);
    });
  });

  it("never loads pickles: refuses .bin/.pt paths and zip or pickle content, with advice to convert", async () => {
    for (const name of ["pytorch_model.bin", "model.pt", "weights.PTH", "x.ckpt"]) {
      assertRejects(
        () => loadSafetensorsSync(name),
        /refusing a '\.\w+' path.*never loads pickles.*Convert it to safetensors/,
      );
      await assert.rejects(loadSafetensors(name), /never loads pickles/);
      await assert.rejects(readSafetensorsHeader(name), /never loads pickles/);
    }
    await withTempDirAsync(async (dir) => {
      // torch.save writes a zip archive: "PK\x03\x04" + a local file header
      const zip = path.join(dir, "renamed.safetensors");
      fs.writeFileSync(zip, new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
      assertRejects(() => loadSafetensorsSync(zip), /renamed\.safetensors looks like a PyTorch pickle checkpoint/);
      await assert.rejects(loadSafetensors(zip), /looks like a PyTorch pickle checkpoint/);
    });
    // a raw pickle stream (protocol 4) given as bytes
    const pickle = new Uint8Array([0x80, 0x04, 0x95, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x7d, 0x94]);
    assertRejects(() => parseSafetensors(pickle, "blob"), /blob looks like a PyTorch pickle checkpoint/);
  });

  it("rejects what it cannot write, naming the tensor", () => {
    torch.scope(() => {
      const t = torch.tensor([1]);
      assertRejects(() => serializeSafetensors({ __metadata__: t }), /"__metadata__" is reserved/);
      assertRejects(
        () => serializeSafetensors({ w: t }, { format: 1 } as unknown as Record<string, string>),
        /key "format" holds number/,
      );
      assertRejects(
        () => serializeSafetensors({ w: [1, 2] } as unknown as Record<string, Tensor>),
        /expected a Tensor, got object/,
        "w",
      );
      assertRejects(() => serializeSafetensors({ "bad\ud800": t }), /lone UTF-16 surrogate/, "bad\ud800");
      const gone = torch.tensor([2]);
      gone.dispose();
      assertRejects(() => serializeSafetensors({ gone }), /is disposed/, "gone");
    });
  });
});

// ---- atomic saves -------------------------------------------------------------------------------

describe("safetensors saves", () => {
  it("replaces an existing file and leaves no temporary file behind", () => {
    withTempDir((dir) => {
      const file = path.join(dir, "model.safetensors");
      fs.writeFileSync(file, "old contents");
      torch.scope(() => saveSafetensorsSync(file, { w: torch.tensor([1, 2]) }));
      assert.deepEqual(fs.readdirSync(dir), ["model.safetensors"]);
      const values = torch.scope(() => loadSafetensorsSync(file).tensors.get("w")?.toArray());
      assert.deepEqual(values, [1, 2]);
    });
  });

  it("leaves the old file untouched and no temporary file when a save fails", async () => {
    await withTempDirAsync(async (dir) => {
      const file = path.join(dir, "model.safetensors");
      fs.writeFileSync(file, "old contents");
      const gone = torch.tensor([1]);
      gone.dispose();
      assert.throws(() => saveSafetensorsSync(file, { gone }), /tensor "gone": is disposed/);
      await assert.rejects(saveSafetensors(file, { gone }), /tensor "gone": is disposed/);
      // the rename fails: the target is a directory
      const folder = path.join(dir, "folder.safetensors");
      fs.mkdirSync(folder);
      const t = torch.tensor([1]);
      try {
        assert.throws(() => saveSafetensorsSync(folder, { t }));
        await assert.rejects(saveSafetensors(folder, { t }));
      } finally {
        t.dispose();
      }
      assert.deepEqual(fs.readdirSync(dir).sort(), ["folder.safetensors", "model.safetensors"]);
      assert.equal(fs.readFileSync(file, "utf8"), "old contents");
      assert.throws(() => saveSafetensorsSync(path.join(dir, "model.bin"), {}), /refusing to write .* '\.bin'/);
    });
  });

  it("copies the values when called, so the caller may dispose the tensors before the write finishes", async () => {
    await withTempDirAsync(async (dir) => {
      const file = path.join(dir, "snapshot.safetensors");
      const t = torch.tensor([1, 2, 3]);
      const pending = saveSafetensors(file, { t });
      t.dispose();
      await pending;
      const { tensors } = await loadSafetensors(file);
      assert.deepEqual(tensors.get("t")?.toArray(), [1, 2, 3]);
      disposeAll(tensors);
    });
  });
});

// ---- a checkpoint written by the Python reference ----------------------------------------------

/** The repository root: the first folder above this file holding package.json and packages/. */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!(fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(path.join(dir, "packages")))) {
    const parent = path.dirname(dir);
    assert.notEqual(parent, dir, "repository root not found");
    dir = parent;
  }
  return dir;
}

const PARITY_DIR = process.env.STTS_BERT_PARITY_DIR ?? path.resolve(repoRoot(), "../shared/parity/bert");

/** The first float32 elements' bit patterns. */
function firstBits(t: Tensor, n: number): string[] {
  return Array.from(new Uint32Array(t.toTypedArray().buffer), (b) => b.toString(16)).slice(0, n);
}

function float64Sum(t: Tensor): number {
  return Array.from(t.toTypedArray(), Number).reduce((a, b) => a + b, 0);
}

describe("safetensors written by Python", () => {
  // Expected numbers: read with Python safetensors 0.8.0 (safetensors.numpy.load_file / safe_open) from the
  // BERT parity fixtures; sums are numpy float64 sums of the float32 values.
  it("loads the BertModel checkpoint of the BERT parity fixtures", async () => {
    const file = path.join(PARITY_DIR, "bert-tiny-h32-l2", "model.safetensors");
    const header = await readSafetensorsHeader(file);
    assert.equal(header.byteLength, 238912);
    assert.equal(header.headerLength, 4024);
    assert.deepEqual(header.metadata, { format: "pt" });
    assert.equal(header.tensors.length, 39);
    assert.deepEqual(header.tensors[0], {
      name: "embeddings.LayerNorm.bias",
      dtype: "float32",
      safetensorsDtype: "F32",
      shape: [32],
      dataOffsets: [0, 128],
    });
    assert.deepEqual(header.tensors.at(-1)?.dataOffsets, [230784, 234880]);

    const { tensors, metadata } = await loadSafetensors(file);
    try {
      assert.deepEqual(metadata, { format: "pt" });
      assert.equal(tensors.size, 39);
      const words = tensors.get("embeddings.word_embeddings.weight")!;
      assert.equal(words.dtype, "float32");
      assert.deepEqual(words.shape, [1200, 32]);
      assert.deepEqual(firstBits(words, 2), ["3f93c84c", "bcdaaf1a"]); // 1.1545500755310059, -0.026694823056459427
      assert.ok(Math.abs(float64Sum(words) - 87.33518254215778) < 1e-9);
      const dense = tensors.get("encoder.layer.1.output.dense.weight")!;
      assert.deepEqual(dense.shape, [32, 64]);
      assert.deepEqual(firstBits(dense, 2), ["be938fa6", "3e4b8edb"]);
      assert.ok(Math.abs(float64Sum(dense) - -1.3905407400307013) < 1e-9);
      assert.deepEqual(tensors.get("pooler.dense.weight")?.shape, [32, 32]);
      assert.deepEqual(tensors.get("embeddings.LayerNorm.weight")?.shape, [32]);
      assert.ok(Math.abs(float64Sum(tensors.get("embeddings.LayerNorm.weight")!) - 33.79931390285492) < 1e-9);

      // Written back, the file is byte-identical to the one Python wrote.
      const rewritten = serializeSafetensors(tensors, metadata);
      assert.deepEqual(Buffer.from(rewritten).equals(fs.readFileSync(file)), true);
    } finally {
      disposeAll(tensors);
    }
  });

  it("loads the BertForMaskedLM checkpoint and the TSDAE decoder extras", () => {
    torch.scope(() => {
      const mlm = loadSafetensorsSync(path.join(PARITY_DIR, "bert-tiny-h48-l3-mlm", "model.safetensors"));
      assert.equal(mlm.tensors.size, 58);
      const bias = mlm.tensors.get("cls.predictions.bias")!;
      assert.deepEqual(bias.shape, [1200]);
      assert.deepEqual(firstBits(bias, 2), ["3d213e22", "3d3d0391"]);
      assert.ok(Math.abs(float64Sum(bias) - 0.8344194250530563) < 1e-9);
      assert.deepEqual(mlm.tensors.get("bert.embeddings.word_embeddings.weight")?.shape, [1200, 48]);
      assert.equal(mlm.tensors.has("bert.pooler.dense.weight"), false);

      const extras = loadSafetensorsSync(path.join(PARITY_DIR, "tsdae", "decoder_extras.safetensors"));
      assert.equal(extras.tensors.size, 25);
      assert.deepEqual(extras.metadata, { format: "pt" });
      const extraBias = extras.tensors.get("cls.predictions.bias")!;
      assert.deepEqual(firstBits(extraBias, 2), ["bcd77a94", "3c5552fc"]);
      assert.ok(Math.abs(float64Sum(extraBias) - 3.1080306849908084) < 1e-9);
    });
  });
});
