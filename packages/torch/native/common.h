// Shared pieces of the native layer: tensor handles and error translation.
//
// A tensor crosses into JavaScript as a napi External that owns one reference to an
// at::Tensor. Disposing the handle drops that reference; the GC finalizer is only a
// backstop for handles nobody disposed.
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

#include <cstdint>
#include <string>

namespace stts {

struct TensorHandle {
  at::Tensor tensor;
  int64_t externalBytes = 0;
  bool released = false;
};

// Wraps a tensor in a new handle (an undefined tensor becomes null).
Napi::Value wrapTensor(Napi::Env env, at::Tensor tensor);

// The tensor behind a handle; throws a TypeError naming `what` when the value is not a live handle.
const at::Tensor& unwrapTensor(const Napi::Value& value, const char* what);

// Drops the handle's reference now (idempotent).
void releaseHandle(Napi::Env env, TensorHandle* handle);

// Number of handles neither disposed nor finalized.
int64_t liveHandleCount();

// Converts a libtorch or standard exception into a JS Error carrying the message only
// (no C++ backtrace), so a shape mismatch is catchable instead of aborting the process.
using NativeFn = Napi::Value (*)(const Napi::CallbackInfo&);

template <NativeFn F>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

template <NativeFn F>
void define(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, Napi::Function::New(env, guarded<F>, name));
}

void initTensor(Napi::Env env, Napi::Object exports);
void initOps(Napi::Env env, Napi::Object exports);
void initAutograd(Napi::Env env, Napi::Object exports);
void initRuntime(Napi::Env env, Napi::Object exports);

}  // namespace stts
