// The Module base class (torch.nn.Module): a tree of named parameters, buffers and submodules.
import { Tensor } from "../tensor.js";
import { DTYPES, isFloatingPoint, type DType } from "../dtype.js";
import { keep } from "../scope.js";
import { noGrad } from "../autograd.js";

/** Options of `Module.stateDict`. */
export interface StateDictOptions {
  /**
   * Return the module's own tensors instead of detached views (default false). The live tensors
   * belong to the module: do not dispose them.
   */
  keepVars?: boolean;
}

/** Options of `Module.loadStateDict`. */
export interface LoadStateDictOptions {
  /** Throw when keys are missing from, or unexpected in, the state dict (default true). */
  strict?: boolean;
}

/** The keys `loadStateDict` could not match (both empty after a successful strict load). */
export interface LoadStateDictResult {
  /** Keys the module has that the state dict lacks. */
  missingKeys: string[];
  /** Keys the state dict has that the module lacks. */
  unexpectedKeys: string[];
}

/** A key present on both sides with different shapes. */
export interface ShapeMismatch {
  key: string;
  /** The shape in the module. */
  expected: number[];
  /** The shape in the state dict. */
  got: number[];
}

/** Options of `setParameter` and `setBuffer`. */
export interface ReplaceOptions {
  /**
   * Dispose the tensor being replaced (default true). It is kept anyway when it is the new tensor
   * or is still registered somewhere else in the module `setParameter` was called on.
   */
  disposeOld?: boolean;
}

/** Thrown by `loadStateDict` when keys or shapes do not match; lists every problem at once. */
export class StateDictError extends Error {
  constructor(
    readonly moduleName: string,
    readonly missingKeys: string[],
    readonly unexpectedKeys: string[],
    readonly shapeMismatches: ShapeMismatch[],
  ) {
    const lines = [`Error(s) in loading state dict for ${moduleName}:`];
    const quote = (keys: string[]) => keys.map((k) => `"${k}"`).join(", ");
    if (missingKeys.length > 0) {
      lines.push(`  Missing key(s) (in the module, not in the state dict): ${quote(missingKeys)}`);
    }
    if (unexpectedKeys.length > 0) {
      lines.push(`  Unexpected key(s) (in the state dict, not in the module): ${quote(unexpectedKeys)}`);
    }
    for (const { key, expected, got } of shapeMismatches) {
      lines.push(`  Shape mismatch for "${key}": expected [${expected.join(", ")}] (module), got [${got.join(", ")}]`);
    }
    if (shapeMismatches.length === 0) {
      lines.push("  (pass { strict: false } to load the matching keys and get the others back)");
    }
    super(lines.join("\n"));
    this.name = "StateDictError";
  }
}

type SlotKind = "parameter" | "buffer";

/** One place a tensor is registered: a module's parameter or buffer table and the local name. */
interface Slot {
  table: Map<string, Tensor>;
  name: string;
  tensor: Tensor;
}

/** Every registration in a module tree, for functionalCall (set by Module's static block). */
let slotsOf: (module: Module) => Slot[] = () => [];

/**
 * The base class of layers and models (torch.nn.Module). A module owns named parameters
 * (trainable tensors, `requiresGrad` set), buffers (state that is not trained, e.g. position ids)
 * and submodules, each kept in insertion order. Names of nested tensors are dotted paths, as in
 * PyTorch checkpoints: "encoder.layer.0.attention.self.query.weight".
 *
 * Subclasses register their tensors and submodules in the constructor and define `forward(...)`.
 * Registered tensors are `keep()`-ed, so no `scope` frees them; `dispose()` frees them all.
 *
 * Weight tying: register the same Tensor object in two places, e.g.
 * `decoder.setParameter("weight", embeddings.weight)`. `namedParameters()`/`parameters()` list
 * it once (under the first name met), `stateDict()` lists it under every name (as PyTorch does),
 * `to()` converts it once and keeps it shared, `loadStateDict()` writes it in place (the last key
 * wins). Tying is by object identity: two Tensor handles to the same memory are not de-duplicated.
 *
 * @example
 * class Mlp extends nn.Module {
 *   readonly fc1 = this.registerModule("fc1", new nn.Linear(4, 8));
 *   readonly fc2 = this.registerModule("fc2", new nn.Linear(8, 2));
 *   override forward(x: Tensor): Tensor {
 *     return torch.scope(() => this.fc2.forward(functional.relu(this.fc1.forward(x))));
 *   }
 * }
 * const mlp = new Mlp();
 * [...mlp.namedParameters().keys()]; // ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
 * mlp.eval();                         // training = false here and in every submodule
 * mlp.dispose();                      // frees every parameter and buffer
 */
