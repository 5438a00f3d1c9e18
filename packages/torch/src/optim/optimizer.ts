// The optimizer base class: parameter groups, per-parameter state, zeroGrad, stateDict/loadStateDict,
// and helpers to flatten a state dict into named tensors + JSON (for safetensors checkpoints).
import { Tensor } from "../tensor.js";
import { keep, scope } from "../scope.js";
import { noGrad } from "../autograd.js";
import { emptyLike, scalarTensor } from "../ops/creation.js";
import { callInPlace } from "../ops/dispatch.js";

/** A value an optimizer option may take (a number, a flag, or a tuple such as AdamW's betas). */
export type OptionValue = number | boolean | readonly number[];

/** The options every optimizer has: a learning rate and a weight decay, settable per group. */
export interface GroupOptions {
  lr: number;
  weightDecay: number;
}

/**
 * One parameter group as the optimizer holds it: the parameters and every option, resolved.
 * `initialLr` is set by a learning-rate scheduler (PyTorch's `initial_lr`).
 */
export type ParamGroup<O extends GroupOptions = GroupOptions> = O & { params: Tensor[]; initialLr?: number };

/** A parameter group as a caller passes it: the parameters, and options that override the defaults. */
export type ParamGroupSpec<O extends GroupOptions = GroupOptions> = Partial<O> & {
  params: Tensor[];
  initialLr?: number;
};

/** What an optimizer constructor accepts: the parameters, or parameter groups. */
export type OptimizerParams<O extends GroupOptions = GroupOptions> = Tensor[] | ParamGroupSpec<O>[];

/** The state an optimizer keeps for one parameter (tensors such as `expAvg`, numbers such as `step`). */
export type ParamState = Record<string, Tensor | number>;

/** A parameter group in a state dict: parameter indices instead of tensors, plus the options. */
export interface SavedParamGroup {
  params: number[];
  [option: string]: OptionValue;
}

/**
 * An optimizer's state, as `stateDict()` returns it and `loadStateDict()` takes it (PyTorch's
 * `{state, param_groups}`): parameters are numbered in group order, from 0.
 */
export interface OptimizerStateDict {
  state: Map<number, ParamState>;
  paramGroups: SavedParamGroup[];
}

/** How one state entry key is typed: a tensor shaped like the parameter, or a number. */
export type StateKeyKind = "tensor" | "number";

/** The keys an optimizer's per-parameter state holds, for validating loaded state. */
export interface StateSpec {
  /** Keys that must be present (whenever the parameter has any state). */
  required: Record<string, StateKeyKind>;
  /** Keys that may be present. */
  optional: Record<string, StateKeyKind>;
}

/**
 * The base class of the optimizers (PyTorch's torch.optim.Optimizer): parameter groups with
 * per-group options, per-parameter state, `zeroGrad`, `stateDict` and `loadStateDict`.
 * Subclasses implement `step()` and describe their options and state.
 *
 * Parameters are leaf tensors (usually `keep()`'d, `requiresGrad`), each in at most one group.
 * The optimizer owns its state tensors: call `dispose()` to free them when done.
 *
 * @example
 * const opt = new torch.optim.AdamW([
 *   { params: weights, weightDecay: 0.01 },
 *   { params: biasesAndNorms, weightDecay: 0 },
 * ], { lr: 2e-5 });
 * opt.zeroGrad(); loss.backward(); opt.step();
 *
 * @param name     the optimizer's name, for error messages
 * @param params   tensors, or parameter groups `{params, ...options}`
 * @param defaults every option's value for groups that do not set it
 */
export abstract class Optimizer<O extends GroupOptions = GroupOptions, S extends ParamState = ParamState> {
  /** The options groups take when they do not set them. */
  readonly defaults: Readonly<O>;
  /** The parameter groups, with every option resolved (a scheduler changes `lr` here). */
  readonly paramGroups: ParamGroup<O>[] = [];
  /** Per-parameter state (created at a parameter's first step). */
  readonly state = new Map<Tensor, S>();
  /** The optimizer's name, used in error messages. */
  readonly name: string;

