// Reading and writing the safetensors format (https://github.com/huggingface/safetensors):
//   8 bytes: little-endian u64 N, the header length
//   N bytes: UTF-8 JSON {"__metadata__": {string: string}, "<name>": {"dtype", "shape", "data_offsets"}, ...},
//            padded with trailing spaces to a multiple of 8 by the reference writer
//   the data buffer: raw little-endian, C-order tensor bytes; data_offsets are [begin, end) within it.
// The reader validates like the reference reader (safetensors' Rust crate) and a little more (duplicate JSON keys
// are errors here); the writer produces the same bytes as the reference writer. Pickle checkpoints are never read.
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { endianness } from "node:os";
import { ITEM_SIZE, type DType } from "../dtype.js";
import { Tensor } from "../tensor.js";
import { fromBytes } from "../ops/creation.js";

/** The dtype names a safetensors header uses for the engine's dtypes. */
export type SafetensorsDType = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

/** Tensors to save: a Map or a plain object from tensor name to Tensor. */
export type SafetensorsTensors = Map<string, Tensor> | Record<string, Tensor>;

/** One tensor's entry in a safetensors header. */
export interface SafetensorsTensorInfo {
  name: string;
  /** The engine dtype ("float32", ...). */
  dtype: DType;
  /** The name the file uses ("F32", ...). */
  safetensorsDtype: SafetensorsDType;
  shape: number[];
  /** [begin, end) byte offsets relative to the start of the data buffer. */
  dataOffsets: [number, number];
}

/** What `readSafetensorsHeader` returns: the validated header of a file, without any tensor data. */
export interface SafetensorsHeader {
  /** Every tensor, in the order of its bytes in the file. */
  tensors: SafetensorsTensorInfo[];
  /** The `__metadata__` map ({} when the file has none). */
  metadata: Record<string, string>;
  /** N, the byte length of the JSON header (padding included). */
  headerLength: number;
  /** Where the data buffer starts in the file: 8 + N. */
  dataStart: number;
  /** The whole file's length in bytes. */
  byteLength: number;
}

/** What the loaders return. */
export interface SafetensorsContents {
  /** Tensor name -> tensor, in the order of the tensors' bytes in the file. */
  tensors: Map<string, Tensor>;
  /** The `__metadata__` map ({} when the file has none). */
  metadata: Record<string, string>;
}

/**
 * The error every safetensors reader and writer throws for a malformed file or an argument it cannot write.
 * `source` is the file path (or the `source` given to `parseSafetensors`), `tensor` the tensor concerned; both
 * are also in the message.
 *
 * @example
 * try {
 *   loadSafetensorsSync("model.safetensors");
 * } catch (error) {
 *   if (error instanceof SafetensorsError) console.error(error.tensor, error.message);
 * }
 *
 * @param message what is wrong
 * @param details `source` (file path, default none) and `tensor` (tensor name, default none)
 */
export class SafetensorsError extends Error {
  readonly source: string | undefined;
  readonly tensor: string | undefined;

  constructor(message: string, details: { source?: string; tensor?: string } = {}) {
    super(message);
    this.name = "SafetensorsError";
    this.source = details.source;
    this.tensor = details.tensor;
  }
}

// ---- dtypes -------------------------------------------------------------------------------------

const TO_DTYPE: Record<SafetensorsDType, DType> = {
  F64: "float64",
  F32: "float32",
  F16: "float16",
  BF16: "bfloat16",
  I64: "int64",
  I32: "int32",
  I16: "int16",
  I8: "int8",
  U8: "uint8",
  BOOL: "bool",
};

const FROM_DTYPE: Record<DType, SafetensorsDType> = {
  float64: "F64",
  float32: "F32",
  float16: "F16",
  bfloat16: "BF16",
  int64: "I64",
  int32: "I32",
  int16: "I16",
  int8: "I8",
  uint8: "U8",
  bool: "BOOL",
};

/**
 * The rank of each dtype in the reference's `Dtype` enum, which is declared in increasing alignment order
 * (BOOL, U8, I8, I16, F16, BF16, I32, F32, F64, I64 for ours). The reference writer sorts tensors by this rank,
 * descending, then by name, so that every tensor's data is aligned to its item size.
 */
const WRITE_RANK: Record<SafetensorsDType, number> = {
  BOOL: 0,
  U8: 1,
  I8: 2,
  I16: 3,
  F16: 4,
  BF16: 5,
  I32: 6,
  F32: 7,
  F64: 8,
  I64: 9,
};

