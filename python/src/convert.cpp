// Numpy views of glassbox memory, token arguments, JSON <-> Python, and the
// Python hooks the engine fires.
#include <cstring>
#include <filesystem>
#include <optional>

#include <pybind11/stl.h>

#include "bind.h"
#include "glassbox/error.h"
#include "glassbox/features/saelens.h"
#include "glassbox/tokenizer.h"

namespace glassbox::py {

namespace {

// Owner objects are the arrays' base: numpy keeps them (and through them the
// C++ memory) alive as long as any view of the memory exists.
pyb::object owner_object(std::shared_ptr<const void> keep, std::string what) {
  return pyb::cast(Owner{std::move(keep), std::move(what)});
}

std::vector<pyb::ssize_t> byte_strides(const Shape& shape, size_t itemsize) {
  std::vector<pyb::ssize_t> s(shape.size());
  pyb::ssize_t stride = pyb::ssize_t(itemsize);
  for (size_t i = shape.size(); i-- > 0;) {
    s[i] = stride;
    stride *= pyb::ssize_t(shape[i]);
  }
  return s;
}

pyb::dtype numpy_dtype(DType t) {
  switch (t) {
    case DType::F32: return pyb::dtype::of<float>();
    case DType::F16: return pyb::dtype("float16");
    case DType::BF16: return pyb::dtype::of<uint16_t>();  // raw bits; glassbox.bf16_to_float32 converts
    case DType::I32: return pyb::dtype::of<int32_t>();
    case DType::I64: return pyb::dtype::of<int64_t>();
    case DType::U8: return pyb::dtype::of<uint8_t>();
    default: fail("a ", dtype_name(t), " tensor has no numpy view");
  }
}

}  // namespace

pyb::array tensor_view(const Tensor& t, const std::string& what) {
  const pyb::dtype dt = numpy_dtype(t.dtype);
  const std::vector<pyb::ssize_t> shape(t.shape.begin(), t.shape.end());
  return pyb::array(dt, shape, byte_strides(t.shape, size_t(dt.itemsize())), t.data,
                    owner_object(t.storage, what));
}

pyb::array tensor_as_float(const Tensor& t, const std::string& what) {
  if (t.dtype != DType::BF16) return tensor_view(t, what);
  pyb::array_t<float> out(std::vector<pyb::ssize_t>(t.shape.begin(), t.shape.end()));
  to_f32(out.mutable_data(), t.data, DType::BF16, t.numel());
  return out;
}

pyb::array array_view(std::shared_ptr<const void> keep, const void* data, DType dtype, const std::vector<int64_t>& shape,
                      const std::string& what, bool writable) {
  const pyb::dtype dt = numpy_dtype(dtype);
  const std::vector<pyb::ssize_t> s(shape.begin(), shape.end());
  pyb::array a(dt, s, byte_strides(Shape(shape.begin(), shape.end()), size_t(dt.itemsize())), data,
               owner_object(std::move(keep), what));
  if (!writable) a.attr("setflags")(pyb::arg("write") = false);
  return a;
}

pyb::array weight_view(const ModelPtr& m, const float* data, const std::vector<int64_t>& shape,
                       const std::vector<int64_t>& strides) {
  std::vector<pyb::ssize_t> s(shape.begin(), shape.end()), st;
  for (int64_t e : strides) st.push_back(pyb::ssize_t(e * int64_t(sizeof(float))));
  pyb::array a(pyb::dtype::of<float>(), s, st, data, owner_object(m, "weights of " + m->model.source()));
  // Weights are shared by every pass (and mapped from the file): read-only.
  a.attr("setflags")(pyb::arg("write") = false);
  return a;
}

template <class T>
static pyb::array_t<T> copy_to_array(const std::vector<T>& v, const std::vector<int64_t>& shape) {
  if (numel(shape) != int64_t(v.size()))
    fail("internal: ", v.size(), " values do not fill shape ", shape_str(shape));
  pyb::array_t<T> out(std::vector<pyb::ssize_t>(shape.begin(), shape.end()));
  if (!v.empty()) std::memcpy(out.mutable_data(), v.data(), v.size() * sizeof(T));
  return out;
}
pyb::array_t<float> to_array(const std::vector<float>& v, const std::vector<int64_t>& shape) {
  return copy_to_array(v, shape);
}
pyb::array_t<double> to_array(const std::vector<double>& v, const std::vector<int64_t>& shape) {
  return copy_to_array(v, shape);
}

// ---- tokens

static std::vector<int32_t> row_from(const Model& m, const pyb::handle& h, const char* what) {
  if (pyb::isinstance<pyb::str>(h)) {
    if (!m.tokenizer()) fail(what, ": ", m.source(), " has no tokenizer; pass token ids instead of text");
    return m.tokenizer()->encode(h.cast<std::string>());
  }
  pyb::array any = pyb::array::ensure(h);
  if (!any || any.ndim() != 1) fail(what, ": expected text or a sequence of token ids");
  // Floats would be truncated into other tokens: only integers are ids.
  if (any.size() > 0 && any.dtype().kind() != 'i' && any.dtype().kind() != 'u')
    fail(what, ": token ids must be integers, got an array of dtype ", std::string(pyb::str(any.dtype())));
  const auto a = pyb::array_t<int64_t, pyb::array::c_style | pyb::array::forcecast>::ensure(any);
  std::vector<int32_t> ids(size_t(a.size()));
  for (pyb::ssize_t i = 0; i < a.size(); ++i) {
    const int64_t v = a.data()[i];
    if (v < 0 || v > INT32_MAX) fail(what, ": token id ", v, " is outside the model's vocabulary of ", m.config().d_vocab);
    ids[size_t(i)] = int32_t(v);
  }
  return ids;
}

static void check_ids(const Model& m, const std::vector<int32_t>& ids, const char* what) {
  if (ids.empty()) fail(what, ": no tokens");
  const int V = m.config().d_vocab;
  for (int32_t id : ids)
    if (id < 0 || id >= V) fail(what, ": token id ", id, " is outside the model's vocabulary of ", V);
}

Batch to_batch(const Model& m, const pyb::handle& tokens, const char* what) {
  std::vector<std::vector<int32_t>> rows;
  if (pyb::isinstance<pyb::str>(tokens)) {
    rows.push_back(row_from(m, tokens, what));
  } else if (pyb::isinstance<pyb::array>(tokens) && pyb::reinterpret_borrow<pyb::array>(tokens).ndim() == 2) {
    for (const pyb::handle r : tokens) rows.push_back(row_from(m, r, what));
  } else if (pyb::isinstance<pyb::sequence>(tokens) && pyb::len(tokens) > 0 &&
             (pyb::isinstance<pyb::str>(tokens[pyb::int_(0)]) || pyb::isinstance<pyb::sequence>(tokens[pyb::int_(0)]) ||
              pyb::isinstance<pyb::array>(tokens[pyb::int_(0)]))) {
    for (const pyb::handle r : tokens) rows.push_back(row_from(m, r, what));
  } else {
    rows.push_back(row_from(m, tokens, what));
  }
  if (rows.empty()) fail(what, ": no rows");
  for (const auto& r : rows) check_ids(m, r, what);
  // Rows of different lengths (a list of prompts) are right-padded and masked, as TransformerLens pads.
  return Batch::from_rows(rows);
}

std::vector<int32_t> to_ids(const Model& m, const pyb::handle& tokens, const char* what) {
  const Batch b = to_batch(m, tokens, what);
  if (b.B != 1) fail(what, ": expected one prompt, got ", b.B, " rows");
  return b.tokens;
}

// ---- JSON

nlohmann::json to_json(const pyb::handle& h) {
  if (h.is_none()) return nullptr;
  if (pyb::isinstance<pyb::bool_>(h)) return h.cast<bool>();
  if (pyb::isinstance<pyb::int_>(h)) return h.cast<int64_t>();
  if (pyb::isinstance<pyb::float_>(h)) return h.cast<double>();
  if (pyb::isinstance<pyb::str>(h)) return h.cast<std::string>();
  if (pyb::isinstance<pyb::dict>(h)) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : pyb::reinterpret_borrow<pyb::dict>(h)) j[pyb::str(k).cast<std::string>()] = to_json(v);
    return j;
  }
  if (pyb::isinstance<pyb::list>(h) || pyb::isinstance<pyb::tuple>(h)) {
    nlohmann::json j = nlohmann::json::array();
    for (const pyb::handle v : h) j.push_back(to_json(v));
    return j;
  }
  if (pyb::hasattr(h, "tolist")) return to_json(h.attr("tolist")());  // numpy arrays and scalars
  if (pyb::hasattr(h, "to_json")) return to_json(h.attr("to_json")());
  fail("cannot convert a Python ", std::string(pyb::str(h.get_type().attr("__name__"))), " to JSON");
}

