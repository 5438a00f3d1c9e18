// Calls any ATen operator through the dispatcher, converting JS arguments by the operator's schema.
//
// resolveOp("aten::add", "Tensor") returns a small integer id; callOp(id, ...args) converts each
// positional argument by the schema's declared type (undefined or null takes the schema default,
// or None for optional arguments), calls the operator boxed (autograd included), and converts the
// results back: tensors to handles, numbers, booleans, lists to arrays, several results to an array.
// An operator whose first result is written in place (`Tensor(a!)`) returns undefined: the caller
// already holds that tensor.
#include <ATen/core/dispatch/Dispatcher.h>

#include "common.h"

namespace stts {

namespace {

enum class Kind {
  Tensor,
  TensorList,
  OptionalTensorList,
  Int,
  IntList,
  Float,
  FloatList,
  Bool,
  BoolList,
  Scalar,
  String,
  Device,
  None,  // types we only ever pass as None (Generator, Layout, ...)
};

struct ArgSpec {
  Kind kind;
  bool optional;
  std::string name;
  c10::optional<c10::IValue> defaultValue;
};

struct OpEntry {
  c10::OperatorHandle handle;
  std::string name;
  std::vector<ArgSpec> args;
  bool returnsInPlace;
};

std::vector<OpEntry>& registry() {
  static std::vector<OpEntry> ops;
  return ops;
}

Kind kindOf(const std::string& type) {
  if (type == "Tensor") return Kind::Tensor;
  if (type == "Tensor[]") return Kind::TensorList;
  if (type == "Tensor?[]") return Kind::OptionalTensorList;
  if (type == "int" || type == "SymInt" || type == "ScalarType" || type == "MemoryFormat" || type == "Layout")
    return Kind::Int;
  if (type.rfind("int[", 0) == 0 || type.rfind("SymInt[", 0) == 0) return Kind::IntList;
  if (type == "float") return Kind::Float;
  if (type.rfind("float[", 0) == 0) return Kind::FloatList;
  if (type == "bool") return Kind::Bool;
  if (type.rfind("bool[", 0) == 0) return Kind::BoolList;
  if (type == "Scalar" || type == "number") return Kind::Scalar;
  if (type == "str") return Kind::String;
  if (type == "Device") return Kind::Device;
  return Kind::None;
}

ArgSpec specOf(const c10::Argument& arg) {
  c10::TypePtr type = arg.type();
  bool optional = false;
  if (auto opt = type->cast<c10::OptionalType>()) {
    optional = true;
    type = opt->getElementType();
  }
  std::string typeName = type->str();
  if (auto list = type->cast<c10::ListType>()) {
    std::string element = list->getElementType()->str();
    if (element == "Optional[Tensor]" || element == "Tensor?") {
      typeName = "Tensor?[]";
    } else {
      typeName = element + "[]";
    }
  }
  return ArgSpec{kindOf(typeName), optional, arg.name(), arg.default_value()};
}

[[noreturn]] void argError(Napi::Env env, const OpEntry& op, const ArgSpec& spec, const std::string& expected) {
  throw Napi::TypeError::New(env, op.name + ": argument '" + spec.name + "' expects " + expected);
}

int64_t toInt(Napi::Env env, const OpEntry& op, const ArgSpec& spec, const Napi::Value& v) {
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1 : 0;
  if (!v.IsNumber()) argError(env, op, spec, "an integer");
  double d = v.As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<int64_t>(d))) argError(env, op, spec, "an integer, got " + std::to_string(d));
  return static_cast<int64_t>(d);
}

double toDouble(Napi::Env env, const OpEntry& op, const ArgSpec& spec, const Napi::Value& v) {
  if (!v.IsNumber()) argError(env, op, spec, "a number");
  return v.As<Napi::Number>().DoubleValue();
}

const at::Tensor& tensorArg(Napi::Env env, const OpEntry& op, const ArgSpec& spec, const Napi::Value& v) {
  if (!v.IsExternal()) argError(env, op, spec, "a Tensor");
  auto* handle = v.As<Napi::External<TensorHandle>>().Data();
  if (handle->released) argError(env, op, spec, "a live Tensor, got one that has been disposed");
  return handle->tensor;
}