  protected constructor(name: string, params: OptimizerParams<O>, defaults: O) {
    this.name = name;
    this.validateOptions(defaults, `${name}`);
    this.defaults = Object.freeze(copyOptions(defaults) as O);
    if (!Array.isArray(params)) {
      throw new TypeError(
        `${name}: params must be an array of tensors or of parameter groups, got ${describe(params)}`,
      );
    }
    if (params.length === 0) throw new RangeError(`${name}: params is an empty list; expected parameters to optimize`);
    const allTensors = params.every((p) => p instanceof Tensor);
    const allGroups = params.every((p) => !(p instanceof Tensor) && typeof p === "object" && p !== null);
    if (!allTensors && !allGroups) {
      throw new TypeError(`${name}: params must be all tensors or all parameter groups {params, ...options}`);
    }
    if (allTensors) this.addParamGroup({ params: params as Tensor[] } as ParamGroupSpec<O>);
    else for (const group of params as ParamGroupSpec<O>[]) this.addParamGroup(group);
  }

  /** Checks a set of options, throwing an error that names the offending option. */
  protected abstract validateOptions(options: O, where: string): void;

  /** The keys of the per-parameter state, given the parameter's group (for loadStateDict). */
  protected abstract stateSpec(group: ParamGroup<O>): StateSpec;

  /** Performs one optimization step on every parameter that has a gradient. */
  abstract step(): void;