/** Dtypes the reference knows but the engine has no dtype for (named in errors as "not supported"). */
const REFERENCE_ONLY_DTYPES = new Set([
  "F4",
  "F6_E2M3",
  "F6_E3M2",
  "F8_E5M2",
  "F8_E4M3",
  "F8_E8M0",
  "F8_E4M3FNUZ",
  "F8_E5M2FNUZ",
  "U16",
  "U32",
  "U64",
  "C64",
]);

function isSafetensorsDType(name: string): name is SafetensorsDType {
  return Object.prototype.hasOwnProperty.call(TO_DTYPE, name);
}

// ---- limits and small helpers -------------------------------------------------------------------

/** The reference's limit on N (100 MB); a larger header length is a corrupt or foreign file. */
const MAX_HEADER_LENGTH = 100_000_000;
/** Nesting deeper than this cannot be a safetensors header (which needs 3 levels). */
const MAX_JSON_DEPTH = 64;
/** File extensions of pickle checkpoints, which are never loaded (unpickling can run arbitrary code). */
const PICKLE_EXTENSIONS = new Set([".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle"]);
const METADATA_KEY = "__metadata__";

type Fail = (message: string, tensor?: string) => never;

function failer(source: string | undefined): Fail {
  const where = source === undefined ? "safetensors data" : `safetensors file ${source}`;
  return (message, tensor) => {
    const prefix = tensor === undefined ? where : `${where}: tensor ${JSON.stringify(tensor)}`;
    throw new SafetensorsError(`${prefix}: ${message}`, { source, tensor });
  };
}

function assertLittleEndianHost(): void {
  if (endianness() !== "LE") {
    throw new SafetensorsError(
      "safetensors: this host is big-endian; the safetensors reader/writer needs little-endian",
    );
  }
}

function pickleAdvice(source: string): string {
  return (
    `${source} looks like a PyTorch pickle checkpoint (torch.save / pytorch_model.bin). stts never loads pickles: ` +
    `unpickling can run arbitrary code. Convert it to safetensors in Python, e.g. ` +
    `\`from safetensors.torch import save_file; save_file(torch.load(path, weights_only=True), "model.safetensors")\`` +
    ` (or save_pretrained(..., safe_serialization=True) for a Hugging Face model)`
  );
}

function rejectPicklePath(file: string): void {
  const extension = path.extname(file).toLowerCase();
  if (PICKLE_EXTENSIONS.has(extension)) {
    throw new SafetensorsError(`safetensors file ${file}: refusing a '${extension}' path. ${pickleAdvice(file)}`, {
      source: file,
    });
  }
}

/** Whether the first bytes are a zip archive (torch.save's format) or a pickle stream, and not a JSON header. */
function looksLikePickle(first: Uint8Array): boolean {
  if (first.length > 8 && first[8] === 0x7b) return false; // '{': a plausible safetensors header
  const zip = first[0] === 0x50 && first[1] === 0x4b && first[2] === 0x03 && first[3] === 0x04;
  const pickle = first[0] === 0x80 && first[1] !== undefined && first[1] >= 2 && first[1] <= 5;
  return zip || pickle;
}

/** Compares two strings by their UTF-8 bytes, as Rust's String ordering does. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function formatShape(shape: readonly (number | bigint)[]): string {
  return `[${shape.join(", ")}]`;
}

// ---- a strict JSON parser that keeps integer literals exact and reports duplicate keys ---------------

/** A parsed JSON value: objects are Maps (key order kept), integer literals bigints, other numbers numbers. */
type JsonValue = null | boolean | number | bigint | string | JsonValue[] | Map<string, JsonValue>;

const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

class HeaderJsonParser {
  readonly #text: string;
  readonly #fail: Fail;
  #pos = 0;

  constructor(text: string, fail: Fail) {
    this.#text = text;
    this.#fail = fail;
  }

  parse(): JsonValue {
    this.#skipWhitespace();
    const value = this.#value(0, []);
    this.#skipWhitespace();
    if (this.#pos < this.#text.length) this.#unexpected("after the end of the JSON value");
    return value;
  }

  #unexpected(context: string): never {
    const found =
      this.#pos >= this.#text.length ? "end of header" : `character ${JSON.stringify(this.#text[this.#pos])}`;
    return this.#fail(`header is not valid JSON: unexpected ${found} at position ${this.#pos} ${context}`);
  }

  #skipWhitespace(): void {
    const text = this.#text;
    while (this.#pos < text.length) {
      const c = text.charCodeAt(this.#pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      this.#pos++;
    }
  }

