// Process-wide settings: random generators, threads, devices, build information.
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/version.h>

#include <mutex>

#include "common.h"

namespace stts {

namespace {

at::Generator generatorFor(const Napi::Value& device) {
  std::string name = device.IsString() ? device.As<Napi::String>().Utf8Value() : "cpu";
  return at::globalContext().defaultGenerator(c10::Device(name));
}

int cudaDeviceCount() { return at::hasCUDA() ? static_cast<int>(at::detail::getCUDAHooks().getNumGPUs()) : 0; }

// manualSeed(seed): seeds the CPU generator and every CUDA generator.
Napi::Value manualSeed(const Napi::CallbackInfo& info) {
  uint64_t seed = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(seed);
  }
  for (int i = 0; i < cudaDeviceCount(); i++) {
    auto gen = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(i)));
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(seed);
  }
  return info.Env().Undefined();
}

Napi::Value initialSeed(const Napi::CallbackInfo& info) {
  auto gen = generatorFor(info[0]);
  return Napi::Number::New(info.Env(), static_cast<double>(gen.current_seed()));
}

// getRngState(device?) -> uint8 tensor handle
Napi::Value getRngState(const Napi::CallbackInfo& info) {
  auto gen = generatorFor(info[0]);
  std::lock_guard<std::mutex> lock(gen.mutex());
  return wrapTensor(info.Env(), gen.get_state());
}

// setRngState(handle, device?)
Napi::Value setRngState(const Napi::CallbackInfo& info) {
  const at::Tensor& state = unwrapTensor(info[0], "state");
  auto gen = generatorFor(info[1]);
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
  return info.Env().Undefined();
}

Napi::Value setNumThreads(const Napi::CallbackInfo& info) {
  at::set_num_threads(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

Napi::Value getNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value cudaIsAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), cudaDeviceCount() > 0);
}

Napi::Value cudaCount(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), cudaDeviceCount()); }

Napi::Value buildInfo(const Napi::CallbackInfo& info) {
  auto out = Napi::Object::New(info.Env());
  out.Set("version", TORCH_VERSION);
  out.Set("parallel", at::get_parallel_info());
  out.Set("config", at::show_config());
  return out;
}

}  // namespace

void initRuntime(Napi::Env env, Napi::Object exports) {
  define<manualSeed>(env, exports, "manualSeed");
  define<initialSeed>(env, exports, "initialSeed");
  define<getRngState>(env, exports, "getRngState");
  define<setRngState>(env, exports, "setRngState");
  define<setNumThreads>(env, exports, "setNumThreads");
  define<getNumThreads>(env, exports, "getNumThreads");
  define<cudaIsAvailable>(env, exports, "cudaIsAvailable");
  define<cudaCount>(env, exports, "cudaDeviceCount");
  define<buildInfo>(env, exports, "buildInfo");
}

}  // namespace stts
