// Runs the losses on the golden vectors of the Python reference (shared/parity/*.json) and compares
// loss values and gradients. See shared/parity/README.md for the format and the tolerances.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { nn, noGrad, scope, tensor, type Tensor } from "@stts/torch";
import type { EmbeddingModel, Features } from "../features.js";
import * as losses from "../losses/index.js";
import { getDistanceMetric } from "../losses/distance-metrics.js";
import { Loss } from "../losses/loss.js";
import type { LabelKind } from "../losses/loss-inputs.js";
import { getSimilarityFunction } from "../util/similarity.js";

/** The dtype the losses run in: inputs are rounded to it, tolerances follow it. */
export type ParityDType = "float32" | "float64";

/** Options of `runLossParity`. */
export interface LossParityOptions {
  /** Default "float64". */
  dtype?: ParityDType;
  /** Receives each summary line as it is produced (one per vector file, then the total). */
  log?: (line: string) => void;
}

/** One failed case, with the reason (which array, how far off, or the error thrown). */
export interface LossParityFailure {
  file: string;
  caseName: string;
  reason: string;
}

/** The outcome of `runLossParity`. */
export interface LossParityResult {
  /** Cases within tolerance. */
  passed: number;
  /** Cases outside tolerance, that threw, or whose loss the library lacks. */
  failed: number;
  /** One line per vector file, then "N passed, M failed". */
  lines: string[];
  /** Details of every failed case. */
  failures: LossParityFailure[];
  /** Per vector file: its loss, cases passed and failed, and the worst error as a fraction of the tolerance. */
  files: LossParityFileResult[];
}

/** The outcome of one vector file. */
export interface LossParityFileResult {
  file: string;
  loss: string;
  passed: number;
  failed: number;
  /** The worst |actual - expected| / tolerance over its cases (Infinity when a case threw). */
  worst: number;
}

/** |actual - expected| <= rtol * |expected| + atolFrac * max(1, max |expected|), per array (README). */
export const PARITY_TOLERANCES: Readonly<Record<ParityDType, { rtol: number; atolFrac: number }>> = {
  float64: { rtol: 1e-7, atolFrac: 1e-9 },
  float32: { rtol: 1e-4, atolFrac: 1e-5 },
};

type Nested = number | Nested[];

interface NestedLoss {
  name: string;
  params: Record<string, unknown>;
}

interface VectorCase {
  name: string;
  params: Record<string, unknown>;
  inputs: {
    embeddings?: Nested[];
    labels: Nested[] | null;
    guide_embeddings?: Nested[];
    weights?: Record<string, Nested>;
    layer_embeddings?: Nested[][];
  };
  expected: {
    loss: number;
    grad_embeddings?: Nested[];
    grad_layer_embeddings?: Nested[][];
    grad_params?: Record<string, Nested>;
  };
  expected_noncached?: { loss_class: string; params: Record<string, unknown>; loss: number; grad_embeddings: Nested[] };
}

interface VectorFile {
  loss: string;
  cases: VectorCase[];
}

/** A loss class as exported by losses/index.ts, with the static metadata every loss declares. */
type LossClass = (new (model: EmbeddingModel, ...args: never[]) => Loss) & { labelKind?: LabelKind | string };

/** What the runner calls on a loss; the layered and guided losses take more arguments. */
interface ParityLoss extends Loss {
  computeLossFromEmbeddings(embeddings: Tensor[], labels: Tensor | null, guideEmbeddings?: Tensor[]): Tensor;
  computeLossFromLayerEmbeddings?(layerEmbeddings: Tensor[][], labels: Tensor | null): Tensor;
}

const LOSS_CLASSES: ReadonlyMap<string, LossClass> = new Map(
  Object.entries(losses).filter(([, value]) => typeof value === "function" && value.prototype instanceof Loss) as [
    string,
    LossClass,
  ][],
);