  /** Adds a parameter group (e.g. layers unfrozen during fine-tuning); missing options take the defaults. */
  addParamGroup(spec: ParamGroupSpec<O>): void {
    const where = `${this.name}: parameter group ${this.paramGroups.length}`;
    if (typeof spec !== "object" || spec === null || !Array.isArray(spec.params)) {
      throw new TypeError(`${where}: expected an object {params: Tensor[], ...options}, got ${describe(spec)}`);
    }
    const known = Object.keys(this.defaults);
    for (const key of Object.keys(spec)) {
      if (key !== "params" && key !== "initialLr" && !known.includes(key)) {
        throw new TypeError(`${where}: unknown option '${key}' (options: ${known.join(", ")})`);
      }
    }
    const seen = new Set<Tensor>();
    spec.params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new TypeError(`${where}: params[${i}] is ${describe(p)}, expected a Tensor`);
      if (p.isDisposed) throw new Error(`${where}: params[${i}] has been disposed`);
      if (!p.isFloatingPoint)
        throw new TypeError(`${where}: params[${i}] has dtype ${p.dtype}, expected a float dtype`);
      if (!p.isLeaf)
        throw new Error(`${where}: params[${i}] is not a leaf tensor; optimizers update leaf tensors only`);
      if (seen.has(p)) throw new Error(`${where}: params[${i}] appears twice in the group`);
      seen.add(p);
    });
    for (const group of this.paramGroups) {
      if (group.params.some((p) => seen.has(p))) {
        throw new Error(`${where}: some parameters already belong to another parameter group`);
      }
    }
    const options = copyOptions(this.defaults) as O;
    for (const key of known) {
      const value = (spec as Record<string, unknown>)[key];
      if (value !== undefined) (options as Record<string, unknown>)[key] = copyValue(value as OptionValue);
    }
    this.validateOptions(options, where);
    const group = { ...options, params: [...spec.params] } as ParamGroup<O>;
    if (spec.initialLr !== undefined) group.initialLr = checkNumber(spec.initialLr, `${where}: initialLr`);
    this.paramGroups.push(group);
  }

  /**
   * Resets the gradients of all parameters: to null (the default, as in PyTorch), or to zeros
   * in place when `setToNone` is false.
   */
  zeroGrad(setToNone = true): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (setToNone) {
          p.grad = null;
          continue;
        }
        scope(() => {
          const grad = p.grad;
          if (grad === null) return;
          if (grad.gradFn !== null) callInPlace("detach_", grad);
          else grad.requiresGrad = false;
          noGrad(() => grad.zero_());
        });
      }
    }
  }

  /**
   * The optimizer's state: `state` maps parameter indices (numbered across groups in order, from
   * 0) to their state, `paramGroups` holds each group's options and parameter indices.
   * The tensors are the optimizer's own state tensors, not copies (as in PyTorch): do not dispose
   * them, and clone them for a snapshot that later steps must not change.
   */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((group) => {
      const saved: SavedParamGroup = { params: [] };
      for (const [key, value] of Object.entries(group)) {
        if (key !== "params" && value !== undefined) saved[key] = copyValue(value as OptionValue);
      }
      saved.params = group.params.map((p) => {
        const id = index.size;
        index.set(p, id);
        return id;
      });
      return saved;
    });
    const state = new Map<number, ParamState>();
    for (const [p, entry] of this.state) {
      const id = index.get(p);
      if (id !== undefined) state.set(id, { ...entry });
    }
    return { state, paramGroups };
  }

  /**
   * Restores a state dict from `stateDict()` (of an optimizer of the same kind over parameters of
   * the same shapes, in the same groups). Everything is validated before anything changes; state
   * tensors are copied (converted to each parameter's dtype and device), so the dict stays the
   * caller's. Group options (lr, weightDecay, ..., initialLr) are restored too.
   */
  loadStateDict(dict: OptimizerStateDict): void {
    const where = `${this.name}.loadStateDict`;
    if (typeof dict !== "object" || dict === null || !Array.isArray(dict.paramGroups) || !(dict.state instanceof Map)) {
      throw new TypeError(`${where}: expected {state: Map<number, state>, paramGroups: [...]}, got ${describe(dict)}`);
    }
    const saved = dict.paramGroups;
    if (saved.length !== this.paramGroups.length) {
      throw new Error(
        `${where}: the state dict has ${saved.length} parameter groups, this optimizer has ${this.paramGroups.length}`,
      );
    }
    const known = Object.keys(this.defaults);
    const idToParam = new Map<number, { param: Tensor; group: ParamGroup<O> }>();
    const newGroups: ParamGroup<O>[] = saved.map((savedGroup, g) => {
      const current = this.paramGroups[g]!;
      const at = `${where}: paramGroups[${g}]`;
      if (typeof savedGroup !== "object" || savedGroup === null || !Array.isArray(savedGroup.params)) {
        throw new TypeError(`${at}: expected an object with a params array, got ${describe(savedGroup)}`);
      }
      if (savedGroup.params.length !== current.params.length) {
        throw new Error(
          `${at} has ${savedGroup.params.length} parameters, this optimizer's group ${g} has ${current.params.length}`,
        );
      }
      const options = copyOptions(current);
      delete options.params;
      delete options.initialLr;
      for (const [key, value] of Object.entries(savedGroup)) {
        if (key === "params") continue;
        if (key !== "initialLr" && !known.includes(key)) {
          throw new TypeError(`${at}: unknown option '${key}' (options: ${known.join(", ")}, initialLr)`);
        }
        options[key] = copyValue(value);
      }
      this.validateOptions(options as unknown as O, at);
      if (options.initialLr !== undefined) checkNumber(options.initialLr, `${at}.initialLr`);
      const group = { ...options, params: current.params } as ParamGroup<O>;
      savedGroup.params.forEach((id, i) => {
        if (!Number.isInteger(id) || id < 0)
          throw new TypeError(`${at}.params[${i}] is ${describe(id)}, expected an index`);
        if (idToParam.has(id)) throw new Error(`${at}.params[${i}]: parameter index ${id} appears more than once`);
        idToParam.set(id, { param: current.params[i]!, group });
      });
      return group;
    });
    for (const [id, entry] of dict.state) {
      const target = idToParam.get(id);
      if (target === undefined)
        throw new Error(`${where}: state has an entry for parameter ${id}, which no group lists`);
      this.checkEntry(entry, target.param, this.stateSpec(target.group), `${where}: state[${id}]`);
    }
    // Validated: replace the state and the groups.
    const newState = noGrad(() =>
      scope(() => {
        const built = new Map<Tensor, S>();
        for (const [id, entry] of dict.state) {
          const { param } = idToParam.get(id)!;
          const copy: ParamState = {};
          for (const [key, value] of Object.entries(entry)) {
            copy[key] = typeof value === "number" ? value : keep(emptyLike(param).copy_(value));
          }
          built.set(param, copy as S);
        }
        return built;
      }),
    );
    this.disposeState();
    for (const [param, entry] of newState) this.state.set(param, entry);
    this.paramGroups.splice(0, this.paramGroups.length, ...newGroups);
  }

  /** Frees the optimizer's state tensors (the parameters stay the caller's). The optimizer can go on: state restarts. */
  dispose(): void {
    this.disposeState();
  }

  private disposeState(): void {
    for (const entry of this.state.values()) {
      for (const value of Object.values(entry)) if (value instanceof Tensor) value.dispose();
    }
    this.state.clear();
  }

  private checkEntry(entry: ParamState, param: Tensor, spec: StateSpec, at: string): void {
    if (typeof entry !== "object" || entry === null)
      throw new TypeError(`${at}: expected an object, got ${describe(entry)}`);
    if (Object.keys(entry).length === 0) return;
    for (const key of Object.keys(spec.required)) {
      if (!(key in entry))
        throw new Error(`${at}: missing '${key}' (expected keys: ${Object.keys(spec.required).join(", ")})`);
    }
    for (const [key, value] of Object.entries(entry)) {
      const kind = spec.required[key] ?? spec.optional[key];
      if (kind === undefined) {
        const keys = [...Object.keys(spec.required), ...Object.keys(spec.optional)];
        throw new Error(`${at}: unknown key '${key}' (expected keys: ${keys.join(", ")})`);
      }
      if (kind === "number") {
        if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
          throw new TypeError(`${at}.${key} is ${describe(value)}, expected a non-negative number`);
        }
        continue;
      }
      if (!(value instanceof Tensor)) throw new TypeError(`${at}.${key} is ${describe(value)}, expected a Tensor`);
      if (value.isDisposed) throw new Error(`${at}.${key} has been disposed`);
      const [got, want] = [value.shape, param.shape];
      if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
        throw new Error(`${at}.${key} has shape [${got.join(", ")}], its parameter has shape [${want.join(", ")}]`);
      }
      if (!value.isFloatingPoint) throw new TypeError(`${at}.${key} has dtype ${value.dtype}, expected a float dtype`);
    }
  }
}

