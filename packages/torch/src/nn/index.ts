// torch.nn: modules and initialisers.
export {
  Module,
  ModuleList,
  StateDictError,
  functionalCall,
  type StateDictOptions,
  type LoadStateDictOptions,
  type LoadStateDictResult,
  type ShapeMismatch,
  type ReplaceOptions,
} from "./module.js";
export { Linear, type LinearOptions } from "./linear.js";
export { Embedding, type EmbeddingOptions } from "./embedding.js";
export { LayerNorm, type LayerNormOptions } from "./layer-norm.js";
export { Dropout } from "./dropout.js";
export * as init from "./init.js";