pyb::object from_json(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return pyb::none();
    case nlohmann::json::value_t::boolean: return pyb::bool_(j.get<bool>());
    case nlohmann::json::value_t::number_integer: return pyb::int_(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: return pyb::int_(j.get<uint64_t>());
    case nlohmann::json::value_t::number_float: return pyb::float_(j.get<double>());
    case nlohmann::json::value_t::string: {
      // Token texts may split a UTF-8 character: decode with replacement, never raise.
      const std::string& s = j.get_ref<const std::string&>();
      return pyb::reinterpret_steal<pyb::object>(PyUnicode_DecodeUTF8(s.data(), pyb::ssize_t(s.size()), "replace"));
    }
    case nlohmann::json::value_t::array: {
      pyb::list l;
      for (const auto& v : j) l.append(from_json(v));
      return l;
    }
    case nlohmann::json::value_t::object: {
      pyb::dict d;
      for (const auto& [k, v] : j.items()) d[pyb::str(k)] = from_json(v);
      return d;
    }
    default: return pyb::none();
  }
}

namespace {

std::vector<Intervention> interventions_of(const nlohmann::json& j) {
  return interventions_from_json(j, "", [](const std::string& dir) { return features::load_sae_codec(dir); });
}

// A patch / mean_ablate whose "source" is a cache from run_with_cache (a
// Python object holding the C++ cache) instead of a file: parsed as it
// stands, then pointed at that cache, no file written.
std::optional<Intervention> with_cache_source(const pyb::handle& item) {
  if (!pyb::isinstance<pyb::dict>(item)) return std::nullopt;
  const pyb::dict d = pyb::reinterpret_borrow<pyb::dict>(item);
  if (!d.contains("source")) return std::nullopt;
  const pyb::object src = d["source"];
  if (!pyb::hasattr(src, "_ref")) return std::nullopt;
  const CacheRef& ref = src.attr("_ref").cast<const CacheRef&>();
  pyb::dict copy(d);
  copy["source"] = "<cache from run_with_cache>";
  Intervention iv = Intervention::from_json(to_json(copy));
  iv.source.clear();
  iv.source_cache = ref.cache;
  return iv;
}

}  // namespace

