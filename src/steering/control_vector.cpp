// llama.cpp control-vector files through the GGUF reader and writer.
#include "glassbox/steering/control_vector.h"

#include <cctype>
#include <cstring>

#include "glassbox/error.h"
#include "glassbox/gguf.h"

namespace glassbox::steering {

namespace {

constexpr const char* kArch = "controlvector";

// Names one family goes by: Hugging Face's model_type (what repeng writes
// and Config::family holds) and GGUF's general.architecture (what
// llama.cpp's cvector-generator writes).
std::string canonical_hint(std::string h) {
  for (char& c : h) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (h == "gptneox") return "gpt_neox";
  return h;
}

// "direction.{l}" -> l; -1 when the name has another form.
int direction_layer(const std::string& name) {
  const std::string prefix = "direction.";
  if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size()) return -1;
  const std::string digits = name.substr(prefix.size());
  if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 6) return -1;
  return std::stoi(digits);
}

}  // namespace

std::string control_vector_model_hint(const Config& c) { return c.family; }

ControlVector read_control_vector(const std::string& path) {
  const GgufFile f = GgufFile::open(path);
  const GgufValue* arch = f.find_kv("general.architecture");
  if (!arch) fail(path, ": no general.architecture; a control vector has \"", kArch, "\"");
  const std::string& a = arch->as_string("general.architecture");
  if (a != kArch)
    fail(path, ": general.architecture is \"", a, "\", not \"", kArch,
         "\": this is not a control-vector file (a model file?)");
  ControlVector cv;
  if (const GgufValue* h = f.find_kv(std::string(kArch) + ".model_hint"))
    cv.model_hint = h->as_string(std::string(kArch) + ".model_hint");
  for (const RawTensor& t : f.tensors()) {
    const int layer = direction_layer(t.name);
    if (layer < 0)
      fail(path, ": tensor '", t.name, "' is not named direction.{layer} (llama.cpp rejects such a file)");
    if (layer == 0)
      fail(path, ": tensor 'direction.0': llama.cpp has no control vector for block 0 and rejects the file");
    if (t.dtype != DType::F32) fail(path, ": tensor '", t.name, "' is ", dtype_name(t.dtype), ", not F32");
    if (t.shape.size() != 1) fail(path, ": tensor '", t.name, "' has ", t.shape.size(), " dimensions, not 1");
    if (t.shape[0] <= 0) fail(path, ": tensor '", t.name, "' has no entries");  // found by fuzz_control_vector
    if (cv.n_embd == 0) cv.n_embd = t.shape[0];
    if (t.shape[0] != cv.n_embd)
      fail(path, ": tensor '", t.name, "' has ", t.shape[0], " entries, the file's other directions ", cv.n_embd);
    std::vector<float> v(size_t(t.shape[0]));
    std::memcpy(v.data(), t.data, v.size() * sizeof(float));
    auto& slot = cv.directions[layer];
    if (slot.empty()) slot.assign(v.size(), 0.f);
    for (size_t j = 0; j < v.size(); ++j) slot[j] += v[j];  // llama.cpp adds repeats of a layer
  }
  if (cv.directions.empty()) fail(path, ": no direction tensors");
  return cv;
}

void write_control_vector(const ControlVector& cv, const std::string& path) {
  if (cv.directions.empty()) fail(path, ": a control vector needs at least one direction");
  GgufWriter w;
  w.set("general.architecture", gguf_str(kArch));
  w.set(std::string(kArch) + ".model_hint", gguf_str(cv.model_hint));
  w.set(std::string(kArch) + ".layer_count", gguf_i32(int32_t(cv.directions.size())));
  std::vector<std::string> names;
  for (const auto& [layer, v] : cv.directions) {
    if (layer <= 0)
      fail(path, ": cannot write direction.", layer, ": llama.cpp applies control vectors from block 1 on");
    if (int64_t(v.size()) != cv.n_embd)
      fail(path, ": direction.", layer, " has ", v.size(), " entries, n_embd is ", cv.n_embd);
    TensorToWrite t;
    t.name = "direction." + std::to_string(layer);
    t.dtype = DType::F32;
    t.shape = {cv.n_embd};
    t.data = v.data();
    t.nbytes = v.size() * sizeof(float);
    w.tensors.push_back(std::move(t));
  }
  w.save(path);
}

ControlVector to_control_vector(const SteeringVector& v, float coefficient, const std::string& model_hint,
                                const std::vector<int>& layers) {
  if (v.site != Site::resid_post)
    fail("control vector: the direction acts at ", to_string(v.site),
         "; llama.cpp adds control vectors to a block's output (resid_post)");
  ControlVector cv;
  cv.model_hint = model_hint;
  cv.n_embd = v.d_model;
  for (int layer : layers.empty() ? v.layer_ids() : layers) {
    const LayerDirection* d = v.find(layer);
    if (!d) fail("control vector: the direction has no layer ", layer);
    if (layer == 0)
      fail("control vector: the direction has a vector for block 0, which llama.cpp cannot apply; choose layers "
           "from 1 on");
    std::vector<float> x = d->vector;
    for (float& e : x) e *= coefficient;
    cv.directions[layer] = std::move(x);
  }
  if (cv.directions.empty()) fail("control vector: no layers to write");
  return cv;
}

SteeringVector to_steering_vector(const ControlVector& cv, const std::string& path) {
  SteeringVector v;
  v.method = Method::ControlVector;
  v.site = Site::resid_post;
  v.d_model = cv.n_embd;
  v.name = path;
  v.provenance = {{"control_vector", path}, {"model_hint", cv.model_hint}};
  for (const auto& [layer, x] : cv.directions) v.layers.push_back({layer, x, NAN});
  return v;
}

SteeringVector load_direction_file(const std::string& path) {
  if (path.size() > 5 && path.compare(path.size() - 5, 5, ".gguf") == 0)
    return to_steering_vector(read_control_vector(path), path);
  SteeringVector v = load_steering_json(path);
  if (v.name.empty()) v.name = path;
  return v;
}

std::vector<Intervention> control_vector_interventions(const ControlVector& cv, const Config& c, float scale,
                                                       const std::string& path, bool check_hint) {
  if (check_hint && !cv.model_hint.empty() && canonical_hint(cv.model_hint) != canonical_hint(c.family))
    fail(path, ": controlvector.model_hint is \"", cv.model_hint, "\" but the model is a ", c.family,
         " model: the file was made for another model");
  if (cv.n_embd != c.d_model)
    fail(path, ": direction tensors have n_embd ", cv.n_embd, " but the model's d_model is ", c.d_model,
         ": the file was made for another model");
  std::vector<Intervention> out;
  for (const auto& [layer, x] : cv.directions) {
    if (layer >= c.n_layers)
      fail(path, ": tensor 'direction.", layer, "' is for block ", layer, " but the model has blocks 0..",
           c.n_layers - 1);
    Intervention i;
    i.kind = InterventionKind::AddVector;
    i.hook = HookPoint{Site::resid_post, layer}.name();
    i.vector = x;
    i.alpha = scale;
    out.push_back(std::move(i));
  }
  return out;
}

}  // namespace glassbox::steering