/**
 * A real, minimal EmbeddingModel standing in for the Python oracle's fake model: a fixed table of
 * sentence embeddings, looked up by `inputIds` (row numbers, [batch] or [batch, 1]). The parity runner
 * needs it only to construct losses; the vectors themselves go through computeLossFromEmbeddings.
 *
 * @example
 * const model = new ParityModel(torch.randn([6, 8]));
 * model.forward({ inputIds: torch.tensor([0, 5], { dtype: "int64" }) }).sentenceEmbedding; // rows 0 and 5
 */
export class ParityModel extends nn.Module implements EmbeddingModel {
  constructor(table: Tensor) {
    super();
    this.registerBuffer("table", table);
  }

  /** [rows, dim] */
  get table(): Tensor {
    return this.getBuffer("table");
  }

  override forward(features: Features): Features {
    const ids = features.inputIds;
    if (ids === undefined) throw new Error("ParityModel: features need 'inputIds' (row numbers of the table)");
    return { ...features, sentenceEmbedding: scope(() => this.table.indexSelect(0, ids.reshape([-1]))) };
  }

  getSentenceEmbeddingDimension(): number {
    return this.table.size(1);
  }

  /** An independent copy (the ContrastiveTension losses copy their model). */
  clone(): ParityModel {
    return new ParityModel(noGrad(() => this.table.clone()));
  }
}

/**
 * Runs every case of every `*.json` vector file in `dir` (manifest.json aside) through the library's
 * loss of that name, in `dtype`, and compares the loss and every gradient with the README's tolerance.
 * A file naming a loss the library lacks counts all its cases as failed.
 *
 * @example
 * const { passed, failed, lines } = runLossParity("../shared/parity", { dtype: "float32" });
 */
export function runLossParity(dir: string, options: LossParityOptions = {}): LossParityResult {
  const dtype = options.dtype ?? "float64";
  if (dtype !== "float32" && dtype !== "float64") {
    throw new Error(`runLossParity: dtype must be "float32" or "float64", got "${String(dtype)}"`);
  }
  const result: LossParityResult = { passed: 0, failed: 0, lines: [], failures: [], files: [] };
  const emit = (line: string) => {
    result.lines.push(line);
    options.log?.(line);
  };
  for (const file of vectorFiles(dir)) {
    let vectors: VectorFile;
    try {
      vectors = readVectorFile(join(dir, file));
    } catch (error) {
      result.failed += 1;
      result.failures.push({ file, caseName: "(file)", reason: message(error) });
      result.files.push({ file, loss: "?", passed: 0, failed: 1, worst: Number.POSITIVE_INFINITY });
      emit(`${file}: unreadable (${message(error)})`);
      continue;
    }
    let [passed, failed, worst] = [0, 0, 0];
    for (const vectorCase of vectors.cases) {
      let outcome: CaseOutcome;
      try {
        outcome = runCase(vectors.loss, vectorCase, dtype);
      } catch (error) {
        outcome = { ratio: Number.POSITIVE_INFINITY, detail: message(error) };
      }
      worst = Math.max(worst, outcome.ratio);
      if (outcome.ratio <= 1) {
        passed += 1;
      } else {
        failed += 1;
        result.failures.push({ file, caseName: vectorCase.name, reason: outcome.detail ?? `ratio ${outcome.ratio}` });
      }
    }
    result.passed += passed;
    result.failed += failed;
    result.files.push({ file, loss: vectors.loss, passed, failed, worst });
    const worstText = worst === 0 || !Number.isFinite(worst) ? String(worst) : worst.toExponential(2);
    emit(`${vectors.loss}: ${passed} passed, ${failed} failed, worst error ${worstText} of tolerance`);
  }
  emit(`${result.passed} passed, ${result.failed} failed`);
  return result;
}

function vectorFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".json") && name !== "manifest.json" && statSync(join(dir, name)).isFile())
    .sort();
}

