// The BERT parity runner: every fixture of a parity directory (format: shared/parity/bert/README.md) through the
// real classes (loadEncoder, Pooling, BertForMaskedLM, BertLMHeadModel + tieEncoderDecoder), one line per case.
import * as fs from "node:fs";
import * as path from "node:path";
import * as torch from "@stts/torch";
import { functional as F, type Tensor } from "@stts/torch";
import { BertModel } from "../models/bert.js";
import { BertForMaskedLM, BertLMHeadModel, tieEncoderDecoder } from "../models/bert-lm-head.js";
import type { EncoderInputs, EncoderModel } from "../models/encoder.js";
import { loadCheckedStateDict, loadEncoder } from "../models/registry.js";
import { Pooling, type PoolingMode } from "../modules/pooling.js";

/** Options of `runBertParity`. */
export interface BertParityOptions {
  /** Called with each case's line as soon as it is known (default: nothing). */
  log?: (line: string) => void;
}

/** What `runBertParity` returns: counts and one line per case ("PASS name ..." / "FAIL name: ..."). */
export interface BertParityResult {
  passed: number;
  failed: number;
  lines: string[];
}

/** An array as cases.json stores it (flat, row-major). */
interface FixtureArray {
  shape: number[];
  dtype: "float32" | "int64";
  data: number[];
  rows?: number[];
}

interface Tolerance {
  atol: number;
  rtol: number;
  gradNormAtol: number;
  gradNormRtol: number;
}

type Json = Record<string, unknown>;

/** Reports one case's line and whether it passed. */
type Emit = (line: string, ok: boolean) => void;

/** Collects the comparisons of one case. */
class Checks {
  readonly failures: string[] = [];
  count = 0;
  worst = 0;

  constructor(readonly tolerance: Tolerance) {}

  /** Elementwise |actual - expected| <= atol + rtol |expected|, shapes equal. */
  array(
    name: string,
    actual: Tensor,
    expected: FixtureArray,
    atol = this.tolerance.atol,
    rtol = this.tolerance.rtol,
  ): void {
    this.count++;
    const shape = actual.shape;
    if (shape.join() !== expected.shape.join()) {
      this.failures.push(`${name}: shape [${shape.join(", ")}], expected [${expected.shape.join(", ")}]`);
      return;
    }
    const values = actual.toTypedArray();
    let bad = 0;
    let first = "";
    expected.data.forEach((want, i) => {
      const got = Number(values[i]);
      const error = Math.abs(got - want);
      if (error > this.worst || Number.isNaN(error)) this.worst = Number.isNaN(error) ? Infinity : error;
      if (!(error <= atol + rtol * Math.abs(want))) {
        if (bad === 0) first = `at [${unravel(i, shape).join(", ")}] got ${got}, expected ${want}`;
        bad++;
      }
    });
    if (bad > 0)
      this.failures.push(
        `${name}: ${bad} of ${expected.data.length} elements off (first ${first}; atol ${atol}, rtol ${rtol})`,
      );
  }

  scalar(name: string, actual: number, expected: number, atol: number, rtol: number): void {
    this.count++;
    const error = Math.abs(actual - expected);
    if (!(error <= atol + rtol * Math.abs(expected)))
      this.failures.push(`${name}: got ${actual}, expected ${expected}`);
  }

  check(name: string, ok: boolean, message: string): void {
    this.count++;
    if (!ok) this.failures.push(`${name}: ${message}`);
  }
}

function unravel(index: number, shape: number[]): number[] {
  const out: number[] = [];
  let rest = index;
  for (let d = shape.length - 1; d >= 0; d--) {
    out.unshift(rest % shape[d]!);
    rest = Math.floor(rest / shape[d]!);
  }
  return out;
}

function readJson(file: string): Json {
  return JSON.parse(fs.readFileSync(file, "utf8")) as Json;
}

function asArray(value: unknown, what: string): FixtureArray {
  const a = value as FixtureArray | null | undefined;
  if (a == null || !Array.isArray(a.shape) || !Array.isArray(a.data)) throw new Error(`${what} is not a fixture array`);
  return a;
}

/** A fixture array as a tensor (int64 or float32). */
function tensorOf(value: unknown, what: string): Tensor {
  const a = asArray(value, what);
  const data = a.dtype === "int64" ? BigInt64Array.from(a.data, (x) => BigInt(x)) : Float32Array.from(a.data);
  return torch.fromTypedArray(data, { shape: a.shape });
}

