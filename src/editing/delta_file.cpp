// Edits as a file: the factor pairs of every change, so an edit ships in
// kilobytes (ROME: d_mlp + d_model floats) and applies to the model it was made on.
#include "glassbox/error.h"
#include "glassbox/safetensors.h"

#include "editing/detail.h"

namespace glassbox::editing {

void save_deltas(const std::string& path, const std::vector<WeightDelta>& deltas, const nlohmann::json& about) {
  std::vector<TensorToWrite> ts;
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < deltas.size(); ++i) {
    const WeightDelta& d = deltas[i];
    const std::string p = "delta." + std::to_string(i);
    ts.push_back({p + ".left", DType::F32, {d.d_mlp, d.rank}, d.left.data(), d.left.size() * sizeof(float)});
    ts.push_back({p + ".right", DType::F32, {d.d_model, d.rank}, d.right.data(), d.right.size() * sizeof(float)});
    layers.push_back(d.layer);
  }
  save_safetensors(path, ts, {{"format", "glassbox-edit"}, {"layers", layers.dump()}, {"about", about.dump()}});
}

std::vector<WeightDelta> load_deltas(const std::string& path, nlohmann::json* about) {
  const SafetensorsFile f = SafetensorsFile::open(path);
  const auto& meta = f.metadata();
  auto field = [&](const char* k) -> const std::string& {
    const auto it = meta.find(k);
    if (it == meta.end()) fail(path, ": not a glassbox edit file (no '", k, "' in its metadata)");
    return it->second;
  };
  if (field("format") != "glassbox-edit") fail(path, ": metadata format is '", field("format"), "', expected 'glassbox-edit'");
  const nlohmann::json layers = nlohmann::json::parse(field("layers"), nullptr, /*allow_exceptions=*/false);
  if (!layers.is_array()) fail(path, ": metadata 'layers' is not a JSON array");
  if (about) {
    *about = nlohmann::json::parse(field("about"), nullptr, false);
    if (about->is_discarded()) fail(path, ": metadata 'about' is not JSON");
  }
  std::vector<WeightDelta> out;
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string p = "delta." + std::to_string(i);
    const RawTensor* L = f.find(p + ".left");
    const RawTensor* R = f.find(p + ".right");
    if (!L || !R) fail(path, ": tensor ", p, ".left or .right missing");
    if (L->dtype != DType::F32 || R->dtype != DType::F32 || L->shape.size() != 2 || R->shape.size() != 2 ||
        L->shape[1] != R->shape[1])
      fail(path, ": ", p, ".left / .right must be F32 [d_mlp, r] and [d_model, r]");
    if (!layers[i].is_number_integer()) fail(path, ": metadata 'layers' entry ", i, " is not an integer");
    WeightDelta d;
    d.layer = layers[i].get<int>();
    d.d_mlp = L->shape[0];
    d.d_model = R->shape[0];
    d.rank = L->shape[1];
    const float* l = static_cast<const float*>(L->data);
    const float* r = static_cast<const float*>(R->data);
    d.left.assign(l, l + L->numel());
    d.right.assign(r, r + R->numel());
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace glassbox::editing