steering::Profile to_profile(const pyb::handle& h) {
  const auto codecs = [](const std::string& dir) { return features::load_sae_codec(dir); };
  if (pyb::isinstance<pyb::str>(h)) {
    const std::string s = h.cast<std::string>();
    if (s.empty() || s[0] != '{') return steering::load_profile(s, codecs);  // a file
    try {
      return steering::Profile::from_json(nlohmann::json::parse(s), "", "profile", codecs);
    } catch (const nlohmann::json::exception& e) {
      fail("profile: not valid JSON: ", e.what());
    }
  }
  return steering::Profile::from_json(to_json(h), "", "profile", codecs);
}

std::vector<Intervention> to_interventions(const pyb::handle& h) {
  if (h.is_none()) return {};
  if (pyb::isinstance<pyb::str>(h)) {
    const std::string s = h.cast<std::string>();
    if (s.empty() || (s[0] != '{' && s[0] != '[')) return features::load_interventions(s);  // a file
    try {
      return interventions_of(nlohmann::json::parse(s));
    } catch (const nlohmann::json::exception& e) {
      fail("interventions: not valid JSON: ", e.what());
    }
  }
  if (!pyb::isinstance<pyb::list>(h) && !pyb::isinstance<pyb::tuple>(h)) {
    if (auto iv = with_cache_source(h)) return {std::move(*iv)};
    return interventions_of(to_json(h));
  }
  std::vector<Intervention> out;
  for (const pyb::handle item : h) {
    if (auto iv = with_cache_source(item)) {
      out.push_back(std::move(*iv));
    } else {
      for (auto& x : interventions_of(to_json(item))) out.push_back(std::move(x));
    }
  }
  return out;
}