// ---- flattening a state dict for safetensors + JSON ------------------------------------------------

/** The JSON half of a flattened optimizer state dict (see optimizerStateToTensors). */
export interface OptimizerStateMeta {
  format: "stts-optimizer-state";
  version: 1;
  /** Per parameter index, the state entries that are numbers (the tensors are in `tensors`). */
  state: Record<string, Record<string, number>>;
  paramGroups: SavedParamGroup[];
}

const FORMAT = "stts-optimizer-state";

/**
 * Flattens an optimizer state dict into named tensors (`state.<param index>.<key>`, e.g.
 * "state.0.expAvg") and a JSON-able object holding everything else, so a trainer can write the
 * tensors with safetensors and the rest as JSON. The tensors are the dict's own (not copies).
 *
 * @example
 * const { tensors, meta } = torch.optim.optimizerStateToTensors(opt.stateDict());
 * saveSafetensors("optimizer.safetensors", tensors); writeFileSync("optimizer.json", JSON.stringify(meta));
 */
export function optimizerStateToTensors(dict: OptimizerStateDict): {
  tensors: Record<string, Tensor>;
  meta: OptimizerStateMeta;
} {
  const tensors: Record<string, Tensor> = {};
  const state: Record<string, Record<string, number>> = {};
  for (const [id, entry] of dict.state) {
    if (!Number.isInteger(id) || id < 0)
      throw new TypeError(`optimizerStateToTensors: state key ${id} is not an index`);
    const numbers: Record<string, number> = {};
    for (const [key, value] of Object.entries(entry)) {
      if (key.includes(".")) throw new Error(`optimizerStateToTensors: state[${id}] key '${key}' contains a '.'`);
      if (value instanceof Tensor) tensors[`state.${id}.${key}`] = value;
      else if (typeof value === "number" && Number.isFinite(value)) numbers[key] = value;
      else throw new TypeError(`optimizerStateToTensors: state[${id}].${key} is ${describe(value)}`);
    }
    state[String(id)] = numbers;
  }
  const paramGroups = dict.paramGroups.map((group) => {
    const copy: SavedParamGroup = { params: [...group.params] };
    for (const [key, value] of Object.entries(group)) if (key !== "params") copy[key] = copyValue(value);
    return copy;
  });
  return { tensors, meta: { format: FORMAT, version: 1, state, paramGroups } };
}

/**
 * Rebuilds an optimizer state dict from `optimizerStateToTensors`' output (e.g. read back from a
 * safetensors file and a JSON file), for `loadStateDict`. The dict refers to the given tensors:
 * `loadStateDict` copies them, after which the caller may dispose them.
 */