export class Module {
  /** Whether the module is in training mode (Dropout is active); set with `train()` / `eval()`. */
  training = true;
  readonly #parameters = new Map<string, Tensor>();
  readonly #buffers = new Map<string, Tensor>();
  readonly #nonPersistent = new Set<string>();
  readonly #modules = new Map<string, Module>();

  static {
    slotsOf = (module) => module.#slots();
  }

  /**
   * The module's computation. Subclasses override it with their own signature, e.g.
   * `override forward(input: Tensor): Tensor`. The base version throws.
   */
  forward(..._inputs: never[]): unknown {
    throw new Error(`${this.constructor.name} does not define forward(); subclasses must override it`);
  }

  // ---- registration -----------------------------------------------------------------------------

  /**
   * Registers `tensor` (a floating-point leaf) as a parameter: sets `requiresGrad` (unless
   * `requiresGrad: false`, for a frozen parameter), takes it out of scope tracking, and returns it.
   * The module now owns it (`dispose()` frees it). The name must be new; use `setParameter` to
   * replace a parameter.
   */
  registerParameter(name: string, tensor: Tensor, options: { requiresGrad?: boolean } = {}): Tensor {
    this.#checkNewName(name, "parameter");
    this.#checkParameterTensor(name, tensor);
    tensor.requiresGrad = options.requiresGrad ?? true;
    this.#parameters.set(name, keep(tensor));
    return tensor;
  }

  /**
   * Registers a buffer: module state that is not trained (no `requiresGrad` change). Persistent
   * buffers (the default) are part of `stateDict()`; non-persistent ones are not.
   */
  registerBuffer(name: string, tensor: Tensor, options: { persistent?: boolean } = {}): Tensor {
    this.#checkNewName(name, "buffer");
    checkLive(tensor, `${this.constructor.name}.registerBuffer('${name}')`);
    this.#buffers.set(name, keep(tensor));
    if (options.persistent === false) this.#nonPersistent.add(name);
    return tensor;
  }

  /** Registers a submodule under `name` (its tensors get the prefix "name.") and returns it. */
  registerModule<M extends Module>(name: string, module: M): M {
    this.#checkNewName(name, "module");
    if (!(module instanceof Module)) {
      throw new TypeError(`${this.constructor.name}.registerModule('${name}'): expected a Module`);
    }
    if ((module as Module) === this || module.#isAncestorOf(this)) {
      throw new Error(`${this.constructor.name}.registerModule('${name}'): a module cannot contain itself`);
    }
    this.#modules.set(name, module);
    return module;
  }

  /**
   * Replaces the parameter at `target` (a local name or a dotted path like "decoder.weight") with
   * `tensor`, which becomes a parameter (`requiresGrad` set, kept out of scopes). This is how weights
   * are tied: `model.setParameter("cls.decoder.weight", model.getParameter("embeddings.weight"))`.
   * The replaced tensor is disposed unless `disposeOld` is false or it is still registered elsewhere
   * in this module.
   */
  setParameter(target: string, tensor: Tensor, options: ReplaceOptions = {}): void {
    const { owner, name } = this.#resolveOwner(target);
    const old = owner.#parameters.get(name);
    if (old === undefined) {
      throw new Error(
        `${this.constructor.name}.setParameter('${target}'): no parameter of that name; use registerParameter to add one`,
      );
    }
    owner.#checkParameterTensor(name, tensor);
    tensor.requiresGrad = old.requiresGrad;
    owner.#parameters.set(name, keep(tensor));
    this.#disposeReplaced(old, tensor, options);
  }

  /** Replaces the buffer at `target` (local or dotted name); disposes the old one like setParameter. */
  setBuffer(target: string, tensor: Tensor, options: ReplaceOptions = {}): void {
    const { owner, name } = this.#resolveOwner(target);
    const old = owner.#buffers.get(name);
    if (old === undefined) {
      throw new Error(
        `${this.constructor.name}.setBuffer('${target}'): no buffer of that name; use registerBuffer to add one`,
      );
    }
    checkLive(tensor, `${this.constructor.name}.setBuffer('${target}')`);
    owner.#buffers.set(name, keep(tensor));
    this.#disposeReplaced(old, tensor, options);
  }