function readVectorFile(path: string): VectorFile {
  const parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<VectorFile>;
  if (typeof parsed.loss !== "string" || !Array.isArray(parsed.cases)) {
    throw new Error(`${path}: expected {"loss": name, "cases": [...]}`);
  }
  return parsed as VectorFile;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The worst error of a case as a fraction of the tolerance (<= 1 passes), and where it was. */
interface CaseOutcome {
  ratio: number;
  detail: string | null;
}

/** Runs one case and compares the loss and every gradient with the expected values. */
function runCase(lossName: string, vectorCase: VectorCase, dtype: ParityDType): CaseOutcome {
  const compare = new Comparison(dtype);
  scope(() => {
    const model = parityModel(vectorCase.inputs.embeddings ?? vectorCase.inputs.layer_embeddings?.flat(1) ?? [], dtype);
    const { loss, dispose } = buildLoss(lossName, vectorCase.params, dtype, vectorCase, model);
    try {
      const labels = makeLabels(vectorCase.inputs.labels, effectiveLabelKind(lossName, vectorCase.params), dtype);
      const { inputs } = vectorCase;
      const weights = inputs.weights;
      if (inputs.layer_embeddings !== undefined) {
        runLayered(loss, inputs.layer_embeddings, labels, dtype, vectorCase, compare);
        return;
      }
      if (weights !== undefined) copyClassifierWeights(loss, weights, dtype);
      const embeddings = leaves(inputs.embeddings ?? [], dtype);
      const guides = inputs.guide_embeddings?.map((column) => tensor(column, { dtype }));
      const value = computeLoss(loss, embeddings, labels, guides);
      value.backward();
      compare.scalar("loss", value.item(), vectorCase.expected.loss);
      compareGrads(compare, "grad_embeddings", embeddings, vectorCase.expected.grad_embeddings);
      compareParamGrads(loss, vectorCase.expected.grad_params, compare);
      const noncached = vectorCase.expected_noncached;
      if (noncached !== undefined) {
        const reference = buildLoss(noncached.loss_class, noncached.params, dtype, vectorCase, model);
        try {
          const fresh = leaves(inputs.embeddings ?? [], dtype);
          const other = computeLoss(reference.loss, fresh, labels, guides);
          other.backward();
          compare.scalar("expected_noncached.loss", other.item(), noncached.loss);
          compareGrads(compare, "expected_noncached.grad_embeddings", fresh, noncached.grad_embeddings);
        } finally {
          reference.dispose();
        }
      }
    } finally {
      dispose();
      model.dispose();
    }
  });
  return { ratio: compare.worst, detail: compare.worstText };
}

/** computeLossFromEmbeddings, with the guide's embeddings for the GIST losses. */
function computeLoss(
  loss: ParityLoss,
  embeddings: Tensor[],
  labels: Tensor | null,
  guides: Tensor[] | undefined,
): Tensor {
  return guides === undefined
    ? loss.computeLossFromEmbeddings(embeddings, labels)
    : loss.computeLossFromEmbeddings(embeddings, labels, guides);
}

function runLayered(
  loss: ParityLoss,
  layerEmbeddings: Nested[][],
  labels: Tensor | null,
  dtype: ParityDType,
  vectorCase: VectorCase,
  compare: Comparison,
): void {
  if (typeof loss.computeLossFromLayerEmbeddings !== "function") {
    throw new Error(`${loss.constructor.name} has no computeLossFromLayerEmbeddings(layerEmbeddings, labels)`);
  }
  const layers = layerEmbeddings.map((column) => leaves(column, dtype)); // [column][layer]: [batch, dim]
  const value = loss.computeLossFromLayerEmbeddings(layers, labels);
  value.backward();
  compare.scalar("loss", value.item(), vectorCase.expected.loss);
  const expected = vectorCase.expected.grad_layer_embeddings ?? [];
  if (expected.length !== layers.length) {
    throw new Error(`grad_layer_embeddings has ${expected.length} columns, the inputs ${layers.length}`);
  }
  layers.forEach((column, c) => compareGrads(compare, `grad_layer_embeddings[${c}]`, column, expected[c]));
}

/** Leaf tensors requiring grad, one per entry, in `dtype` (float32 rounds the stored float64 values). */
function leaves(arrays: Nested[], dtype: ParityDType): Tensor[] {
  return arrays.map((values) => tensor(values, { dtype }).requiresGrad_(true));
}

/** The label kind of a loss; a modifier (params.loss) takes the labels of the loss it wraps. */
function effectiveLabelKind(lossName: string, params: Record<string, unknown>): LabelKind | string | undefined {
  const inner = params.loss as NestedLoss | undefined;
  if (inner !== undefined && typeof inner === "object" && typeof inner.name === "string") {
    return effectiveLabelKind(inner.name, inner.params);
  }
  return LOSS_CLASSES.get(lossName)?.labelKind;
}

const INTEGER_LABEL_KINDS = new Set<string>(["class", "binary"]);

/** Labels as int64 (class ids, 0/1) or the run dtype (scores, teacher values). */
function makeLabels(values: Nested[] | null, kind: string | undefined, dtype: ParityDType): Tensor | null {
  if (values === null) return null;
  // JSON does not keep 1 and 1.0 apart: the loss's declared label kind decides, else the values do.
  const integral = kind !== undefined ? INTEGER_LABEL_KINDS.has(kind) : flatten(values).every(Number.isInteger);
  return tensor(values, { dtype: integral ? "int64" : dtype });
}

/** Builds the loss named `name` with the vector's params mapped to our options. */
function buildLoss(
  name: string,
  params: Record<string, unknown>,
  dtype: ParityDType,
  vectorCase: VectorCase,
  model: ParityModel,
): { loss: ParityLoss; dispose: () => void } {
  const LossClass = LOSS_CLASSES.get(name);
  if (LossClass === undefined) throw new Error(`the library has no loss named ${name}`);
  const models: nn.Module[] = [];
  const inner: ParityLoss[] = [];
  const disposers: (() => void)[] = [];
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    const option = camelCase(key);
    switch (key) {
      case "gather_across_devices":
        if (value !== false) throw new Error("gather_across_devices = true is not supported (single process)");
        break;
      case "loss": {
        const nested = value as NestedLoss;
        const built = buildLoss(nested.name, nested.params, dtype, vectorCase, model);
        inner.push(built.loss);
        disposers.push(built.dispose);
        break;
      }
      case "similarity_fct":
        options[option] = getSimilarityFunction(String(value));
        break;
      case "distance_metric":
        options[option] = getDistanceMetric(String(value));
        break;
      case "loss_fct":
        // CosineSimilarityLoss takes "MSELoss" / "L1Loss"; CrossEntropyLoss is SoftmaxLoss's only (default) choice.
        if (value !== "CrossEntropyLoss") options[option] = value;
        break;
      case "cos_score_transformation":
        if (value !== "Identity") throw new Error(`cos_score_transformation '${String(value)}' is not supported`);
        break;
      default:
        if (value !== null) options[option] = value; // null = the reference's default
    }
  }
  const guides = vectorCase.inputs.guide_embeddings;
  if (guides !== undefined && /GIST/.test(name)) {
    const guide = parityModel(guides, dtype);
    models.push(guide);
    options.guide = guide;
  }
  const Construct = LossClass as unknown as new (model: EmbeddingModel, ...args: unknown[]) => ParityLoss;
  const loss = inner.length > 0 ? new Construct(model, inner[0], options) : new Construct(model, options);
  if (loss instanceof nn.Module) loss.to(dtype); // trainable loss parameters (classifier, logit scale)
  const dispose = () => {
    loss.dispose();
    for (const m of models) m.dispose();
    for (const d of disposers) d();
  };
  return { loss, dispose };
}