function encoderInputs(inputs: Json, what: string): EncoderInputs {
  const optional = (key: string) => (inputs[key] == null ? undefined : tensorOf(inputs[key], `${what}.${key}`));
  return {
    inputIds: tensorOf(inputs.input_ids, `${what}.input_ids`),
    attentionMask: optional("attention_mask"),
    tokenTypeIds: optional("token_type_ids"),
  };
}

function readTolerance(dir: string): Tolerance {
  const manifest = path.join(dir, "manifest.json");
  const given = fs.existsSync(manifest) ? ((readJson(manifest).recommended_tolerance ?? {}) as Json) : {};
  const number = (key: string, fallback: number) =>
    typeof given[key] === "number" ? (given[key] as number) : fallback;
  return {
    atol: number("atol", 1e-4),
    rtol: number("rtol", 1e-4),
    gradNormAtol: number("grad_norm_atol", 1e-5),
    gradNormRtol: number("grad_norm_rtol", 1e-4),
  };
}

/** Named parameter groups a case's gradient names refer to ("" for unprefixed names). */
type ParameterGroups = Map<string, Map<string, Tensor>>;

function resolveParameter(groups: ParameterGroups, name: string): Tensor | undefined {
  for (const [prefix, parameters] of groups) {
    if (prefix === "") return parameters.get(name);
    if (name.startsWith(`${prefix}.`)) return parameters.get(name.slice(prefix.length + 1));
  }
  return undefined;
}

/**
 * Gradient norms (every parameter named, null = no gradient), full gradients and gradient rows
 * ("name[rows]"), against the parameters of `groups`. Every parameter tensor of the models must be named.
 */
function checkGradients(checks: Checks, groups: ParameterGroups, expected: Json, zeroOutsideRows: boolean): void {
  const { gradNormAtol, gradNormRtol } = checks.tolerance;
  const norms = (expected.grad_norms ?? {}) as Record<string, number | null>;
  const covered = new Set<Tensor>();
  for (const [name, norm] of Object.entries(norms)) {
    const parameter = resolveParameter(groups, name);
    if (parameter === undefined) {
      checks.check(name, false, "the model has no parameter of that name");
      continue;
    }
    covered.add(parameter);
    const grad = parameter.grad;
    if (norm === null) {
      checks.check(`grad_norms[${name}]`, grad === null, "expected no gradient, got one");
    } else if (grad === null) {
      checks.check(`grad_norms[${name}]`, false, `no gradient, expected norm ${norm}`);
    } else {
      checks.scalar(`grad_norms[${name}]`, grad.double().norm().item(), norm, gradNormAtol, gradNormRtol);
    }
  }
  for (const parameters of groups.values()) {
    for (const [name, parameter] of parameters) {
      if (!covered.has(parameter)) checks.check(name, false, "parameter not in the fixture's grad_norms");
    }
  }
  for (const [key, value] of Object.entries((expected.grads ?? {}) as Json)) {
    const rowsKey = /^(.*)\[rows\]$/.exec(key);
    const name = rowsKey?.[1] ?? key;
    const grad = resolveParameter(groups, name)?.grad ?? null;
    if (grad === null) {
      checks.check(`grads[${key}]`, false, "no gradient");
      continue;
    }
    const want = asArray(value, `grads[${key}]`);
    if (rowsKey === null) {
      checks.array(`grads[${key}]`, grad, want);
      continue;
    }
    const rows = want.rows ?? [];
    checks.array(`grads[${key}]`, grad.indexSelect(0, torch.tensor(rows, { dtype: "int64" })), want);
    if (zeroOutsideRows) {
      const listed = new Set(rows);
      const others = Array.from({ length: grad.size(0) }, (_, i) => i).filter((i) => !listed.has(i));
      const largest =
        others.length === 0
          ? 0
          : grad
              .indexSelect(0, torch.tensor(others, { dtype: "int64" }))
              .abs()
              .max()
              .item();
      checks.check(`grads[${key}]`, largest === 0, `rows not listed must be exactly 0, found |g| = ${largest}`);
    }
  }
}