  #value(depth: number, keys: string[]): JsonValue {
    if (depth > MAX_JSON_DEPTH) this.#fail(`header is not valid JSON: nested deeper than ${MAX_JSON_DEPTH} levels`);
    const c = this.#text[this.#pos];
    if (c === "{") return this.#object(depth, keys);
    if (c === "[") return this.#array(depth, keys);
    if (c === '"') return this.#string();
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.#number();
    for (const [literal, value] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (this.#text.startsWith(literal, this.#pos)) {
        this.#pos += literal.length;
        return value;
      }
    }
    return this.#unexpected("where a value was expected");
  }

  #object(depth: number, keys: string[]): Map<string, JsonValue> {
    const out = new Map<string, JsonValue>();
    this.#pos++; // {
    this.#skipWhitespace();
    if (this.#text[this.#pos] === "}") {
      this.#pos++;
      return out;
    }
    for (;;) {
      if (this.#text[this.#pos] !== '"') this.#unexpected("where an object key was expected");
      const key = this.#string();
      this.#skipWhitespace();
      if (this.#text[this.#pos] !== ":") this.#unexpected(`after the key ${JSON.stringify(key)}`);
      this.#pos++;
      this.#skipWhitespace();
      const value = this.#value(depth + 1, [...keys, key]);
      if (out.has(key)) this.#duplicate(key, keys);
      out.set(key, value);
      this.#skipWhitespace();
      const next = this.#text[this.#pos];
      this.#pos++;
      if (next === "}") return out;
      if (next !== ",") {
        this.#pos--;
        this.#unexpected("where ',' or '}' was expected");
      }
      this.#skipWhitespace();
    }
  }

  #duplicate(key: string, keys: string[]): never {
    if (keys.length === 0) {
      if (key === METADATA_KEY) return this.#fail(`header lists "${METADATA_KEY}" twice`);
      return this.#fail("appears twice in the header (duplicate JSON key)", key);
    }
    const inside = keys.slice(1).map((k) => ` > ${JSON.stringify(k)}`);
    const where = `${JSON.stringify(keys[0])}${inside.join("")}`;
    if (keys[0] === METADATA_KEY) return this.#fail(`header key ${where} has the key ${JSON.stringify(key)} twice`);
    return this.#fail(`its header entry ${where} has the key ${JSON.stringify(key)} twice`, keys[0]);
  }

  #array(depth: number, keys: string[]): JsonValue[] {
    const out: JsonValue[] = [];
    this.#pos++; // [
    this.#skipWhitespace();
    if (this.#text[this.#pos] === "]") {
      this.#pos++;
      return out;
    }
    for (;;) {
      out.push(this.#value(depth + 1, keys));
      this.#skipWhitespace();
      const next = this.#text[this.#pos];
      this.#pos++;
      if (next === "]") return out;
      if (next !== ",") {
        this.#pos--;
        this.#unexpected("where ',' or ']' was expected");
      }
      this.#skipWhitespace();
    }
  }

  #number(): number | bigint {
    NUMBER.lastIndex = this.#pos;
    const match = NUMBER.exec(this.#text);
    if (match === null) return this.#unexpected("in a number");
    this.#pos += match[0].length;
    return match[1] === undefined && match[2] === undefined ? BigInt(match[0]) : Number(match[0]);
  }

  #string(): string {
    const text = this.#text;
    this.#pos++; // opening quote
    let out = "";
    let runStart = this.#pos;
    for (;;) {
      if (this.#pos >= text.length) return this.#unexpected("inside a string");
      const c = text.charCodeAt(this.#pos);
      if (c === 0x22) {
        out += text.slice(runStart, this.#pos);
        this.#pos++;
        return out;
      }
      if (c < 0x20) return this.#unexpected("(control characters must be escaped inside strings)");
      if (c !== 0x5c) {
        this.#pos++;
        continue;
      }
      out += text.slice(runStart, this.#pos);
      out += this.#escape();
      runStart = this.#pos;
    }
  }

  /** Reads one escape sequence starting at the backslash. */
  #escape(): string {
    const text = this.#text;
    const kind = text[this.#pos + 1];
    const simple: Record<string, string> = {
      '"': '"',
      "\\": "\\",
      "/": "/",
      b: "\b",
      f: "\f",
      n: "\n",
      r: "\r",
      t: "\t",
    };
    if (kind !== undefined && kind !== "u" && Object.prototype.hasOwnProperty.call(simple, kind)) {
      this.#pos += 2;
      return simple[kind]!;
    }
    if (kind !== "u") {
      this.#pos++;
      return this.#unexpected("after a backslash in a string");
    }
    const first = this.#hex4(this.#pos + 2);
    this.#pos += 6;
    if (first >= 0xdc00 && first <= 0xdfff)
      this.#fail("header is not valid JSON: lone low surrogate escape in a string");
    if (first < 0xd800 || first > 0xdbff) return String.fromCharCode(first);
    const second = text.startsWith("\\u", this.#pos) ? this.#hex4(this.#pos + 2) : -1;
    if (second < 0xdc00 || second > 0xdfff)
      this.#fail("header is not valid JSON: lone high surrogate escape in a string");
    this.#pos += 6;
    return String.fromCharCode(first, second);
  }

  #hex4(at: number): number {
    const digits = this.#text.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) {
      this.#pos = at;
      return this.#unexpected("in a \\u escape (4 hex digits expected)");
    }
    return parseInt(digits, 16);
  }
}

// ---- header validation --------------------------------------------------------------------------

function describeJson(value: JsonValue | undefined): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (value instanceof Map) return "an object";
  if (Array.isArray(value)) return `the array ${jsonText(value)}`;
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  return `${typeof value === "boolean" ? "the boolean" : "the number"} ${String(value)}`;
}