  // ---- lookup -----------------------------------------------------------------------------------

  /** The parameter at `target` (a local name or a dotted path); throws if there is none. */
  getParameter(target: string): Tensor {
    const { owner, name } = this.#resolveOwner(target);
    const tensor = owner.#parameters.get(name);
    if (tensor === undefined) {
      throw new Error(
        `${this.constructor.name}.getParameter('${target}'): no such parameter (${owner.constructor.name} has: ${[...owner.#parameters.keys()].join(", ") || "none"})`,
      );
    }
    return tensor;
  }

  /** The buffer at `target` (a local name or a dotted path); throws if there is none. */
  getBuffer(target: string): Tensor {
    const { owner, name } = this.#resolveOwner(target);
    const tensor = owner.#buffers.get(name);
    if (tensor === undefined) {
      throw new Error(
        `${this.constructor.name}.getBuffer('${target}'): no such buffer (${owner.constructor.name} has: ${[...owner.#buffers.keys()].join(", ") || "none"})`,
      );
    }
    return tensor;
  }

  /** The submodule at a dotted path ("encoder.layer.0"); "" is this module. */
  getSubmodule(target: string): Module {
    if (target === "") return this;
    return target.split(".").reduce<Module>((module, part) => {
      const next = module.#modules.get(part);
      if (next === undefined) {
        throw new Error(
          `${this.constructor.name}.getSubmodule('${target}'): ${module.constructor.name} has no submodule '${part}'`,
        );
      }
      return next;
    }, this);
  }

  /** This module's own parameter `name`, or null (for subclasses' optional tensors, e.g. a bias). */
  protected ownParameter(name: string): Tensor | null {
    return this.#parameters.get(name) ?? null;
  }

  /** This module's own buffer `name`, or null. */
  protected ownBuffer(name: string): Tensor | null {
    return this.#buffers.get(name) ?? null;
  }

  // ---- iteration --------------------------------------------------------------------------------

