#include "glassbox/features/saelens.h"

#include <filesystem>

#include "core/json_integer.h"
#include "glassbox/error.h"
#include "glassbox/json_file.h"
#include "glassbox/mmap_file.h"
#include "glassbox/safetensors.h"
#include "glassbox/tensor.h"

namespace fs = std::filesystem;

namespace glassbox::features {

namespace {

// Fields whose meaning we set ourselves on write; everything else a cfg.json
// holds is kept in SaeConfig::extra and written back unchanged.
const char* const kOwnFields[] = {
    "architecture", "d_in", "d_sae", "dtype", "device", "model_name", "hook_name", "hook_layer",
    "hook_head_index", "activation_fn_str", "activation_fn_kwargs", "apply_b_dec_to_input",
    "finetuning_scaling_factor", "sae_lens_training_version", "prepend_bos", "dataset_path",
    "dataset_trust_remote_code", "context_size", "normalize_activations", "neuronpedia_id",
    "model_from_pretrained_kwargs", "glassbox_architecture", "k", "d_out", "hook_name_out",
    "n_sources", "source_names", "activation_fn", "hook_point", "hook_point_layer",
    "hook_point_head_index", "metadata"};

template <class T>
T field(const nlohmann::json& j, const char* key, const std::string& path) {
  if (!j.contains(key)) fail(path, ": missing field '", key, "'");
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)  // get<int64_t>() of 1e300 is UB
    if (!detail::json_integer_fits<T>(j.at(key)))
      fail(path, ": field '", key, "' is ", j.at(key).dump(), ", not an integer in range");
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    fail(path, ": field '", key, "' is ", j.at(key).dump(), ", not a ", std::is_same_v<T, std::string> ? "string" : std::is_same_v<T, bool> ? "boolean" : "number");
  }
}

}  // namespace

nlohmann::json saelens_cfg_json(const Sae& s) {
  const SaeConfig& c = s.cfg;
  nlohmann::json j = c.extra.is_object() ? c.extra : nlohmann::json::object();
  const bool jump = c.arch == SaeArch::JumpRelu || c.arch == SaeArch::BatchTopK;
  j["architecture"] = jump ? "jumprelu" : "standard";
  j["d_in"] = c.d_in;
  j["d_sae"] = c.d_sae;
  j["dtype"] = "float32";
  j["device"] = "cpu";
  j["model_name"] = c.model_name;
  j["hook_name"] = c.hook_name;
  j["hook_layer"] = c.hook_layer;
  j["hook_head_index"] = c.hook_head_index >= 0 ? nlohmann::json(c.hook_head_index) : nlohmann::json(nullptr);
  j["activation_fn_str"] = c.arch == SaeArch::TopK ? "topk" : "relu";
  j["activation_fn_kwargs"] = c.arch == SaeArch::TopK ? nlohmann::json{{"k", c.k}} : nlohmann::json::object();
  j["apply_b_dec_to_input"] = c.b_dec_on_input();
  j["finetuning_scaling_factor"] = false;
  if (!j.contains("sae_lens_training_version")) j["sae_lens_training_version"] = nullptr;
  j["prepend_bos"] = c.prepend_bos;
  j["dataset_path"] = c.dataset_path;
  if (!j.contains("dataset_trust_remote_code")) j["dataset_trust_remote_code"] = true;
  j["context_size"] = c.context_size;
  j["normalize_activations"] = to_string(c.normalize_activations);
  if (!j.contains("neuronpedia_id")) j["neuronpedia_id"] = nullptr;
  if (!j.contains("model_from_pretrained_kwargs")) j["model_from_pretrained_kwargs"] = nlohmann::json::object();
  j["glassbox_architecture"] = to_string(c.arch);
  if (c.arch == SaeArch::TopK || c.arch == SaeArch::BatchTopK) j["k"] = c.k;
  if (!c.autoencoder()) {
    j["d_out"] = c.out_dim();
    j["hook_name_out"] = c.hook_name_out;
  }
  if (c.n_sources > 1) {
    j["n_sources"] = c.n_sources;
    j["source_names"] = c.source_names;
  }
  return j;
}