function jsonText(value: JsonValue): string {
  if (value instanceof Map) return "{...}";
  if (Array.isArray(value)) {
    const items = value.slice(0, 8).map(jsonText);
    return `[${items.join(", ")}${value.length > 8 ? ", ..." : ""}]`;
  }
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/**
 * Reads N from the first bytes of a file (at least 8 of them when the file has them) and checks it against the
 * file's length. Returns N.
 */
function checkHeaderLength(first: Uint8Array, byteLength: number, source: string | undefined, fail: Fail): number {
  if (looksLikePickle(first)) fail(pickleAdvice(source ?? "the data"));
  if (byteLength < 8) {
    fail(`the file is ${byteLength} bytes long, shorter than the 8-byte header length field`);
  }
  const n = new DataView(first.buffer, first.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_LENGTH)) {
    fail(`header length ${n} is absurdly large (the limit is ${MAX_HEADER_LENGTH} bytes): not a safetensors file`);
  }
  const headerLength = Number(n);
  if (8 + headerLength > byteLength) {
    fail(`header length ${headerLength} is larger than the ${byteLength - 8} bytes that follow the length field`);
  }
  return headerLength;
}

/** Parses and validates the N header bytes; `dataLength` is the length of the data buffer that follows them. */
function decodeHeader(
  headerBytes: Uint8Array,
  dataLength: number,
  fail: Fail,
): { tensors: SafetensorsTensorInfo[]; metadata: Record<string, string> } {
  let text: string;
  try {
    // ignoreBOM keeps a byte order mark in the text, so that it is rejected as the reference rejects it.
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    return fail("header is not valid UTF-8");
  }
  const root = new HeaderJsonParser(text, fail).parse();
  if (!(root instanceof Map)) return fail(`header is not a JSON object (it is ${describeJson(root)})`);

  let metadata: Record<string, string> = {};
  const tensors: SafetensorsTensorInfo[] = [];
  for (const [name, entry] of root) {
    if (name === METADATA_KEY) {
      metadata = decodeMetadata(entry, fail);
      continue;
    }
    tensors.push(decodeTensorInfo(name, entry, dataLength, fail));
  }
  checkCoverage(tensors, dataLength, fail);
  return { tensors, metadata };
}

function decodeMetadata(entry: JsonValue, fail: Fail): Record<string, string> {
  if (entry === null) return {}; // the reference reads null as "no metadata"
  if (!(entry instanceof Map)) {
    return fail(`"${METADATA_KEY}" must be an object mapping strings to strings, got ${describeJson(entry)}`);
  }
  const pairs: [string, string][] = [];
  for (const [key, value] of entry) {
    if (typeof value !== "string") {
      fail(
        `"${METADATA_KEY}" must map strings to strings, but key ${JSON.stringify(key)} holds ${describeJson(value)}`,
      );
    }
    pairs.push([key, value]);
  }
  return Object.fromEntries(pairs);
}