  /**
   * This module and every submodule, keyed by dotted path ("" for this one), parents before
   * children, each module once even if registered twice.
   */
  namedModules(prefix = ""): Map<string, Module> {
    const out = new Map<string, Module>();
    const seen = new Set<Module>();
    const visit = (module: Module, path: string) => {
      if (seen.has(module)) return;
      seen.add(module);
      out.set(path, module);
      for (const [name, child] of module.#modules) visit(child, path === "" ? name : `${path}.${name}`);
    };
    visit(this, prefix);
    return out;
  }

  /** The direct submodules by name, in registration order. */
  namedChildren(): Map<string, Module> {
    const out = new Map<string, Module>();
    const seen = new Set<Module>();
    for (const [name, child] of this.#modules) {
      if (seen.has(child)) continue;
      seen.add(child);
      out.set(name, child);
    }
    return out;
  }

  children(): Module[] {
    return [...this.namedChildren().values()];
  }

  modules(): Module[] {
    return [...this.namedModules().values()];
  }

  /**
   * Every parameter by dotted name: a module's own parameters first, then its submodules' in
   * registration order (PyTorch's order). A tensor registered twice (tied) is listed once, under
   * the first name. `recurse` false lists only this module's own.
   */
  namedParameters(options: { recurse?: boolean } = {}): Map<string, Tensor> {
    return this.#namedTensors("parameter", options.recurse ?? true);
  }

  /** The parameters, each tensor once (the live tensors: give them to an optimizer, do not dispose). */
  parameters(options: { recurse?: boolean } = {}): Tensor[] {
    return [...this.namedParameters(options).values()];
  }

  /** Every buffer (persistent or not) by dotted name, each tensor once. */
  namedBuffers(options: { recurse?: boolean } = {}): Map<string, Tensor> {
    return this.#namedTensors("buffer", options.recurse ?? true);
  }

  buffers(options: { recurse?: boolean } = {}): Tensor[] {
    return [...this.namedBuffers(options).values()];
  }

  // ---- state dict -------------------------------------------------------------------------------

  /**
   * The parameters and persistent buffers by dotted name, in PyTorch's order (a module's
   * parameters, then its buffers, then each submodule). Tied tensors appear under every name.
   *
   * By default the values are detached views: new handles sharing memory with the module's tensors
   * (like PyTorch's state_dict()), with `requiresGrad` false. They belong to the caller: dispose
   * them, or call stateDict() inside a scope. Writing into them writes into the module. With
   * `keepVars: true` the values are the module's own tensors (do not dispose those).
   */
  stateDict(options: StateDictOptions = {}): Map<string, Tensor> {
    const keepVars = options.keepVars ?? false;
    const out = new Map<string, Tensor>();
    for (const [key, slot] of this.#stateSlots()) out.set(key, keepVars ? slot.tensor : slot.tensor.detach());
    return out;
  }

  /**
   * Copies values into the module's parameters and persistent buffers in place (under noGrad),
   * converting dtype and device as needed; the state dict's tensors are not kept or disposed.
   * Everything is checked before anything is copied: with `strict` (default) missing or unexpected
   * keys throw a StateDictError listing them all; shape mismatches always throw. Without `strict`,
   * the matching keys are loaded and the others returned.
   *
   * @example
   * const { missingKeys } = model.loadStateDict(checkpoint, { strict: false });
   */
  loadStateDict(
    stateDict: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>,
    options: LoadStateDictOptions = {},
  ): LoadStateDictResult {
    const strict = options.strict ?? true;
    const entries: [string, Tensor][] =
      stateDict instanceof Map ? [...stateDict.entries()] : Object.entries(stateDict as Record<string, Tensor>);
    const slots = this.#stateSlots();
    const given = new Map(entries);
    const missingKeys = [...slots.keys()].filter((key) => !given.has(key));
    const unexpectedKeys = entries.map(([key]) => key).filter((key) => !slots.has(key));
    const shapeMismatches: ShapeMismatch[] = [];
    for (const [key, source] of entries) {
      const slot = slots.get(key);
      if (slot === undefined) continue;
      if (!(source instanceof Tensor)) throw new TypeError(`loadStateDict: value of "${key}" is not a Tensor`);
      checkLive(source, `loadStateDict: value of "${key}"`);
      const expected = slot.tensor.shape;
      const got = source.shape;
      if (!sameShape(expected, got)) shapeMismatches.push({ key, expected, got });
    }
    if (shapeMismatches.length > 0 || (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0))) {
      throw new StateDictError(this.constructor.name, missingKeys, unexpectedKeys, shapeMismatches);
    }
    noGrad(() => {
      for (const [key, source] of entries) slots.get(key)?.tensor.copy_(source);
    });
    return { missingKeys, unexpectedKeys };
  }

  // ---- modes, conversion, gradients, memory ------------------------------------------------------

  /** Sets `training` on this module and every submodule (Dropout is active only in training). */
  train(mode = true): this {
    for (const module of this.namedModules().values()) module.training = mode;
    return this;
  }

  /** `train(false)`. */
  eval(): this {
    return this.train(false);
  }

  /**
   * Converts every parameter and buffer in place: to a floating-point dtype (integer and bool
   * tensors, such as position ids, keep theirs, as in PyTorch) or to a device ("cpu", "cuda:0").
   * The module's tensors are replaced by converted ones (parameters keep `requiresGrad`, gradients
   * are converted too, tied tensors stay tied) and the old tensors are disposed, so tensors read
   * from the module before `to()` are no longer valid. Returns this module.
   */
  to(target: DType | string): this {
    const toDType = (DTYPES as string[]).includes(target);
    if (toDType ? !isFloatingPoint(target as DType) : !/^[a-z]+(:\d+)?$/.test(target) || DTYPE_LIKE.test(target)) {
      throw new TypeError(
        `${this.constructor.name}.to: expected a floating-point dtype (float32, float64, float16, bfloat16) or a device ("cpu", "cuda:0"), got '${target}'`,
      );
    }
    const converted = new Map<Tensor, Tensor>();
    const convert = (tensor: Tensor): Tensor => {
      const done = converted.get(tensor);
      if (done !== undefined) return done;
      let result = tensor;
      const unchanged = toDType ? !tensor.isFloatingPoint || tensor.dtype === target : tensor.device === target;
      if (!unchanged) {
        result = noGrad(() => {
          const fresh = tensor.to(target);
          fresh.requiresGrad = tensor.requiresGrad;
          const grad = tensor.grad;
          if (grad !== null) {
            const convertedGrad = grad.to(target);
            fresh.grad = convertedGrad;
            convertedGrad.dispose();
            grad.dispose();
          }
          return keep(fresh);
        });
      }
      converted.set(tensor, result);
      return result;
    };
    for (const slot of this.#slots()) slot.table.set(slot.name, convert(slot.tensor));
    for (const [old, fresh] of converted) if (old !== fresh) old.dispose();
    return this;
  }

  /**
   * Clears the gradients of every parameter: sets them to null (the default, like PyTorch 2), or
   * fills them with zeros when `setToNone` is false.
   */
  zeroGrad(setToNone = true): void {
    for (const parameter of this.parameters()) {
      if (setToNone) {
        parameter.grad = null;
        continue;
      }
      const grad = parameter.grad;
      if (grad === null) continue;
      noGrad(() => grad.zero_());
      grad.dispose();
    }
  }

  /**
   * Frees every parameter and buffer of this module and its submodules (a tensor tied into another
   * module is freed there too). The module must not be used afterwards.
   */
  dispose(): void {
    const seen = new Set<Tensor>();
    for (const slot of this.#slots()) {
      if (seen.has(slot.tensor)) continue;
      seen.add(slot.tensor);
      slot.tensor.dispose();
    }
  }

  /** Total number of elements in the parameters (tied ones counted once). */
  numParameters(): number {
    return this.parameters().reduce((total, p) => total + p.numel, 0);
  }

  // ---- printing ---------------------------------------------------------------------------------

  /** Extra text for `toString()` inside the parentheses, e.g. "inFeatures=4, outFeatures=3". */
  extraRepr(): string {
    return "";
  }

  /** The module tree, like PyTorch's repr: `Linear(inFeatures=4, outFeatures=3, bias=true)`. */
  toString(): string {
    const name = this.constructor.name;
    if (this.#modules.size === 0) return `${name}(${this.extraRepr()})`;
    const lines = [`${name}(`];
    if (this.extraRepr() !== "") lines.push(`  ${this.extraRepr()}`);
    for (const [childName, child] of this.#modules) {
      lines.push(`  (${childName}): ${child.toString().split("\n").join("\n  ")}`);
    }
    lines.push(")");
    return lines.join("\n");
  }

  // ---- internals ------------------------------------------------------------------------------

  #checkNewName(name: string, kind: SlotKind | "module"): void {
    const where = `${this.constructor.name}: cannot register ${kind} '${name}'`;
    if (typeof name !== "string" || name === "") throw new TypeError(`${where}: the name must be a non-empty string`);
    if (name.includes(".")) throw new TypeError(`${where}: the name must not contain "."`);
    const existing = this.#parameters.has(name)
      ? "parameter"
      : this.#buffers.has(name)
        ? "buffer"
        : this.#modules.has(name)
          ? "module"
          : null;
    if (existing !== null) {
      const hint = existing === kind && kind !== "module" ? ` (use set${capitalize(kind)} to replace it)` : "";
      throw new Error(`${where}: a ${existing} of that name is already registered${hint}`);
    }
  }

  #checkParameterTensor(name: string, tensor: Tensor): void {
    const where = `${this.constructor.name}: parameter '${name}'`;
    if (!(tensor instanceof Tensor)) throw new TypeError(`${where}: expected a Tensor`);
    checkLive(tensor, where);
    if (!tensor.isFloatingPoint) throw new TypeError(`${where} must be floating point, got ${tensor.dtype}`);
    if (!tensor.isLeaf) {
      throw new Error(`${where} must be a leaf tensor (it was computed by ${tensor.gradFn}); pass tensor.detach()`);
    }
  }

  #isAncestorOf(module: Module): boolean {
    for (const child of this.#modules.values()) if (child === module || child.#isAncestorOf(module)) return true;
    return false;
  }

  /** The module holding the last component of a dotted path, and that component. */
  #resolveOwner(target: string): { owner: Module; name: string } {
    const dot = target.lastIndexOf(".");
    if (dot < 0) return { owner: this, name: target };
    return { owner: this.getSubmodule(target.slice(0, dot)), name: target.slice(dot + 1) };
  }

