// Calls ATen operators by schema name ("add.Tensor", "sum.dim_IntList"), resolving each once.
// Arguments are positional in schema order; undefined takes the schema's default.
import { native, type NativeHandle, type NativeValue } from "../native.js";
import { Tensor } from "../tensor.js";

const ids = new Map<string, number>();

function resolve(name: string): number {
  let id = ids.get(name);
  if (id === undefined) {
    const dot = name.indexOf(".");
    const base = dot < 0 ? name : name.slice(0, dot);
    const overload = dot < 0 ? "" : name.slice(dot + 1);
    id = native.resolveOp(`aten::${base}`, overload);
    ids.set(name, id);
  }
  return id;
}

/** Whether this libtorch has an operator (e.g. "scaled_dot_product_attention"). */
export function hasOp(name: string): boolean {
  try {
    resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** Every operator this libtorch registers, as "aten::add.Tensor"; each is callable with `call`. */
export function listOps(): string[] {
  return native.opNames().sort();
}

/** The operator's schema as libtorch prints it, for error messages and debugging. */
export function opSchema(name: string): string {
  return native.opSchema(resolve(name));
}

function toNative(arg: unknown): unknown {
  if (arg instanceof Tensor) return arg.handle;
  if (Array.isArray(arg) && arg.some((item) => typeof item === "object")) return arg.map(toNative);
  return arg;
}

function fromNative(value: NativeValue): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(fromNative);
  return new Tensor(value as NativeHandle);
}

function invoke(name: string, args: unknown[]): NativeValue {
  const id = resolve(name);
  for (let i = 0; i < args.length; i++) args[i] = toNative(args[i]);
  return native.callOp(id, ...args);
}

/** Calls an operator and converts its results (tensors become new Tensor objects). */
export function call(name: string, ...args: unknown[]): unknown {
  return fromNative(invoke(name, args));
}

/** Calls an operator that returns one tensor. */
export function callTensor(name: string, ...args: unknown[]): Tensor {
  const out = invoke(name, args);
  if (out === null || typeof out !== "object" || Array.isArray(out)) {
    throw new TypeError(`aten::${name} did not return a tensor`);
  }
  return new Tensor(out as NativeHandle);
}

/** Calls an operator that returns several tensors (a tuple or a list). */
export function callTensors(name: string, ...args: unknown[]): Tensor[] {
  const out = invoke(name, args);
  if (!Array.isArray(out)) throw new TypeError(`aten::${name} did not return a list of tensors`);
  return out.map((item) => new Tensor(item as NativeHandle));
}

/** Calls an in-place operator (its result is the tensor the caller already holds). */
export function callInPlace(name: string, ...args: unknown[]): void {
  invoke(name, args);
}

/** Calls an operator that returns a number or a boolean. */
export function callScalar(name: string, ...args: unknown[]): number | boolean {
  return invoke(name, args) as number | boolean;
}