function decodeTensorInfo(name: string, entry: JsonValue, dataLength: number, fail: Fail): SafetensorsTensorInfo {
  if (!(entry instanceof Map)) {
    return fail(`header entry must be an object {"dtype", "shape", "data_offsets"}, got ${describeJson(entry)}`, name);
  }
  // Other keys are ignored, as the reference ignores them.
  const dtypeName = entry.get("dtype");
  if (typeof dtypeName !== "string") return fail(`"dtype" must be a string, got ${describeJson(dtypeName)}`, name);
  if (!isSafetensorsDType(dtypeName)) {
    const supported = Object.keys(TO_DTYPE).join(", ");
    const why = REFERENCE_ONLY_DTYPES.has(dtypeName) ? "is not supported by stts" : "is not a safetensors dtype";
    return fail(`dtype ${JSON.stringify(dtypeName)} ${why} (supported: ${supported})`, name);
  }

  const rawShape = entry.get("shape");
  const shapeError = `"shape" must be an array of non-negative integers, got ${describeJson(rawShape)}`;
  if (!Array.isArray(rawShape)) return fail(shapeError, name);
  const shape: number[] = [];
  let numel = 1n;
  for (const dim of rawShape) {
    if (typeof dim !== "bigint" || dim < 0n) return fail(shapeError, name);
    if (dim > BigInt(Number.MAX_SAFE_INTEGER)) {
      return fail(`"shape" ${formatShape(rawShape as bigint[])} has a dimension above 2^53 - 1`, name);
    }
    shape.push(Number(dim));
    numel *= dim;
  }

  const offsets = entry.get("data_offsets");
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    typeof offsets[0] !== "bigint" ||
    typeof offsets[1] !== "bigint" ||
    offsets[0] < 0n ||
    offsets[1] < 0n
  ) {
    return fail(`"data_offsets" must be two non-negative integers [begin, end], got ${describeJson(offsets)}`, name);
  }
  const [begin, end] = offsets as [bigint, bigint];
  if (begin > end) return fail(`"data_offsets" [${begin}, ${end}] has begin > end`, name);
  const itemSize = BigInt(ITEM_SIZE[TO_DTYPE[dtypeName]]);
  if (end - begin !== numel * itemSize) {
    return fail(
      `"data_offsets" [${begin}, ${end}] hold ${end - begin} bytes, but shape ${formatShape(shape)} of dtype ` +
        `${dtypeName} needs ${numel} x ${itemSize} = ${numel * itemSize} bytes`,
      name,
    );
  }
  if (end > BigInt(dataLength)) {
    return fail(
      `"data_offsets" [${begin}, ${end}] go past the end of the data buffer, which holds ${dataLength} bytes`,
      name,
    );
  }
  return {
    name,
    dtype: TO_DTYPE[dtypeName],
    safetensorsDtype: dtypeName,
    shape,
    dataOffsets: [Number(begin), Number(end)],
  };
}

/** Sorts `tensors` by offset (in place) and checks that their byte ranges tile the data buffer exactly. */
function checkCoverage(tensors: SafetensorsTensorInfo[], dataLength: number, fail: Fail): void {
  tensors.sort(
    (a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1] || compareUtf8(a.name, b.name),
  );
  let covered = 0;
  let previous: SafetensorsTensorInfo | undefined;
  for (const info of tensors) {
    const [begin, end] = info.dataOffsets;
    if (begin < covered) {
      fail(
        `"data_offsets" [${begin}, ${end}] overlap those of tensor ${JSON.stringify(previous?.name)} ` +
          `[${previous?.dataOffsets.join(", ")}]`,
        info.name,
      );
    }
    if (begin > covered) {
      fail(
        `bytes [${covered}, ${begin}) of the data buffer belong to no tensor (a gap before this tensor's ` +
          `"data_offsets" [${begin}, ${end}])`,
        info.name,
      );
    }
    covered = end;
    previous = info;
  }
  if (covered < dataLength) {
    const after = previous === undefined ? "" : ` after the last tensor ${JSON.stringify(previous.name)}`;
    fail(`trailing data: bytes [${covered}, ${dataLength}) of the data buffer${after} belong to no tensor`);
  }
}

// ---- reading ------------------------------------------------------------------------------------

/** Parses a header given the first bytes of the file and a function that reads N bytes at an offset. */
function headerFrom(
  first: Uint8Array,
  byteLength: number,
  readAt: (position: number, length: number) => Uint8Array,
  source: string | undefined,
): SafetensorsHeader {
  assertLittleEndianHost();
  const fail = failer(source);
  const headerLength = checkHeaderLength(first, byteLength, source, fail);
  const dataStart = 8 + headerLength;
  const decoded = decodeHeader(readAt(8, headerLength), byteLength - dataStart, fail);
  return { ...decoded, headerLength, dataStart, byteLength };
}

/** Creates every tensor of a header; disposes those already made if one fails. */
function createTensors(header: SafetensorsHeader, bytesOf: (info: SafetensorsTensorInfo) => Uint8Array): Tensor[] {
  const out: Tensor[] = [];
  try {
    for (const info of header.tensors) out.push(fromBytes(bytesOf(info), info.dtype, info.shape));
  } catch (error) {
    for (const t of out) t.dispose();
    throw error;
  }
  return out;
}

function contents(header: SafetensorsHeader, tensors: Tensor[]): SafetensorsContents {
  return { tensors: new Map(header.tensors.map((info, i) => [info.name, tensors[i]!])), metadata: header.metadata };
}

function largestTensor(header: SafetensorsHeader): number {
  return header.tensors.reduce((most, info) => Math.max(most, info.dataOffsets[1] - info.dataOffsets[0]), 0);
}