// ---- Python hooks

namespace {

// What a Python hook function receives as `hook`: TransformerLens' HookPoint
// has .name and .layer().
struct PyHookPoint {
  std::string name;
  int layer = -1;
  int64_t pos_offset = 0;
};

}  // namespace

std::vector<HookHandle> attach_python_hooks(HookRegistry& reg, const pyb::handle& fwd_hooks) {
  std::vector<HookHandle> handles;
  if (fwd_hooks.is_none()) return handles;
  for (const pyb::handle item : fwd_hooks) {
    const pyb::tuple pair = pyb::reinterpret_borrow<pyb::object>(item).cast<pyb::tuple>();
    if (pair.size() != 2) fail("fwd_hooks: each entry is (name, fn), got ", pair.size(), " items");
    const std::string name = pair[0].cast<std::string>();
    pyb::object fn = pyb::reinterpret_borrow<pyb::object>(pair[1]);
    if (!PyCallable_Check(fn.ptr())) fail("fwd_hooks: the function for '", name, "' is not callable");
    // The std::function may be copied and destroyed without the GIL: hold
    // the Python function through a shared_ptr whose deleter takes the GIL.
    auto fn_ptr = std::shared_ptr<pyb::object>(new pyb::object(std::move(fn)), [](pyb::object* p) {
      pyb::gil_scoped_acquire gil;
      delete p;
    });
    HookFn hook = [fn_ptr](TensorView& act, const HookContext& ctx) {
      pyb::gil_scoped_acquire gil;
      const std::string hook_name = ctx.point.name();
      const std::vector<pyb::ssize_t> shape(act.shape.begin(), act.shape.end());
      pyb::array view(pyb::dtype::of<float>(), shape, byte_strides(act.shape, sizeof(float)), act.data,
                      owner_object(nullptr, "the engine's buffer for " + hook_name + " (valid during the hook call)"));
      pyb::object ret = (*fn_ptr)(view, PyHookPoint{hook_name, ctx.point.layer, ctx.pos_offset});
      if (!ret.is_none() && !ret.is(view)) {
        auto rep = pyb::array_t<float, pyb::array::c_style | pyb::array::forcecast>::ensure(ret);
        if (!rep) fail("hook ", hook_name, ": returned a ", std::string(pyb::str(ret.get_type().attr("__name__"))),
                       ", expected a numpy array of shape ", shape_str(act.shape), " or None");
        Shape got(rep.shape(), rep.shape() + rep.ndim());
        if (got != act.shape)
          fail("hook ", hook_name, ": returned an array of shape ", shape_str(got), ", expected ", shape_str(act.shape));
        std::memmove(act.data, rep.data(), size_t(act.numel()) * sizeof(float));
      }
      ret = pyb::none();
      // The view points into a buffer the next pass reuses: a reference kept
      // past the call would later read other activations (or freed memory).
      if (view.ref_count() > 1)
        fail("hook ", hook_name, ": the function kept a reference to its activation (a view of the engine's buffer, "
             "valid during the call only); store activation.copy() instead");
    };
    handles.push_back(reg.add(name, std::move(hook), HookMode::Replace));
  }
  return handles;
}

void bind_hook_point(pyb::module_& m) {
  pyb::class_<PyHookPoint>(m, "HookPoint", "What a hook function receives as `hook` (TransformerLens' HookPoint)")
      .def_readonly("name", &PyHookPoint::name)
      .def("layer", [](const PyHookPoint& h) { return h.layer; }, "The block index; -1 for global sites")
      .def_readonly("pos_offset", &PyHookPoint::pos_offset,
                    "Absolute position of the activation's first row (generation with a KV cache)")
      .def("__repr__", [](const PyHookPoint& h) { return "<HookPoint " + h.name + ">"; });
  pyb::class_<Owner>(m, "Owner", "The base of an array that views glassbox memory: keeps that memory alive")
      .def_readonly("what", &Owner::what)
      .def("__repr__", [](const Owner& o) { return "<glassbox.Owner of " + o.what + ">"; });
}
}  // namespace glassbox::py
