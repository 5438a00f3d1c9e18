// Autograd entry points: backward, grad, and the thread-local grad mode.
#include <torch/csrc/autograd/autograd.h>

#include "common.h"

namespace stts {

namespace {

std::vector<at::Tensor> toTensors(const Napi::Value& value, const char* what) {
  std::vector<at::Tensor> out;
  if (value.IsNull() || value.IsUndefined()) return out;
  auto array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value item = array.Get(i);
    out.push_back(item.IsNull() || item.IsUndefined() ? at::Tensor() : unwrapTensor(item, what));
  }
  return out;
}

c10::optional<bool> optionalBool(const Napi::Value& value) {
  if (value.IsNull() || value.IsUndefined()) return c10::nullopt;
  return value.ToBoolean().Value();
}

// backward(tensors[], grads[] | null, retainGraph?: boolean, createGraph: boolean)
Napi::Value backward(const Napi::CallbackInfo& info) {
  auto tensors = toTensors(info[0], "tensors");
  auto grads = toTensors(info[1], "gradTensors");
  torch::autograd::backward(tensors, grads, optionalBool(info[2]), info[3].ToBoolean().Value());
  return info.Env().Undefined();
}

// grad(outputs[], inputs[], gradOutputs[] | null, retainGraph?, createGraph, allowUnused) -> (handle | null)[]
Napi::Value grad(const Napi::CallbackInfo& info) {
  auto outputs = toTensors(info[0], "outputs");
  auto inputs = toTensors(info[1], "inputs");
  auto gradOutputs = toTensors(info[2], "gradOutputs");
  auto result = torch::autograd::grad(outputs, inputs, gradOutputs, optionalBool(info[3]), info[4].ToBoolean().Value(),
                                      info[5].ToBoolean().Value());
  auto out = Napi::Array::New(info.Env(), result.size());
  for (size_t i = 0; i < result.size(); i++) out.Set(static_cast<uint32_t>(i), wrapTensor(info.Env(), result[i]));
  return out;
}

Napi::Value setGradEnabled(const Napi::CallbackInfo& info) {
  c10::GradMode::set_enabled(info[0].ToBoolean().Value());
  return info.Env().Undefined();
}

Napi::Value isGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled());
}

}  // namespace

void initAutograd(Napi::Env env, Napi::Object exports) {
  define<backward>(env, exports, "backward");
  define<grad>(env, exports, "autogradGrad");
  define<setGradEnabled>(env, exports, "setGradEnabled");
  define<isGradEnabled>(env, exports, "isGradEnabled");
}

}  // namespace stts