/**
 * Parses a whole safetensors file held in memory. The tensors are created in the caller's current scope, like any
 * new tensor: `keep()` the ones that must outlive it (or create them outside any scope and `dispose()` them).
 *
 * @param bytes the file's bytes
 * @param source a name for error messages (e.g. a path or URL); default none
 * @returns the tensors (in file order) and the `__metadata__` map ({} when absent)
 * @throws SafetensorsError when the bytes are not a valid safetensors file
 *
 * @example
 * const { tensors, metadata } = parseSafetensors(new Uint8Array(await (await fetch(url)).arrayBuffer()), url);
 */
export function parseSafetensors(bytes: Uint8Array, source?: string): SafetensorsContents {
  const header = headerFrom(bytes.subarray(0, 16), bytes.length, (at, n) => bytes.subarray(at, at + n), source);
  const base = header.dataStart;
  const tensors = createTensors(header, (info) =>
    bytes.subarray(base + info.dataOffsets[0], base + info.dataOffsets[1]),
  );
  return contents(header, tensors);
}

function readFullySync(fd: number, into: Uint8Array, position: number, file: string): Uint8Array {
  let done = 0;
  while (done < into.length) {
    const n = fs.readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw failer(file)(`the file ended early (was it changed while it was read?)`);
    done += n;
  }
  return into;
}

async function readFully(
  handle: fsp.FileHandle,
  into: Uint8Array,
  position: number,
  file: string,
): Promise<Uint8Array> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw failer(file)(`the file ended early (was it changed while it was read?)`);
    done += bytesRead;
  }
  return into;
}

function readHeaderSync(fd: number, file: string): SafetensorsHeader {
  const byteLength = fs.fstatSync(fd).size;
  const first = readFullySync(fd, new Uint8Array(Math.min(16, byteLength)), 0, file);
  return headerFrom(first, byteLength, (at, n) => readFullySync(fd, new Uint8Array(n), at, file), file);
}

async function readHeader(handle: fsp.FileHandle, file: string): Promise<SafetensorsHeader> {
  const byteLength = (await handle.stat()).size;
  const first = await readFully(handle, new Uint8Array(Math.min(16, byteLength)), 0, file);
  const headerLength = checkHeaderLength(first, byteLength, file, failer(file));
  const headerBytes = await readFully(handle, new Uint8Array(headerLength), 8, file);
  return headerFrom(first, byteLength, () => headerBytes, file);
}

/**
 * Reads a safetensors file synchronously, one tensor at a time (peak memory: the tensors plus one buffer the size
 * of the largest). The tensors are created in the caller's current scope: `keep()` the ones that must outlive it.
 * Pickle checkpoints (.bin, .pt, .pth, .ckpt, .pkl, or zip/pickle content) are refused with advice to convert them.
 *
 * @param file path of a .safetensors file
 * @returns the tensors (in file order) and the `__metadata__` map ({} when absent)
 * @throws SafetensorsError when the file is not a valid safetensors file (the message names the file and tensor)
 *
 * @example
 * const { tensors } = loadSafetensorsSync("model.safetensors");
 * const weight = torch.keep(tensors.get("embeddings.word_embeddings.weight")!);
 */