/** Runs one case: `body` fills `checks` (inside a scope); an exception fails the case with its message. */
function runCase(name: string, tolerance: Tolerance, body: (checks: Checks) => void, emit: Emit): void {
  const checks = new Checks(tolerance);
  try {
    torch.scope(() => body(checks));
  } catch (error) {
    checks.failures.push(`error: ${(error as Error).message}`);
  }
  if (checks.failures.length === 0) {
    emit(`PASS ${name} (${checks.count} checks, max |err| ${checks.worst.toExponential(2)})`, true);
  } else {
    emit(`FAIL ${name}: ${checks.failures.join("; ")}`, false);
  }
}

function poolWith(mode: string, hidden: number, tokenEmbeddings: Tensor, attentionMask: Tensor | undefined): Tensor {
  const pooling = new Pooling(hidden, { poolingMode: mode as PoolingMode });
  return pooling.forward({ tokenEmbeddings, attentionMask }).sentenceEmbedding!;
}

/** The cases of a checkpoint folder: forward cases, gradient_case, mlm_case. */
function runCheckpoint(folder: string, name: string, fixture: Json, tolerance: Tolerance, emit: Emit): void {
  const cases = (fixture.cases ?? []) as Json[];
  const gradientCase = fixture.gradient_case as Json | undefined;
  const mlmCase = fixture.mlm_case as Json | undefined;
  let encoder: EncoderModel;
  try {
    encoder = loadEncoder(folder).eval();
  } catch (error) {
    const message = `loadEncoder failed: ${(error as Error).message}`;
    for (const c of cases) emit(`FAIL ${name}/${String(c.name)}: ${message}`, false);
    if (gradientCase !== undefined) emit(`FAIL ${name}/${String(gradientCase.name)}: ${message}`, false);
    if (mlmCase !== undefined) emit(`FAIL ${name}/${String(mlmCase.name)}: ${message}`, false);
    return;
  }
  const hidden = encoder.hiddenSize;
  try {
    for (const c of cases) {
      runCase(
        `${name}/${String(c.name)}`,
        tolerance,
        (checks) => torch.noGrad(() => checkForward(checks, encoder, c)),
        emit,
      );
    }
    if (gradientCase !== undefined) {
      const mode =
        typeof fixture.sentence_transformers_pooling === "string" ? fixture.sentence_transformers_pooling : "mean";
      runCase(
        `${name}/${String(gradientCase.name)}`,
        tolerance,
        (checks) => {
          encoder.zeroGrad();
          try {
            const inputs = encoderInputs(gradientCase.inputs as Json, "gradient_case.inputs");
            const expected = gradientCase.expected as Json;
            const tokens = encoder.forward(inputs).lastHiddenState;
            const pooled = poolWith(mode, hidden, tokens, inputs.attentionMask); // [batch, hidden]
            const scalar = pooled.mul(tensorOf((gradientCase.inputs as Json).M, "M")).sum();
            scalar.backward();
            checks.array("scalar", scalar, asArray(expected.scalar, "scalar"));
            checkGradients(checks, new Map([["", encoder.namedParameters()]]), expected, true);
          } finally {
            encoder.zeroGrad();
          }
        },
        emit,
      );
    }
  } finally {
    encoder.dispose();
  }
  if (mlmCase !== undefined) {
    runCase(`${name}/${String(mlmCase.name)}`, tolerance, (checks) => checkMaskedLM(checks, folder, mlmCase), emit);
  }
}

/** last_hidden_state, hidden_states, attentions, pooled.*, pooler_output of one forward case. */
function checkForward(checks: Checks, encoder: EncoderModel, c: Json): void {
  const inputs = encoderInputs(c.inputs as Json, `${String(c.name)}.inputs`);
  const expected = c.expected as Json;
  const wantAttentions = expected.attentions !== undefined;
  const out = encoder.forward(inputs, { outputHiddenStates: true, outputAttentions: wantAttentions });
  checks.array("last_hidden_state", out.lastHiddenState, asArray(expected.last_hidden_state, "last_hidden_state"));
  if (expected.hidden_states !== undefined) {
    checks.array("hidden_states", torch.stack(out.hiddenStates!), asArray(expected.hidden_states, "hidden_states"));
  }
  if (wantAttentions) {
    checks.array("attentions", torch.stack(out.attentions!), asArray(expected.attentions, "attentions"));
  }
  for (const [mode, want] of Object.entries((expected.pooled ?? {}) as Json)) {
    const pooled = poolWith(mode, encoder.hiddenSize, out.lastHiddenState, inputs.attentionMask);
    checks.array(`pooled.${mode}`, pooled, asArray(want, `pooled.${mode}`));
  }
  if (expected.pooler_output !== undefined) {
    const pooler = out.poolerOutput ?? null;
    if (pooler === null) checks.check("pooler_output", false, "the loaded model has no pooler");
    else checks.array("pooler_output", pooler, asArray(expected.pooler_output, "pooler_output"));
  }
}

