// The default random generators: seeding and saving/restoring their state.
import { native } from "./native.js";
import { Tensor } from "./tensor.js";

/** Seeds the CPU generator and every CUDA generator (torch.manual_seed). */
export function manualSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new RangeError(`manualSeed: seed must be a non-negative integer, got ${seed}`);
  native.manualSeed(seed);
}

/** The seed the generator of `device` was last seeded with. */
export function initialSeed(device = "cpu"): number {
  return native.initialSeed(device);
}

/** A copy of the generator's state (a uint8 tensor), to restore later with setRngState. */
export function getRngState(device = "cpu"): Tensor {
  return new Tensor(native.getRngState(device));
}

export function setRngState(state: Tensor, device = "cpu"): void {
  if (state.dtype !== "uint8")
    throw new TypeError(`setRngState: state must be a uint8 tensor from getRngState, got ${state.dtype}`);
  native.setRngState(state.handle, device);
}

/**
 * Runs `fn`, then restores the generator state to what it was before, so random draws inside do
 * not disturb the sequence outside (torch.random.fork_rng).
 */
export function forkRng<T>(fn: () => T, device = "cpu"): T {
  const saved = getRngState(device);
  try {
    return fn();
  } finally {
    setRngState(saved, device);
    saved.dispose();
  }
}