c10::IValue toIValue(Napi::Env env, const OpEntry& op, const ArgSpec& spec, const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) {
    if (spec.defaultValue) return *spec.defaultValue;
    if (spec.optional) return c10::IValue();
    argError(env, op, spec, "a value, got none");
  }
  switch (spec.kind) {
    case Kind::Tensor:
      return tensorArg(env, op, spec, v);
    case Kind::TensorList:
    case Kind::OptionalTensorList: {
      if (!v.IsArray()) argError(env, op, spec, "an array of Tensors");
      auto array = v.As<Napi::Array>();
      if (spec.kind == Kind::TensorList) {
        c10::List<at::Tensor> list;
        list.reserve(array.Length());
        for (uint32_t i = 0; i < array.Length(); i++) {
          list.push_back(tensorArg(env, op, spec, array.Get(i)));
        }
        return list;
      }
      c10::List<c10::optional<at::Tensor>> list;
      list.reserve(array.Length());
      for (uint32_t i = 0; i < array.Length(); i++) {
        Napi::Value item = array.Get(i);
        if (item.IsNull() || item.IsUndefined()) {
          list.push_back(c10::nullopt);
        } else {
          list.push_back(tensorArg(env, op, spec, item));
        }
      }
      return list;
    }
    case Kind::Int:
      return toInt(env, op, spec, v);
    case Kind::IntList: {
      std::vector<int64_t> values;
      if (v.IsNumber()) {
        values.push_back(toInt(env, op, spec, v));
      } else if (v.IsArray()) {
        auto array = v.As<Napi::Array>();
        values.reserve(array.Length());
        for (uint32_t i = 0; i < array.Length(); i++) values.push_back(toInt(env, op, spec, array.Get(i)));
      } else {
        argError(env, op, spec, "an integer or an array of integers");
      }
      return values;
    }
    case Kind::Float:
      return toDouble(env, op, spec, v);
    case Kind::FloatList: {
      if (!v.IsArray()) argError(env, op, spec, "an array of numbers");
      auto array = v.As<Napi::Array>();
      std::vector<double> values;
      for (uint32_t i = 0; i < array.Length(); i++) values.push_back(toDouble(env, op, spec, array.Get(i)));
      return values;
    }
    case Kind::Bool:
      if (!v.IsBoolean()) argError(env, op, spec, "a boolean");
      return v.As<Napi::Boolean>().Value();
    case Kind::BoolList: {
      if (!v.IsArray()) argError(env, op, spec, "an array of booleans");
      auto array = v.As<Napi::Array>();
      c10::List<bool> values;
      for (uint32_t i = 0; i < array.Length(); i++) {
        Napi::Value item = array.Get(i);
        if (!item.IsBoolean()) argError(env, op, spec, "an array of booleans");
        values.push_back(item.As<Napi::Boolean>().Value());
      }
      return values;
    }
    case Kind::Scalar: {
      // An integer-valued JS number becomes an integer Scalar, so int tensors stay int as in Python.
      if (v.IsBoolean()) return c10::Scalar(v.As<Napi::Boolean>().Value());
      double d = toDouble(env, op, spec, v);
      // (-0 stays a double so its sign survives, as in Python)
      if (std::isfinite(d) && d == static_cast<double>(static_cast<int64_t>(d)) && std::abs(d) < 9007199254740992.0 &&
          !(d == 0 && std::signbit(d))) {
        return c10::Scalar(static_cast<int64_t>(d));
      }
      return c10::Scalar(d);
    }
    case Kind::String:
      if (!v.IsString()) argError(env, op, spec, "a string");
      return v.As<Napi::String>().Utf8Value();
    case Kind::Device:
      if (!v.IsString()) argError(env, op, spec, "a device name such as 'cpu' or 'cuda:0'");
      return c10::Device(v.As<Napi::String>().Utf8Value());
    case Kind::None:
      argError(env, op, spec, "no value (only the default is supported from JavaScript)");
  }
  argError(env, op, spec, "a supported type");
}