export function loadSafetensorsSync(file: string): SafetensorsContents {
  rejectPicklePath(file);
  const fd = fs.openSync(file, "r");
  try {
    const header = readHeaderSync(fd, file);
    const scratch = new Uint8Array(largestTensor(header));
    const tensors = createTensors(header, (info) => {
      const [begin, end] = info.dataOffsets;
      return readFullySync(fd, scratch.subarray(0, end - begin), header.dataStart + begin, file);
    });
    return contents(header, tensors);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads a safetensors file asynchronously, one tensor at a time (see `loadSafetensorsSync`). The tensors are
 * created after `await`s, so outside any scope (a scope cannot span an await): they are untracked, and the caller
 * owns them (`dispose()` them, or hand them to a module).
 *
 * @param file path of a .safetensors file
 * @returns the tensors (in file order) and the `__metadata__` map ({} when absent)
 * @throws SafetensorsError when the file is not a valid safetensors file (the message names the file and tensor)
 *
 * @example
 * const { tensors, metadata } = await loadSafetensors("model.safetensors");
 * console.log(metadata.format, tensors.get("pooler.dense.weight")?.shape);
 */
export async function loadSafetensors(file: string): Promise<SafetensorsContents> {
  rejectPicklePath(file);
  const handle = await fsp.open(file, "r");
  const made: Tensor[] = [];
  try {
    const header = await readHeader(handle, file);
    const scratch = new Uint8Array(largestTensor(header));
    for (const info of header.tensors) {
      const [begin, end] = info.dataOffsets;
      const bytes = await readFully(handle, scratch.subarray(0, end - begin), header.dataStart + begin, file);
      made.push(fromBytes(bytes, info.dtype, info.shape));
    }
    return contents(header, made);
  } catch (error) {
    for (const t of made) t.dispose();
    throw error;
  } finally {
    await handle.close();
  }
}

/**
 * Reads and validates only the header of a safetensors file (names, dtypes, shapes, offsets, metadata), without
 * reading any tensor data: for inspecting large checkpoints.
 *
 * @param file path of a .safetensors file
 * @throws SafetensorsError when the header is invalid or does not match the file's length
 *
 * @example
 * const { tensors, metadata } = await readSafetensorsHeader("model.safetensors");
 * for (const t of tensors) console.log(t.name, t.dtype, t.shape);
 */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  rejectPicklePath(file);
  const handle = await fsp.open(file, "r");
  try {
    return await readHeader(handle, file);
  } finally {
    await handle.close();
  }
}

// ---- writing ------------------------------------------------------------------------------------

interface PreparedTensor {
  name: string;
  tensor: Tensor;
  dtype: SafetensorsDType;
  shape: number[];
  byteLength: number;
}

interface Prepared {
  /** The 8 length bytes and the padded JSON header. */
  head: Uint8Array;
  /** Tensors in the order their bytes follow the header. */
  tensors: PreparedTensor[];
  byteLength: number;
}

/** Validates the arguments and lays the file out exactly as the reference writer does. */
function prepare(tensors: SafetensorsTensors, metadata: Record<string, string> | undefined, fail: Fail): Prepared {
  if (tensors === null || typeof tensors !== "object") {
    fail(`tensors must be a Map or an object of name -> Tensor, got ${tensors === null ? "null" : typeof tensors}`);
  }
  const entries: [string, unknown][] = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const prepared: PreparedTensor[] = [];
  for (const [name, tensor] of entries) {
    if (typeof name !== "string") fail(`tensor names must be strings, got ${typeof name}`);
    if (name === METADATA_KEY) fail(`"${METADATA_KEY}" is reserved for the metadata map and cannot name a tensor`);
    if (LONE_SURROGATE.test(name)) fail("the name contains a lone UTF-16 surrogate (not valid Unicode)", name);
    if (!(tensor instanceof Tensor)) fail(`expected a Tensor, got ${tensor === null ? "null" : typeof tensor}`, name);
    if (tensor.isDisposed) fail("is disposed", name);
    const dtype = FROM_DTYPE[tensor.dtype];
    const shape = tensor.shape;
    prepared.push({ name, tensor, dtype, shape, byteLength: tensor.numel * ITEM_SIZE[tensor.dtype] });
  }
  prepared.sort((a, b) => WRITE_RANK[b.dtype] - WRITE_RANK[a.dtype] || compareUtf8(a.name, b.name));

  const parts: string[] = [];
  if (metadata !== undefined) parts.push(`"${METADATA_KEY}":${metadataJson(metadata, fail)}`);
  let offset = 0;
  for (const t of prepared) {
    const info = `{"dtype":"${t.dtype}","shape":[${t.shape.join(",")}],"data_offsets":[${offset},${offset + t.byteLength}]}`;
    parts.push(`${JSON.stringify(t.name)}:${info}`);
    offset += t.byteLength;
  }
  const json = Buffer.from(`{${parts.join(",")}}`, "utf8");
  const headerLength = json.length + ((8 - (json.length % 8)) % 8);
  const head = new Uint8Array(8 + headerLength).fill(0x20); // padding: spaces, as the reference writes
  new DataView(head.buffer).setBigUint64(0, BigInt(headerLength), true);
  head.set(json, 8);
  return { head, tensors: prepared, byteLength: head.length + offset };
}

function metadataJson(metadata: Record<string, string>, fail: Fail): string {
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata) || metadata instanceof Map) {
    fail(
      `metadata must be a plain object of string -> string, got ${Array.isArray(metadata) ? "an array" : typeof metadata}`,
    );
  }
  // The reference writes a HashMap (no defined order); sorted keys make our files reproducible.
  const pairs = Object.entries(metadata as Record<string, unknown>).sort(([a], [b]) => compareUtf8(a, b));
  for (const [key, value] of pairs) {
    if (typeof value !== "string")
      fail(`metadata values must be strings; key ${JSON.stringify(key)} holds ${typeof value}`);
    if (LONE_SURROGATE.test(key) || LONE_SURROGATE.test(value)) {
      fail(`metadata key ${JSON.stringify(key)} or its value contains a lone UTF-16 surrogate (not valid Unicode)`);
    }
  }
  return `{${pairs.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(",")}}`;
}

