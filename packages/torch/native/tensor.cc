// Tensor handles, metadata and copies between JS buffers and tensors.
#include <atomic>
#include <cstring>

#include <torch/csrc/autograd/function.h>

#include "common.h"

namespace stts {

namespace {

std::atomic<int64_t> liveHandles{0};
std::atomic<int64_t> finalizedHandles{0};

void finalizeHandle(Napi::Env env, TensorHandle* handle) {
  if (!handle->released) finalizedHandles++;
  releaseHandle(env, handle);
  delete handle;
}

std::vector<int64_t> toShape(const Napi::Value& value, const char* what) {
  if (!value.IsArray()) throw Napi::TypeError::New(value.Env(), std::string(what) + " must be an array of integers");
  auto array = value.As<Napi::Array>();
  std::vector<int64_t> shape(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value item = array.Get(i);
    double size = item.IsNumber() ? item.As<Napi::Number>().DoubleValue() : -1.0;
    if (!(size >= 0) || size != static_cast<double>(static_cast<int64_t>(size))) {
      throw Napi::TypeError::New(value.Env(), std::string(what) + " must be an array of non-negative integers");
    }
    shape[i] = static_cast<int64_t>(size);
  }
  return shape;
}

// fromBuffer(bytes: ArrayBufferView, dtype: ScalarType code, shape: number[]) -> handle
Napi::Value fromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* bytes = nullptr;
  size_t got = 0;
  if (info[0].IsTypedArray()) {
    auto view = info[0].As<Napi::TypedArray>();
    bytes = static_cast<uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset();
    got = view.ByteLength();
  } else if (info[0].IsDataView()) {
    auto view = info[0].As<Napi::DataView>();
    bytes = static_cast<uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset();
    got = view.ByteLength();
  } else {
    throw Napi::TypeError::New(env, "fromBuffer: data must be a TypedArray, DataView or Buffer");
  }
  auto dtype = static_cast<at::ScalarType>(info[1].As<Napi::Number>().Int32Value());
  auto shape = toShape(info[2], "shape");
  at::Tensor out = at::empty(shape, at::TensorOptions().dtype(dtype));
  size_t expected = out.numel() * out.element_size();
  if (expected != got) {
    throw Napi::RangeError::New(env, "fromBuffer: shape " + std::string(c10::str(out.sizes())) + " of dtype " +
                                         std::string(c10::toString(dtype)) + " needs " + std::to_string(expected) +
                                         " bytes, got " + std::to_string(got));
  }
  if (expected > 0) std::memcpy(out.data_ptr(), bytes, expected);
  return wrapTensor(env, out);
}

// toBuffer(handle) -> ArrayBuffer holding a contiguous CPU copy of the elements
Napi::Value toBuffer(const Napi::CallbackInfo& info) {
  at::Tensor t = unwrapTensor(info[0], "tensor").detach().to(at::kCPU).contiguous();
  size_t bytes = t.numel() * t.element_size();
  auto buffer = Napi::ArrayBuffer::New(info.Env(), bytes);
  if (bytes > 0) std::memcpy(buffer.Data(), t.data_ptr(), bytes);
  return buffer;
}

Napi::Value dispose(const Napi::CallbackInfo& info) {
  if (!info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "dispose: expected a tensor handle");
  releaseHandle(info.Env(), info[0].As<Napi::External<TensorHandle>>().Data());
  return info.Env().Undefined();
}

Napi::Value isDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), info[0].As<Napi::External<TensorHandle>>().Data()->released);
}

Napi::Value liveCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(liveHandleCount()));
}

// Handles the GC freed because nobody disposed them (leaks caught by the backstop).
Napi::Value finalizedCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(finalizedHandles.load()));
}

Napi::Value shape(const Napi::CallbackInfo& info) {
  const at::Tensor& t = unwrapTensor(info[0], "tensor");
  auto sizes = t.sizes();
  auto out = Napi::Array::New(info.Env(), sizes.size());
  for (size_t i = 0; i < sizes.size(); i++) out.Set(static_cast<uint32_t>(i), static_cast<double>(sizes[i]));
  return out;
}

Napi::Value dtype(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<int>(unwrapTensor(info[0], "tensor").scalar_type()));
}

Napi::Value device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), unwrapTensor(info[0], "tensor").device().str());
}

Napi::Value requiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), unwrapTensor(info[0], "tensor").requires_grad());
}