/** BertForMaskedLM logits at the mask positions, and their argmax. */
function checkMaskedLM(checks: Checks, folder: string, c: Json): void {
  const model = BertForMaskedLM.fromPretrained(folder);
  try {
    torch.noGrad(() => {
      const logits = model.forward(encoderInputs(c.inputs as Json, "mlm_case.inputs")); // [batch, seq, vocab]
      const positions = (c.mask_positions ?? []) as (number | [number, number])[];
      const rows = positions.map((p) =>
        Array.isArray(p) ? logits.select(0, p[0]).select(0, p[1]) : logits.select(0, 0).select(0, p),
      );
      const atMask = torch.stack(rows); // [nMask, vocab]
      const expected = c.expected as Json;
      checks.array(
        "logits_at_mask_positions",
        atMask,
        asArray(expected.logits_at_mask_positions, "logits_at_mask_positions"),
      );
      if (Array.isArray(expected.argmax_at_mask_positions)) {
        const argmax = Array.from(atMask.argmax(1).toTypedArray(), Number);
        const want = expected.argmax_at_mask_positions as number[];
        checks.check("argmax_at_mask_positions", argmax.join() === want.join(), `got [${argmax}], expected [${want}]`);
      }
    });
  } finally {
    model.dispose();
  }
}

/** The TSDAE cases: encoder + Pooling + BertLMHeadModel decoder tied to it, forward and backward. */
function runTsdae(dir: string, folder: string, name: string, fixture: Json, tolerance: Tolerance, emit: Emit): void {
  const encoderName = String(fixture.encoder_checkpoint);
  const encoderFolder = [path.join(folder, "..", encoderName), path.join(dir, encoderName)].find((p) =>
    fs.existsSync(path.join(p, "config.json")),
  );
  const decoderConfig = readJson(path.join(folder, "decoder_config.json"));
  const tiedParams = (fixture.tied_encoder_params ?? {}) as Record<string, string>;
  for (const c of (fixture.cases ?? []) as Json[]) {
    runCase(
      `${name}/${String(c.name)}`,
      tolerance,
      (checks) => {
        if (encoderFolder === undefined)
          throw new Error(`encoder checkpoint '${encoderName}' not found next to ${folder}`);
        const encoder = loadEncoder(encoderFolder);
        const decoder = new BertLMHeadModel(decoderConfig);
        try {
          if (!(encoder instanceof BertModel)) throw new Error(`${encoderName} is not a BERT checkpoint`);
          loadDecoder(decoder, encoder, folder);
          const tied = new Set(tieEncoderDecoder(encoder, decoder));
          for (const [encoderKey, decoderKey] of Object.entries(tiedParams)) {
            const shared =
              tied.has(encoderKey) && encoder.getParameter(encoderKey) === decoder.getParameter(decoderKey);
            checks.check(`tied[${encoderKey}]`, shared, `not the same tensor as decoder '${decoderKey}'`);
          }
          encoder.eval();
          decoder.eval();
          checkTsdaeCase(checks, encoder, decoder, c);
        } finally {
          decoder.dispose();
          encoder.dispose();
        }
      },
      emit,
    );
  }
}

/** The decoder's weights: the encoder's (prefix "bert.", no pooler) plus decoder_extras.safetensors. */
function loadDecoder(decoder: BertLMHeadModel, encoder: BertModel, folder: string): void {
  torch.scope(() => {
    const state = new Map<string, Tensor>();
    for (const [key, value] of encoder.stateDict()) if (!key.startsWith("pooler.")) state.set(`bert.${key}`, value);
    const extras = torch.loadSafetensorsSync(path.join(folder, "decoder_extras.safetensors")).tensors;
    for (const [key, value] of extras) state.set(key, value);
    loadCheckedStateDict(decoder, state, { who: "tsdae decoder", folder, file: "decoder_extras.safetensors" });
  });
}