SaeConfig saelens_cfg_from_json(nlohmann::json j, const std::string& path) {
  if (!j.is_object()) fail(path, ": expected a JSON object");
  // SAELens 6 nests provenance under "metadata"; older files use old names.
  if (j.contains("metadata") && j["metadata"].is_object())
    for (const auto& [k, v] : j["metadata"].items())
      if (!j.contains(k)) j[k] = v;
  const std::pair<const char*, const char*> renames[] = {{"hook_point", "hook_name"},
                                                         {"hook_point_layer", "hook_layer"},
                                                         {"hook_point_head_index", "hook_head_index"},
                                                         {"activation_fn", "activation_fn_str"}};
  for (const auto& [old, now] : renames)
    if (j.contains(old) && !j.contains(now)) j[now] = j[old];

  SaeConfig c;
  c.d_in = field<int64_t>(j, "d_in", path);
  c.d_sae = field<int64_t>(j, "d_sae", path);
  c.hook_name = field<std::string>(j, "hook_name", path);
  // Defaults exactly where SAELens' handle_config_defaulting sets them.
  const std::string arch = j.contains("architecture") ? field<std::string>(j, "architecture", path) : "standard";
  const std::string act = j.contains("activation_fn_str") ? field<std::string>(j, "activation_fn_str", path) : "relu";
  c.apply_b_dec_to_input = j.contains("apply_b_dec_to_input") ? field<bool>(j, "apply_b_dec_to_input", path) : true;
  c.prepend_bos = j.contains("prepend_bos") ? field<bool>(j, "prepend_bos", path) : true;
  if (j.contains("normalize_activations")) {
    const auto& n = j["normalize_activations"];
    if (n.is_boolean()) c.normalize_activations = n.get<bool>() ? ActNorm::ExpectedAverageOnlyIn : ActNorm::None;
    else {
      try {
        c.normalize_activations = from_string<ActNorm>(field<std::string>(j, "normalize_activations", path));
      } catch (const Error& e) {
        fail(path, ": ", e.what());
      }
    }
  }
  auto int_or = [&](const char* key, int64_t def) {
    return j.contains(key) && !j[key].is_null() ? field<int64_t>(j, key, path) : def;
  };
  c.hook_layer = int_or("hook_layer", 0);
  c.hook_head_index = int_or("hook_head_index", -1);
  c.context_size = int_or("context_size", 0);
  if (j.contains("model_name") && j["model_name"].is_string()) c.model_name = j["model_name"];
  if (j.contains("dataset_path") && j["dataset_path"].is_string()) c.dataset_path = j["dataset_path"];

  auto k_from = [&]() -> int64_t {
    if (j.contains("activation_fn_kwargs") && j["activation_fn_kwargs"].is_object() &&
        j["activation_fn_kwargs"].contains("k"))
      return field<int64_t>(j["activation_fn_kwargs"], "k", path + " activation_fn_kwargs");
    return field<int64_t>(j, "k", path);
  };
  const std::string ours = j.contains("glassbox_architecture") ? field<std::string>(j, "glassbox_architecture", path) : "";
  if (ours == "batchtopk") {
    c.arch = SaeArch::BatchTopK;
    c.k = field<int64_t>(j, "k", path);
  } else if (arch == "jumprelu") {
    c.arch = SaeArch::JumpRelu;
  } else if (arch == "topk" || (arch == "standard" && act == "topk")) {
    c.arch = SaeArch::TopK;
    c.k = k_from();
  } else if (arch == "standard" && act == "relu") {
    c.arch = SaeArch::Relu;
  } else if (arch == "standard") {
    fail(path, ": activation_fn_str '", act, "' is not supported (relu, topk)");
  } else {
    fail(path, ": architecture '", arch, "' is not supported (standard, topk, jumprelu)");
  }
  if (j.contains("d_out") && !j["d_out"].is_null()) c.d_out = field<int64_t>(j, "d_out", path);
  if (c.d_out == c.d_in) c.d_out = 0;
  if (j.contains("hook_name_out") && j["hook_name_out"].is_string()) c.hook_name_out = j["hook_name_out"];
  c.n_sources = int_or("n_sources", 1);
  if (j.contains("source_names")) c.source_names = j["source_names"].get<std::vector<std::string>>();
  c.validate(path);
  for (const char* f : kOwnFields) j.erase(f);
  c.extra = j;
  return c;
}