/** A ParityModel whose table holds the rows of every [rows, dim] array, in order. */
function parityModel(arrays: Nested[], dtype: ParityDType): ParityModel {
  const rows = (arrays as Nested[][]).flat(1);
  return new ParityModel(rows.length === 0 ? tensor([[0]], { dtype }) : tensor(rows, { dtype }));
}

/** The numbers of a nested array, in row-major order. */
function flatten(values: Nested): number[] {
  if (typeof values === "number") return [values];
  const out: number[] = [];
  const visit = (v: Nested): void => {
    if (typeof v === "number") out.push(v);
    else for (const item of v) visit(item);
  };
  visit(values);
  return out;
}

/** "n_dims_per_step" -> "nDimsPerStep" */
function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

/** SoftmaxLoss: the vector's classifier weights go into loss.classifier before the run. */
function copyClassifierWeights(loss: ParityLoss, weights: Record<string, Nested>, dtype: ParityDType): void {
  noGrad(() =>
    scope(() => {
      for (const [key, values] of Object.entries(weights)) findParameter(loss, key).copy_(tensor(values, { dtype }));
    }),
  );
}

/** Gradients of the loss's own parameters (SoftmaxLoss classifier, ContrastiveTension logit scale). */
function compareParamGrads(loss: ParityLoss, expected: Record<string, Nested> | undefined, compare: Comparison): void {
  if (expected === undefined) return;
  for (const [key, values] of Object.entries(expected)) {
    compare.array(`grad_params.${key}`, gradValues(findParameter(loss, key)), values);
  }
}

