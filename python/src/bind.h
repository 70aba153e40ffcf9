// What the binding's files share: the model handle Python holds, numpy views
// of glassbox tensors and weights (zero copy: the array's base keeps the
// owner alive), batches from Python token arguments, JSON <-> Python.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "glassbox/cache.h"
#include "glassbox/engine.h"
#include "glassbox/interventions.h"
#include "glassbox/model.h"
#include "glassbox/steering/profile.h"

namespace glassbox::py {

namespace pyb = pybind11;

// A loaded model and the one Engine that runs it. Python objects hold it by
// shared_ptr; weight arrays hold it too, so the mapped file outlives them.
// The engine is not reentrant: every pass takes `mutex` (after releasing the
// GIL, so a hook that needs the GIL back never waits on a thread that holds
// the GIL while it waits for the mutex).
struct ModelHandle {
  explicit ModelHandle(const std::string& path) : model(Model::load(path)), engine(model) {}
  Model model;
  Engine engine;
  std::mutex mutex;
};
using ModelPtr = std::shared_ptr<ModelHandle>;

// Runs f(engine) with the GIL released and the engine locked, in that order.
template <class F>
auto with_engine(ModelHandle& h, F&& f) {
  pybind11::gil_scoped_release release;
  std::lock_guard<std::mutex> lock(h.mutex);
  return f(h.engine);
}

// What a numpy array's `base` is: the owner of the memory it views (a
// Tensor's storage, a loaded model). Visible in Python as glassbox.Owner so
// tests and users can see who keeps the memory alive.
struct Owner {
  std::shared_ptr<const void> keep;
  std::string what;  // "activation blocks.0.hook_resid_post", "weights of models/ioi"
};

// A cache from run_with_cache, kept whole (Python's ActivationCache holds it
// as `_ref`): saved as glassbox's cache file, or the source of a patch /
// mean_ablate intervention without a file.
struct CacheRef {
  std::shared_ptr<const ActivationCache> cache;
};

// A view of `t`'s memory: float32 (F32), float16 (F16) or uint16 holding
// raw bfloat16 bits (BF16), int32 (I32). Its base is an Owner sharing t's storage.
pyb::array tensor_view(const Tensor& t, const std::string& what);
// F32 / F16 views as tensor_view; BF16 converted to a new float32 array.
pyb::array tensor_as_float(const Tensor& t, const std::string& what);
// A read-only strided view of model weights (strides in elements).
pyb::array weight_view(const ModelPtr& m, const float* data, const std::vector<int64_t>& shape,
                       const std::vector<int64_t>& strides);
// A C-contiguous view of memory `keep` owns (a dictionary's weights, a mapped
// shard): numpy dtype as tensor_view's; read-only unless `writable`.
pyb::array array_view(std::shared_ptr<const void> keep, const void* data, DType dtype, const std::vector<int64_t>& shape,
                      const std::string& what, bool writable);
// Copies `v` into a new array of `shape` (results computed in C++: no owner to share).
pyb::array_t<float> to_array(const std::vector<float>& v, const std::vector<int64_t>& shape);
pyb::array_t<double> to_array(const std::vector<double>& v, const std::vector<int64_t>& shape);

// Token ids from a Python argument: a string (through the model's
// tokenizer, with its special tokens), a sequence of ints, or a 1-D / 2-D
// integer array. Rows of a 2-D argument have equal length. Error naming
// `what` on an empty input, ids outside the vocabulary, ragged rows.
Batch to_batch(const Model& m, const pyb::handle& tokens, const char* what);
std::vector<int32_t> to_ids(const Model& m, const pyb::handle& tokens, const char* what);  // one row

nlohmann::json to_json(const pyb::handle& h);
pyb::object from_json(const nlohmann::json& j);

// Interventions from a Python argument: None, a dict, a list of dicts, a JSON
// string or a file path (interventions.h's format; "sae" dictionaries load
// through the SAELens loader, relative paths from the working directory). A
// patch / mean_ablate "source" may be a cache from run_with_cache.
std::vector<Intervention> to_interventions(const pyb::handle& h);
// A per-request profile (interventions + monitors): a dict, a JSON string or a file path.
steering::Profile to_profile(const pyb::handle& h);

// Hooks written in Python: fwd_hooks=[(name_or_glob, fn)], fn(activation, hook)
// with activation a writable numpy view of the engine's buffer, valid during
// the call only. Registers them on `reg`; the handles detach them.
std::vector<HookHandle> attach_python_hooks(HookRegistry& reg, const pyb::handle& fwd_hooks);

void bind_hook_point(pyb::module_& m);  // HookPoint and Owner
void bind_model(pyb::module_& m);
void bind_analysis(pyb::module_& m);
void bind_features(pyb::module_& m);
void bind_sae(pyb::module_& m);       // SAE, train_sae, evaluate_sae
void bind_harvest(pyb::module_& m);   // harvest, shards read back
void bind_knowledge(pyb::module_& m); // causal tracing, editing, known, model diff
void bind_acting(pyb::module_& m);    // orthogonalisation, suppression, monitors, zoo, dashboards
void bind_compare(pyb::module_& m);   // probe sweeps, circuit overlap across models, GGUF export

}  // namespace glassbox::py