/** A tensor's elements as little-endian bytes (a contiguous CPU copy, whatever the tensor's layout and device). */
function tensorBytes(t: PreparedTensor, fail: Fail): Uint8Array {
  const data = t.tensor.toTypedArray();
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.length !== t.byteLength)
    fail(`toTypedArray() gave ${bytes.length} bytes, expected ${t.byteLength}`, t.name);
  return bytes;
}

/**
 * The bytes of a safetensors file holding `tensors` (and `metadata`, when given), identical to what the reference
 * writer (Python `safetensors.torch.save`) produces: tensors ordered by dtype alignment (largest first) then by
 * name, header padded with spaces to a multiple of 8. Metadata keys are written sorted. Non-contiguous tensors,
 * tensors on another device and tensors that require grad are written by value.
 *
 * @param tensors name -> tensor (a Map or a plain object); the name "__metadata__" is reserved
 * @param metadata string -> string map stored as "__metadata__"; default: no "__metadata__" entry. Hugging Face
 *   transformers expects `{ format: "pt" }`.
 *
 * @example
 * const bytes = serializeSafetensors({ weight: torch.ones([2, 2]) }, { format: "pt" });
 */
export function serializeSafetensors(tensors: SafetensorsTensors, metadata?: Record<string, string>): Uint8Array {
  assertLittleEndianHost();
  const fail = failer(undefined);
  const layout = prepare(tensors, metadata, fail);
  const out = new Uint8Array(layout.byteLength);
  out.set(layout.head, 0);
  let offset = layout.head.length;
  for (const t of layout.tensors) {
    out.set(tensorBytes(t, fail), offset);
    offset += t.byteLength;
  }
  return out;
}

function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
}

function rejectPickleTarget(file: string): void {
  const extension = path.extname(file).toLowerCase();
  if (PICKLE_EXTENSIONS.has(extension)) {
    throw new SafetensorsError(
      `safetensors file ${file}: refusing to write safetensors data under a pickle checkpoint extension ` +
        `'${extension}' (the loaders refuse such paths); use '.safetensors'`,
      { source: file },
    );
  }
}

/**
 * Writes `tensors` (and `metadata`) to `file` in the safetensors format, byte for byte as `serializeSafetensors`.
 * The data goes to a temporary file in the same folder, which is flushed to disk and then renamed over `file`, so
 * `file` is never left half-written. The tensors' values are copied before this function returns (before its first
 * `await`): the caller may dispose or modify them right away.
 *
 * @param file destination path (an existing file is replaced)
 * @param tensors name -> tensor (a Map or a plain object); the name "__metadata__" is reserved
 * @param metadata string -> string map stored as "__metadata__"; default: none (see `serializeSafetensors`)
 *
 * @example
 * await saveSafetensors("model.safetensors", model.stateDict(), { format: "pt" });
 */
export async function saveSafetensors(
  file: string,
  tensors: SafetensorsTensors,
  metadata?: Record<string, string>,
): Promise<void> {
  assertLittleEndianHost();
  rejectPickleTarget(file);
  const fail = failer(file);
  const layout = prepare(tensors, metadata, fail);
  const chunks = [layout.head, ...layout.tensors.map((t) => tensorBytes(t, fail))];
  const temp = tempPathFor(file);
  const handle = await fsp.open(temp, "wx");
  try {
    try {
      for (const chunk of chunks) {
        let done = 0;
        while (done < chunk.length) done += (await handle.write(chunk, done, chunk.length - done)).bytesWritten;
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(temp, file);
  } catch (error) {
    await fsp.rm(temp, { force: true });
    throw error;
  }
}

/**
 * Synchronous `saveSafetensors`: writes one tensor at a time (peak memory: one tensor's bytes), through a
 * temporary file renamed over `file` at the end.
 *
 * @param file destination path (an existing file is replaced)
 * @param tensors name -> tensor (a Map or a plain object); the name "__metadata__" is reserved
 * @param metadata string -> string map stored as "__metadata__"; default: none (see `serializeSafetensors`)
 *
 * @example
 * saveSafetensorsSync("adapter.safetensors", new Map([["lora.A", a], ["lora.B", b]]));
 */
export function saveSafetensorsSync(
  file: string,
  tensors: SafetensorsTensors,
  metadata?: Record<string, string>,
): void {
  assertLittleEndianHost();
  rejectPickleTarget(file);
  const fail = failer(file);
  const layout = prepare(tensors, metadata, fail);
  const temp = tempPathFor(file);
  const fd = fs.openSync(temp, "wx");
  try {
    try {
      const write = (chunk: Uint8Array): void => {
        let done = 0;
        while (done < chunk.length) done += fs.writeSync(fd, chunk, done, chunk.length - done);
      };
      write(layout.head);
      for (const t of layout.tensors) write(tensorBytes(t, fail));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}
