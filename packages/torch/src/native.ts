// Loads the native binding. Everything that crosses into C++ goes through the `native` object.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

/** An opaque reference to one at::Tensor, owned by exactly one Tensor object. */
export type NativeHandle = object & { readonly __nativeTensor: unique symbol };

/** What a native operator call may return. */
export type NativeValue = NativeHandle | number | boolean | string | null | undefined | NativeValue[];

export interface BuildInfo {
  version: string;
  parallel: string;
  config: string;
}

export interface NativeBinding {
  fromBuffer(data: ArrayBufferView, dtype: number, shape: number[]): NativeHandle;
  toBuffer(handle: NativeHandle): ArrayBuffer;
  dispose(handle: NativeHandle): void;
  isDisposed(handle: NativeHandle): boolean;
  liveCount(): number;
  finalizedCount(): number;
  shape(handle: NativeHandle): number[];
  dtype(handle: NativeHandle): number;
  device(handle: NativeHandle): string;
  requiresGrad(handle: NativeHandle): boolean;
  setRequiresGrad(handle: NativeHandle, flag: boolean): void;
  isLeaf(handle: NativeHandle): boolean;
  grad(handle: NativeHandle): NativeHandle | null;
  setGrad(handle: NativeHandle, grad: NativeHandle | null): void;
  retainGrad(handle: NativeHandle): void;
  gradFnName(handle: NativeHandle): string | null;
  sameStorage(a: NativeHandle, b: NativeHandle): boolean;
  resolveOp(name: string, overload: string): number;
  opSchema(id: number): string;
  opNames(): string[];
  callOp(id: number, ...args: unknown[]): NativeValue;
  backward(
    tensors: NativeHandle[],
    grads: (NativeHandle | null)[] | null,
    retainGraph: boolean | null,
    createGraph: boolean,
  ): void;
  autogradGrad(
    outputs: NativeHandle[],
    inputs: NativeHandle[],
    gradOutputs: (NativeHandle | null)[] | null,
    retainGraph: boolean | null,
    createGraph: boolean,
    allowUnused: boolean,
  ): (NativeHandle | null)[];
  setGradEnabled(flag: boolean): void;
  isGradEnabled(): boolean;
  manualSeed(seed: number): void;
  initialSeed(device?: string): number;
  getRngState(device?: string): NativeHandle;
  setRngState(state: NativeHandle, device?: string): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  buildInfo(): BuildInfo;
}

// OpenMP reads its wait policy once, when libtorch loads: set our default before that happens.
// Busy-waiting OpenMP workers starve the other threads on small machines (see bench/README.md).
process.env.OMP_WAIT_POLICY ??= "passive";

const here = dirname(fileURLToPath(import.meta.url));
const addonPath = join(here, "..", "..", "build", "Release", "stts_torch.node");

function load(): NativeBinding {
  const require = createRequire(import.meta.url);
  try {
    return require(addonPath) as NativeBinding;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `@stts/torch: could not load the native addon at ${addonPath}: ${reason}\n` +
        "Build it with `npm run build:native -w @stts/torch` after providing libtorch " +
        "(apt-get install libtorch-dev, or LIBTORCH=/path, or LIBTORCH_USE_PYTORCH=1).",
    );
  }
}

export const native: NativeBinding = load();
