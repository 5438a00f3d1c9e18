// @stts/torch: a TypeScript API over libtorch.
export { Tensor, type NestedArray, type ValuesIndices, type BackwardOptions, type Reduction } from "./tensor.js";
export { DTYPES, ITEM_SIZE, isFloatingPoint, type DType, type TypedArray } from "./dtype.js";
export { scope, keep, type Disposable } from "./scope.js";
export { noGrad, enableGrad, isGradEnabled } from "./autograd.js";
export * as autograd from "./autograd.js";
export { manualSeed, initialSeed, getRngState, setRngState, forkRng } from "./random.js";
export {
  setNumThreads,
  getNumThreads,
  cuda,
  buildInfo,
  libtorchVersionAtLeast,
  liveTensorCount,
  finalizedTensorCount,
} from "./runtime.js";
export * from "./ops/creation.js";
export * from "./ops/shape.js";
export * from "./ops/math.js";
export { hasOp, opSchema, listOps, call as callOp } from "./ops/dispatch.js";
export * as functional from "./ops/nn-functional.js";
export {
  loadSafetensors,
  loadSafetensorsSync,
  parseSafetensors,
  readSafetensorsHeader,
  saveSafetensors,
  saveSafetensorsSync,
  serializeSafetensors,
  SafetensorsError,
  type SafetensorsContents,
  type SafetensorsDType,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
  type SafetensorsTensors,
} from "./io/safetensors.js";
export * as nn from "./nn/index.js";
export * as optim from "./optim/index.js";