namespace {

std::vector<float> tensor_f32(const SafetensorsFile& f, const char* name, const Shape& want, bool required) {
  const RawTensor* t = f.find(name);
  if (!t) {
    if (required) fail(f.path(), ": missing tensor '", name, "' ", shape_str(want));
    return {};
  }
  if (t->shape != want)
    fail(f.path(), ": tensor '", name, "' has shape ", shape_str(t->shape), ", expected ", shape_str(want));
  if (t->dtype != DType::F32 && t->dtype != DType::F16 && t->dtype != DType::BF16)
    fail(f.path(), ": tensor '", name, "' is ", to_string(t->dtype), "; expected F32, F16 or BF16");
  Tensor tmp;
  tmp.dtype = t->dtype;
  tmp.shape = t->shape;
  tmp.data = const_cast<void*>(t->data);
  return tmp.to_f32_vector();
}

}  // namespace

Sae load_saelens(const std::string& dir) {
  const std::string cfg_path = (fs::path(dir) / kSaeCfgFile).string();
  const nlohmann::json j = read_json_file(cfg_path);
  const bool fsf = j.contains("finetuning_scaling_factor") && j["finetuning_scaling_factor"].is_boolean() &&
                   j["finetuning_scaling_factor"].get<bool>();
  Sae s;
  s.cfg = saelens_cfg_from_json(j, cfg_path);
  const SaeConfig& c = s.cfg;
  const SafetensorsFile f = SafetensorsFile::open((fs::path(dir) / kSaeWeightsFile).string());
  const int64_t in = c.in_width(), out = c.out_width(), S = c.d_sae;
  s.W_enc = tensor_f32(f, "W_enc", {in, S}, true);
  s.b_enc = tensor_f32(f, "b_enc", {S}, true);
  s.W_dec = tensor_f32(f, "W_dec", {S, out}, true);
  s.b_dec = tensor_f32(f, "b_dec", {out}, true);
  if (c.arch == SaeArch::JumpRelu || c.arch == SaeArch::BatchTopK) s.threshold = tensor_f32(f, "threshold", {S}, true);
  if (fsf) {
    const std::vector<float> sc = tensor_f32(f, "finetuning_scaling_factor", {S}, true);
    for (int64_t r = 0; r < S; ++r)
      for (int64_t i = 0; i < out; ++i) s.W_dec[size_t(r * out + i)] *= sc[size_t(r)];
  }
  return s;
}

void save_saelens(const Sae& s, const std::string& dir) {
  const SaeConfig& c = s.cfg;
  c.validate(dir);
  const int64_t in = c.in_width(), out = c.out_width(), S = c.d_sae;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(dir, ": cannot create directory: ", ec.message());
  auto tw = [](const char* name, const std::vector<float>& v, Shape shape) {
    if (int64_t(v.size()) != numel(shape))
      fail("save_saelens: tensor '", name, "' has ", v.size(), " values, expected ", shape_str(shape));
    return TensorToWrite{name, DType::F32, shape, v.data(), v.size() * sizeof(float)};
  };
  std::vector<TensorToWrite> ts = {tw("W_enc", s.W_enc, {in, S}), tw("b_enc", s.b_enc, {S}),
                                   tw("W_dec", s.W_dec, {S, out}), tw("b_dec", s.b_dec, {out})};
  if (c.arch == SaeArch::JumpRelu || c.arch == SaeArch::BatchTopK) ts.push_back(tw("threshold", s.threshold, {S}));
  save_safetensors((fs::path(dir) / kSaeWeightsFile).string(), ts);
  const std::string cfg = saelens_cfg_json(s).dump(2);
  write_file_atomic((fs::path(dir) / kSaeCfgFile).string(), cfg.data(), cfg.size());
}

}  // namespace glassbox::features

namespace glassbox::features {

std::shared_ptr<const LatentCodec> load_sae_codec(const std::string& dir) {
  auto sae = std::make_shared<Sae>(load_saelens(dir));
  const SaeConfig& c = sae->cfg;
  if (!c.autoencoder() || c.n_sources > 1)
    fail(dir, ": an \"sae\" intervention needs an autoencoder (d_in = d_out, one source); this is a ",
         c.n_sources > 1 ? "crosscoder" : "transcoder");
  if (c.normalize_activations == ActNorm::ConstantNormRescale || c.normalize_activations == ActNorm::LayerNorm)
    fail(dir, ": normalize_activations \"", to_string(c.normalize_activations),
         "\" scales each input row, which an intervention's decode cannot undo; use \"none\" or "
         "\"expected_average_only_in\"");
  return sae;
}

std::vector<Intervention> load_interventions(const std::string& path) {
  return glassbox::load_interventions(path, load_sae_codec);
}

}  // namespace glassbox::features
