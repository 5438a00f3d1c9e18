// Module entry: registers each area's functions on the exports object.
// Kept free of torch headers so it compiles in a second.
#include <napi.h>

namespace stts {
void initTensor(Napi::Env env, Napi::Object exports);
void initOps(Napi::Env env, Napi::Object exports);
void initAutograd(Napi::Env env, Napi::Object exports);
void initRuntime(Napi::Env env, Napi::Object exports);
}  // namespace stts

namespace {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  stts::initTensor(env, exports);
  stts::initOps(env, exports);
  stts::initAutograd(env, exports);
  stts::initRuntime(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(stts_torch, init)
