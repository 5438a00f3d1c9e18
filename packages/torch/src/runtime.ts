// Threads, devices and build information.
import { native, type BuildInfo } from "./native.js";

/**
 * Sets the number of intra-op threads libtorch uses. The default is libtorch's (one per core);
 * OMP_WAIT_POLICY defaults to "passive" when unset (see bench/README.md for why).
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: expected a positive integer, got ${n}`);
  native.setNumThreads(n);
}

export function getNumThreads(): number {
  return native.getNumThreads();
}

export const cuda = {
  /** Whether this libtorch was built with CUDA and a GPU is visible. */
  isAvailable(): boolean {
    return native.cudaIsAvailable();
  },
  deviceCount(): number {
    return native.cudaDeviceCount();
  },
};

/** The libtorch version, its parallel backend and its build configuration. */
export function buildInfo(): BuildInfo {
  return native.buildInfo();
}

/** Whether the libtorch stts runs on is version major.minor or newer (buildInfo().version, e.g. "2.13.0"). */
export function libtorchVersionAtLeast(major: number, minor: number): boolean {
  const [actualMajor = 0, actualMinor = 0] = buildInfo().version.split(".").map(Number);
  return actualMajor > major || (actualMajor === major && actualMinor >= minor);
}

/** Number of tensor handles not yet disposed or collected (for leak tests). */
export function liveTensorCount(): number {
  return native.liveCount();
}

/**
 * Number of tensor handles the garbage collector freed because nobody disposed them: leaks that
 * the finalizer backstop caught. Leak tests compare live + finalized before and after.
 */
export function finalizedTensorCount(): number {
  return native.finalizedCount();
}