export function optimizerStateFromTensors(tensors: Record<string, Tensor>, meta: unknown): OptimizerStateDict {
  const where = "optimizerStateFromTensors";
  if (typeof meta !== "object" || meta === null)
    throw new TypeError(`${where}: meta must be an object, got ${describe(meta)}`);
  const m = meta as Partial<OptimizerStateMeta>;
  if (m.format !== FORMAT || m.version !== 1) {
    throw new Error(
      `${where}: meta.format/version must be '${FORMAT}'/1, got ${describe(m.format)}/${describe(m.version)}`,
    );
  }
  if (!Array.isArray(m.paramGroups)) throw new TypeError(`${where}: meta.paramGroups must be an array`);
  if (typeof m.state !== "object" || m.state === null) throw new TypeError(`${where}: meta.state must be an object`);
  const state = new Map<number, ParamState>();
  const entryFor = (key: string): ParamState => {
    const id = Number(key);
    if (!/^\d+$/.test(key) || !Number.isSafeInteger(id)) throw new Error(`${where}: '${key}' is not a parameter index`);
    let entry = state.get(id);
    if (entry === undefined) state.set(id, (entry = {}));
    return entry;
  };
  for (const [key, numbers] of Object.entries(m.state)) {
    const entry = entryFor(key);
    if (typeof numbers !== "object" || numbers === null)
      throw new TypeError(`${where}: meta.state[${key}] must be an object`);
    for (const [name, value] of Object.entries(numbers)) {
      if (typeof value !== "number") throw new TypeError(`${where}: meta.state[${key}].${name} must be a number`);
      entry[name] = value;
    }
  }
  for (const [name, tensor] of Object.entries(tensors)) {
    const match = /^state\.(\d+)\.([^.]+)$/.exec(name);
    if (match === null) throw new Error(`${where}: tensor name '${name}' is not of the form state.<index>.<key>`);
    if (!(tensor instanceof Tensor)) throw new TypeError(`${where}: tensors['${name}'] is not a Tensor`);
    entryFor(match[1]!)[match[2]!] = tensor;
  }
  const paramGroups = m.paramGroups.map((group, g) => {
    if (typeof group !== "object" || group === null || !Array.isArray(group.params)) {
      throw new TypeError(`${where}: meta.paramGroups[${g}] must be an object with a params array`);
    }
    const copy: SavedParamGroup = { params: [...group.params] };
    for (const [key, value] of Object.entries(group)) if (key !== "params") copy[key] = copyValue(value);
    return copy;
  });
  return { state, paramGroups };
}

// ---- helpers --------------------------------------------------------------------------------------

/**
 * @internal `base ** exponent` computed by the C library's pow (through libtorch's scalar kernel),
 * which is what CPython's float `**` calls. V8's Math.pow differs from it in the last bit for about
 * 1% of (beta, step) pairs, which would make bias corrections, and so parameters, differ from PyTorch's.
 */
export function libmPow(base: number, exponent: number): number {
  return scope(() =>
    noGrad(() =>
      scalarTensor(base, { dtype: "float64" })
        .pow(scalarTensor(exponent, { dtype: "float64" }))
        .item(),
    ),
  );
}

/** @internal Checks that an option is a finite number within [min, max) or [min, max]. */
export function checkRange(value: unknown, what: string, min: number, max = Infinity, maxInclusive = true): number {
  const ok =
    typeof value === "number" && Number.isFinite(value) && value >= min && (maxInclusive ? value <= max : value < max);
  if (!ok) {
    const range =
      max !== Infinity ? ` in [${min}, ${max}${maxInclusive ? "]" : ")"}` : min !== -Infinity ? ` >= ${min}` : "";
    throw new RangeError(`${what} must be a finite number${range}, got ${describe(value)}`);
  }
  return value as number;
}

/** @internal Checks that an option is a boolean. */
export function checkBoolean(value: unknown, what: string): boolean {
  if (typeof value !== "boolean") throw new TypeError(`${what} must be a boolean, got ${describe(value)}`);
  return value;
}

function checkNumber(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new TypeError(`${what} must be a finite number, got ${describe(value)}`);
  }
  return value;
}

function copyValue<V extends OptionValue>(value: V): V {
  return (Array.isArray(value) ? [...(value as number[])] : value) as V;
}

function copyOptions(options: object): Record<string, unknown> {
  const out = {} as Record<string, unknown>;
  for (const [key, value] of Object.entries(options)) out[key] = copyValue(value as OptionValue);
  return out;
}

/** @internal A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value instanceof Tensor) return value.toString();
  if (Array.isArray(value)) return `[${value.map(describe).join(", ")}]`;
  if (typeof value === "string") return `'${value}'`;
  if (typeof value === "object" && value !== null) return value.constructor?.name ?? "an object";
  return String(value);
}
