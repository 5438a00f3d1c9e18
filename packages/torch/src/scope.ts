// Deterministic memory management: tensors created inside `scope(fn)` are freed when it returns,
// except the ones it returns. Like tf.tidy or TorchSharp's DisposeScope.

/** Anything a scope can track and free. */
export interface Disposable {
  dispose(): void;
  /** @internal the scope currently responsible for freeing this object, if any */
  owner: Scope | null;
}

export class Scope {
  readonly members = new Set<Disposable>();
}

const stack: Scope[] = [];

/** @internal Registers a new object with the innermost scope (untracked outside any scope). */
export function track(item: Disposable): void {
  const current = stack[stack.length - 1];
  if (current !== undefined) {
    current.members.add(item);
    item.owner = current;
  } else {
    item.owner = null;
  }
}

/** @internal Forgets an object that was disposed by hand. */
export function untrack(item: Disposable): void {
  item.owner?.members.delete(item);
  item.owner = null;
}

/**
 * Runs `fn` and frees every tensor created inside it, except those found in its return value
 * (a tensor, or arrays / plain objects / Maps holding tensors), which move to the enclosing scope.
 * Scopes nest. If `fn` throws, everything it created is freed and the error propagates.
 *
 * `scope` is synchronous: `fn` must not return a Promise (tensors created after an `await`
 * would escape). For async code, create a scope around each synchronous step.
 *
 * @example
 * const loss = torch.scope(() => model.forward(x).pow(2).mean()); // intermediates freed
 */
export function scope<T>(fn: () => T): T {
  const current = new Scope();
  stack.push(current);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    stack.pop();
    disposeMembers(current, new Set());
    throw error;
  }
  stack.pop();
  if (isThenable(result)) {
    disposeMembers(current, new Set());
    throw new TypeError(
      "scope(fn): fn returned a Promise; scope is synchronous. Wrap each synchronous step in its own scope instead.",
    );
  }
  const kept = new Set<Disposable>();
  collect(result, kept, new Set());
  disposeMembers(current, kept);
  const parent = stack[stack.length - 1] ?? null;
  for (const item of kept) {
    if (item.owner !== current) continue;
    item.owner = parent;
    parent?.members.add(item);
  }
  return result;
}

/** Takes a tensor (or module-held object) out of scope tracking, so no scope will free it. */
export function keep<T extends Disposable>(item: T): T {
  untrack(item);
  return item;
}

function disposeMembers(scopeToClear: Scope, kept: Set<Disposable>): void {
  for (const item of [...scopeToClear.members]) {
    if (!kept.has(item)) item.dispose();
  }
}

function isThenable(value: unknown): boolean {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

function isDisposable(value: object): value is Disposable {
  return "owner" in value && typeof (value as { dispose?: unknown }).dispose === "function";
}

function collect(value: unknown, into: Set<Disposable>, seen: Set<object>): void {
  if (typeof value !== "object" || value === null || seen.has(value)) return;
  seen.add(value);
  if (isDisposable(value)) {
    into.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) collect(item, into, seen);
  } else if (value instanceof Map) {
    for (const item of value.values()) collect(item, into, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value)) collect(item, into, seen);
  }
}