function checkTsdaeCase(checks: Checks, encoder: BertModel, decoder: BertLMHeadModel, c: Json): void {
  const expected = c.expected as Json;
  const source = encoderInputs(c.source as Json, "source");
  const tokens = encoder.forward(source).lastHiddenState; // [batch, seq, hidden]
  const embedding = poolWith(String(c.pooling), encoder.hiddenSize, tokens, source.attentionMask); // [batch, hidden]
  const logits = decoder.forward({
    inputIds: tensorOf(c.decoder_input_ids, "decoder_input_ids"),
    encoderHiddenStates: embedding.unsqueeze(1), // [batch, 1, hidden]
    encoderAttentionMask:
      c.encoder_attention_mask == null ? undefined : tensorOf(c.encoder_attention_mask, "encoder_attention_mask"),
  }); // [batch, targetSeq - 1, vocab]
  const [batch, steps, vocab] = logits.shape as [number, number, number];
  const labels = tensorOf(c.labels, "labels").reshape([-1]); // [batch * steps], -100 = ignored
  const flat = logits.reshape([-1, vocab]);
  const tokenNll = F.crossEntropy(flat, labels, { reduction: "none" }).reshape([batch, steps]);
  const loss = F.crossEntropy(flat, labels); // mean over labels != -100
  loss.backward();
  checks.array("sentence_embedding", embedding, asArray(expected.sentence_embedding, "sentence_embedding"));
  checks.array("token_nll", tokenNll, asArray(expected.token_nll, "token_nll"));
  checks.array("loss", loss, asArray(expected.loss, "loss"));
  const firstRow = asArray(expected.logits_first_row_first_position, "logits_first_row_first_position");
  checks.array("logits_first_row_first_position", logits.select(0, 0).select(0, 0), firstRow);
  const groups: ParameterGroups = new Map([
    ["decoder", decoder.namedParameters()],
    ["encoder", encoder.namedParameters()],
  ]);
  checkGradients(checks, groups, expected, false);
}

/** Subfolders of `dir` holding a cases.json, sorted by name. */
function fixtureFolders(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(dir, entry.name, "cases.json")))
    .map((entry) => entry.name)
    .sort();
}

/**
 * Runs every fixture of a BERT parity directory (shared/parity/bert/README.md's format) through the real
 * classes and compares with the manifest's recommended tolerance (default atol = rtol = 1e-4; gradient norms
 * rtol 1e-4, atol 1e-5). Checkpoint folders (config.json + model.safetensors + cases.json) and TSDAE folders
 * (cases.json naming `encoder_checkpoint`, decoder_config.json, decoder_extras.safetensors) are found by
 * scanning `dir`, so fixtures of other names and sizes work unchanged; other subfolders are ignored. Synchronous; frees every tensor it makes.
 *
 * @example
 * const { passed, failed, lines } = runBertParity("../shared/parity/bert", { log: console.log });
 *
 * @param dir the parity directory
 * @param options log (default none): called with each case's line
 * @returns passed / failed case counts and one line per case
 */
export function runBertParity(dir: string, options: BertParityOptions = {}): BertParityResult {
  if (!fs.existsSync(dir)) throw new Error(`runBertParity: ${dir} does not exist`);
  const tolerance = readTolerance(dir);
  const result: BertParityResult = { passed: 0, failed: 0, lines: [] };
  const emit: Emit = (line, ok) => {
    result.lines.push(line);
    if (ok) result.passed++;
    else result.failed++;
    options.log?.(line);
  };
  for (const name of fixtureFolders(dir)) {
    const folder = path.join(dir, name);
    let fixture: Json;
    try {
      fixture = readJson(path.join(folder, "cases.json"));
    } catch (error) {
      emit(`FAIL ${name}: cannot read cases.json (${(error as Error).message})`, false);
      continue;
    }
    if (fixture.encoder_checkpoint !== undefined) runTsdae(dir, folder, name, fixture, tolerance, emit);
    else if (fs.existsSync(path.join(folder, "config.json"))) runCheckpoint(folder, name, fixture, tolerance, emit);
    // else: another kind of fixture (no model folder, no TSDAE set): not a BERT case
  }
  return result;
}