Napi::Value setRequiresGrad(const Napi::CallbackInfo& info) {
  unwrapTensor(info[0], "tensor").set_requires_grad(info[1].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

Napi::Value isLeaf(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), unwrapTensor(info[0], "tensor").is_leaf());
}

Napi::Value grad(const Napi::CallbackInfo& info) {
  return wrapTensor(info.Env(), unwrapTensor(info[0], "tensor").grad());
}

// setGrad(handle, gradHandle | null)
Napi::Value setGrad(const Napi::CallbackInfo& info) {
  const at::Tensor& t = unwrapTensor(info[0], "tensor");
  if (info[1].IsNull() || info[1].IsUndefined()) {
    t.mutable_grad().reset();
  } else {
    const at::Tensor& g = unwrapTensor(info[1], "grad");
    TORCH_CHECK(g.sizes() == t.sizes(), "grad: assigned grad has shape ", g.sizes(), " but the tensor has shape ", t.sizes());
    TORCH_CHECK(g.scalar_type() == t.scalar_type(), "grad: assigned grad has dtype ", g.scalar_type(),
                " but the tensor has dtype ", t.scalar_type());
    TORCH_CHECK(g.device() == t.device(), "grad: assigned grad is on ", g.device(), " but the tensor is on ", t.device());
    t.mutable_grad() = g;
  }
  return info.Env().Undefined();
}

Napi::Value retainGrad(const Napi::CallbackInfo& info) {
  unwrapTensor(info[0], "tensor").retain_grad();
  return info.Env().Undefined();
}

Napi::Value gradFnName(const Napi::CallbackInfo& info) {
  const auto& fn = unwrapTensor(info[0], "tensor").grad_fn();
  if (!fn) return info.Env().Null();
  return Napi::String::New(info.Env(), fn->name());
}

// sameStorage(a, b): whether two handles view the same memory (views, in-place results).
Napi::Value sameStorage(const Napi::CallbackInfo& info) {
  const at::Tensor& a = unwrapTensor(info[0], "a");
  const at::Tensor& b = unwrapTensor(info[1], "b");
  return Napi::Boolean::New(info.Env(), a.storage().is_alias_of(b.storage()));
}

}  // namespace

int64_t liveHandleCount() { return liveHandles.load(); }

Napi::Value wrapTensor(Napi::Env env, at::Tensor tensor) {
  if (!tensor.defined()) return env.Null();
  auto* handle = new TensorHandle();
  handle->externalBytes = static_cast<int64_t>(tensor.numel() * tensor.element_size());
  handle->tensor = std::move(tensor);
  liveHandles++;
  if (handle->externalBytes > 0) Napi::MemoryManagement::AdjustExternalMemory(env, handle->externalBytes);
  return Napi::External<TensorHandle>::New(env, handle, finalizeHandle);
}

const at::Tensor& unwrapTensor(const Napi::Value& value, const char* what) {
  if (!value.IsExternal()) {
    throw Napi::TypeError::New(value.Env(), std::string(what) + ": expected a Tensor");
  }
  auto* handle = value.As<Napi::External<TensorHandle>>().Data();
  if (handle->released) {
    throw Napi::Error::New(value.Env(), std::string(what) + ": this Tensor has been disposed");
  }
  return handle->tensor;
}

void releaseHandle(Napi::Env env, TensorHandle* handle) {
  if (handle->released) return;
  handle->released = true;
  handle->tensor.reset();
  liveHandles--;
  if (handle->externalBytes > 0) Napi::MemoryManagement::AdjustExternalMemory(env, -handle->externalBytes);
}

void initTensor(Napi::Env env, Napi::Object exports) {
  define<fromBuffer>(env, exports, "fromBuffer");
  define<toBuffer>(env, exports, "toBuffer");
  define<dispose>(env, exports, "dispose");
  define<isDisposed>(env, exports, "isDisposed");
  define<liveCount>(env, exports, "liveCount");
  define<finalizedCount>(env, exports, "finalizedCount");
  define<shape>(env, exports, "shape");
  define<dtype>(env, exports, "dtype");
  define<device>(env, exports, "device");
  define<requiresGrad>(env, exports, "requiresGrad");
  define<setRequiresGrad>(env, exports, "setRequiresGrad");
  define<isLeaf>(env, exports, "isLeaf");
  define<grad>(env, exports, "grad");
  define<setGrad>(env, exports, "setGrad");
  define<retainGrad>(env, exports, "retainGrad");
  define<gradFnName>(env, exports, "gradFnName");
  define<sameStorage>(env, exports, "sameStorage");
}

}  // namespace stts
