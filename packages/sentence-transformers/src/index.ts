// stts: sentence-transformers for TypeScript. Models, losses and training land here
// (see the models, losses and training issues); for now it re-exports the engine.
export * as torch from "@stts/torch";