/** A loss parameter by the reference's name ("classifier.weight", "logit_scale") or its camelCase form. */
function findParameter(loss: ParityLoss, key: string): Tensor {
  const named = loss.namedParameters();
  const parameter = named.get(key) ?? named.get(camelCase(key));
  if (parameter === undefined) {
    throw new Error(
      `${loss.constructor.name} has no parameter '${key}' (it has: ${[...named.keys()].join(", ") || "none"})`,
    );
  }
  return parameter;
}

function compareGrads(compare: Comparison, label: string, inputs: Tensor[], expected: Nested[] | undefined): void {
  if (expected === undefined) throw new Error(`the case has no ${label}`);
  if (expected.length !== inputs.length) {
    throw new Error(`${label} has ${expected.length} entries for ${inputs.length} inputs`);
  }
  inputs.forEach((input, i) => compare.array(`${label}[${i}]`, gradValues(input), expected[i]!));
}

/** The gradient of a leaf as numbers (zeros when it received none). */
function gradValues(leaf: Tensor): number[] {
  const grad = leaf.grad;
  if (grad === null) return new Array<number>(leaf.numel).fill(0);
  try {
    return Array.from(grad.toTypedArray(), Number);
  } finally {
    grad.dispose();
  }
}

/** Tracks the worst |actual - expected| / tolerance over the arrays of one case. */
class Comparison {
  worst = 0;
  worstText: string | null = null;
  readonly #rtol: number;
  readonly #atolFrac: number;

  constructor(dtype: ParityDType) {
    ({ rtol: this.#rtol, atolFrac: this.#atolFrac } = PARITY_TOLERANCES[dtype]);
  }

  scalar(label: string, actual: number, expected: number): void {
    this.array(label, [actual], expected);
  }

  array(label: string, actual: number[], expected: Nested): void {
    const flat = flatten(expected);
    if (flat.length !== actual.length) {
      this.#record(label, Number.POSITIVE_INFINITY, `${label}: ${actual.length} values, expected ${flat.length}`);
      return;
    }
    const scale = Math.max(1, ...flat.map(Math.abs));
    flat.forEach((e, i) => {
      const a = actual[i]!;
      const tolerance = this.#rtol * Math.abs(e) + this.#atolFrac * scale;
      const ratio = Number.isFinite(a) ? Math.abs(a - e) / tolerance : Number.POSITIVE_INFINITY;
      this.#record(
        label,
        ratio,
        `${label} element ${i}: got ${a}, expected ${e} (${ratio.toPrecision(3)} of tolerance)`,
      );
    });
  }

  #record(label: string, ratio: number, text: string): void {
    if (!(ratio <= this.worst)) {
      this.worst = ratio;
      this.worstText = text;
    }
  }
}