Napi::Value fromIValue(Napi::Env env, const c10::IValue& v) {
  if (v.isTensor()) return wrapTensor(env, v.toTensor());
  if (v.isNone()) return env.Null();
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isTensorList()) {
    auto list = v.toTensorList();
    auto out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(static_cast<uint32_t>(i), wrapTensor(env, list.get(i)));
    return out;
  }
  if (v.isIntList()) {
    auto list = v.toIntList();
    auto out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(static_cast<uint32_t>(i), static_cast<double>(list.get(i)));
    return out;
  }
  if (v.isTuple()) {
    const auto& elements = v.toTupleRef().elements();
    auto out = Napi::Array::New(env, elements.size());
    for (size_t i = 0; i < elements.size(); i++) out.Set(static_cast<uint32_t>(i), fromIValue(env, elements[i]));
    return out;
  }
  if (v.isList()) {
    auto list = v.toListRef();
    auto out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(static_cast<uint32_t>(i), fromIValue(env, list[i]));
    return out;
  }
  throw Napi::TypeError::New(env, std::string("unsupported result type ") + v.tagKind());
}

// resolveOp(name, overload) -> id
Napi::Value resolveOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  std::string overload = info[1].As<Napi::String>().Utf8Value();
  auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
  std::string full = overload.empty() ? name : name + "." + overload;
  if (!handle) throw Napi::Error::New(env, "operator " + full + " is not available in this libtorch");
  const auto& schema = handle->schema();
  OpEntry entry{*handle, full, {}, false};
  for (const auto& arg : schema.arguments()) entry.args.push_back(specOf(arg));
  if (!schema.returns().empty()) {
    const auto* alias = schema.returns()[0].alias_info();
    entry.returnsInPlace = alias != nullptr && alias->isWrite();
  }
  registry().push_back(std::move(entry));
  return Napi::Number::New(env, static_cast<double>(registry().size() - 1));
}

Napi::Value opSchema(const Napi::CallbackInfo& info) {
  auto& op = registry().at(info[0].As<Napi::Number>().Uint32Value());
  std::ostringstream out;
  out << op.handle.schema();
  return Napi::String::New(info.Env(), out.str());
}

// callOp(id, ...args)
Napi::Value callOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const OpEntry& op = registry().at(info[0].As<Napi::Number>().Uint32Value());
  size_t given = info.Length() - 1;
  if (given > op.args.size()) {
    throw Napi::TypeError::New(env, op.name + " takes " + std::to_string(op.args.size()) + " arguments, got " +
                                        std::to_string(given));
  }
  torch::jit::Stack stack;
  stack.reserve(op.args.size());
  for (size_t i = 0; i < op.args.size(); i++) {
    stack.push_back(toIValue(env, op, op.args[i], i < given ? info[i + 1] : env.Undefined()));
  }
  op.handle.callBoxed(&stack);
  if (op.returnsInPlace || stack.empty()) return env.Undefined();
  if (stack.size() == 1) return fromIValue(env, stack[0]);
  auto out = Napi::Array::New(env, stack.size());
  for (size_t i = 0; i < stack.size(); i++) out.Set(static_cast<uint32_t>(i), fromIValue(env, stack[i]));
  return out;
}

// opNames() -> "aten::add.Tensor"-style names of every operator registered in this libtorch
Napi::Value opNames(const Napi::CallbackInfo& info) {
  auto names = c10::Dispatcher::singleton().getAllOpNames();
  auto out = Napi::Array::New(info.Env(), names.size());
  for (size_t i = 0; i < names.size(); i++) {
    const auto& n = names[i];
    out.Set(static_cast<uint32_t>(i), n.overload_name.empty() ? n.name : n.name + "." + n.overload_name);
  }
  return out;
}

}  // namespace

void initOps(Napi::Env env, Napi::Object exports) {
  define<resolveOp>(env, exports, "resolveOp");
  define<opSchema>(env, exports, "opSchema");
  define<callOp>(env, exports, "callOp");
  define<opNames>(env, exports, "opNames");
}

}  // namespace stts