  #disposeReplaced(old: Tensor, replacement: Tensor, options: ReplaceOptions): void {
    if (old === replacement || options.disposeOld === false) return;
    for (const slot of this.#slots()) if (slot.tensor === old) return;
    old.dispose();
  }

  /** Every parameter and buffer registration in the tree (each module once), duplicates included. */
  #slots(): Slot[] {
    const out: Slot[] = [];
    for (const module of this.namedModules().values()) {
      for (const [name, tensor] of module.#parameters) {
        out.push({ table: module.#parameters, name, tensor });
      }
      for (const [name, tensor] of module.#buffers) out.push({ table: module.#buffers, name, tensor });
    }
    return out;
  }

  #namedTensors(kind: SlotKind, recurse: boolean): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    const seen = new Set<Tensor>();
    const modules = recurse ? this.namedModules() : new Map<string, Module>([["", this]]);
    for (const [path, module] of modules) {
      for (const [name, tensor] of kind === "parameter" ? module.#parameters : module.#buffers) {
        if (seen.has(tensor)) continue;
        seen.add(tensor);
        out.set(path === "" ? name : `${path}.${name}`, tensor);
      }
    }
    return out;
  }

  /** The state dict's entries: no de-duplication of modules or tensors, as in PyTorch. */
  #stateSlots(prefix = "", out = new Map<string, Slot>()): Map<string, Slot> {
    for (const [name, tensor] of this.#parameters) {
      out.set(prefix + name, { table: this.#parameters, name, tensor });
    }
    for (const [name, tensor] of this.#buffers) {
      if (!this.#nonPersistent.has(name)) out.set(prefix + name, { table: this.#buffers, name, tensor });
    }
    for (const [name, child] of this.#modules) child.#stateSlots(`${prefix}${name}.`, out);
    return out;
  }
}

/**
 * Holds submodules in a list, registered under "0", "1", ... (torch.nn.ModuleList), so their
 * tensors get keys like "layer.0.attention.self.query.weight". It has no forward of its own.
 *
 * @example
 * const layers = new nn.ModuleList([new nn.Linear(4, 4), new nn.Linear(4, 4)]);
 * let h = x;
 * for (const layer of layers) h = layer.forward(h);
 * layers.at(-1);  // the last Linear
 *
 * @param modules the initial modules (default none); add more with `append`.
 */
export class ModuleList<M extends Module = Module> extends Module implements Iterable<M> {
  readonly #items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const module of modules) this.append(module);
  }

  /** Adds a module under the next index and returns this list. */
  append(module: M): this {
    this.registerModule(String(this.#items.length), module);
    this.#items.push(module);
    return this;
  }

  get length(): number {
    return this.#items.length;
  }

  /** The module at `index` (negative counts from the end); throws when out of range. */
  at(index: number): M {
    const i = index < 0 ? index + this.#items.length : index;
    const item = this.#items[i];
    if (!Number.isInteger(index) || item === undefined) {
      throw new RangeError(`ModuleList.at(${index}): index out of range for a list of ${this.#items.length}`);
    }
    return item;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.#items[Symbol.iterator]();
  }
}

/**
 * Runs `fn` with some of `module`'s parameters and buffers temporarily replaced by `tensors`
 * (keyed by dotted name), then restores the originals (torch.func.functional_call). The
 * replacements are not kept, converted or disposed. A replaced tensor that is tied elsewhere in the
 * module is replaced there too. Synchronous.
 *
 * @example
 * // gradients with respect to a candidate weight, without touching the module's own
 * const y = functionalCall(linear, new Map([["weight", w]]), () => linear.forward(x));
 */
export function functionalCall<T>(module: Module, tensors: ReadonlyMap<string, Tensor>, fn: () => T): T {
  // Every name, tied duplicates included (stateDict), plus the non-persistent buffers.
  const byName = module.stateDict({ keepVars: true });
  for (const [key, tensor] of module.namedBuffers()) byName.set(key, tensor);
  const replacement = new Map<Tensor, Tensor>();
  for (const [key, tensor] of tensors) {
    const original = byName.get(key);
    if (original === undefined) throw new Error(`functionalCall: ${module.constructor.name} has no tensor '${key}'`);
    const previous = replacement.get(original);
    if (previous !== undefined && previous !== tensor) {
      throw new Error(`functionalCall: '${key}' is tied to another key given a different tensor`);
    }
    replacement.set(original, tensor);
  }
  const swapped = slotsOf(module).filter((slot) => replacement.has(slot.tensor));
  for (const { table, name, tensor } of swapped) table.set(name, replacement.get(tensor)!);
  try {
    const result = fn();
    if (typeof (result as { then?: unknown } | null)?.then === "function") {
      throw new TypeError("functionalCall: fn must be synchronous");
    }
    return result;
  } finally {
    for (const { table, name, tensor } of swapped) table.set(name, tensor);
  }
}

/** Strings that look like a dtype rather than a device (a misspelt or non-floating dtype). */
const DTYPE_LIKE = /^(float|double|half|int|long|uint|bool|bfloat)/;

function checkLive(tensor: Tensor, where: string): void {
  if (tensor.isDisposed) throw new Error(`${where}: the tensor has been disposed`);
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((size, i) => size === b[i]);
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
