// Directional ablation at run time (project_out interventions) and baked into
// the weights (steering/orthogonalize.h), saved in the model's own format.
#include "glassbox/steering/orthogonalize.h"

#include <cmath>
#include <filesystem>

#include "glassbox/error.h"
#include "glassbox/gguf_export.h"
#include "glassbox/hooks.h"
#include "glassbox/json_file.h"
#include "glassbox/mmap_file.h"
#include "glassbox/model_edit.h"
#include "glassbox/safetensors.h"
#include "glassbox/trainable.h"

namespace fs = std::filesystem;

namespace glassbox::steering {

namespace {

bool is_gguf_path(const std::string& p) { return p.size() > 5 && p.substr(p.size() - 5) == ".gguf"; }

// r / |r| in double; Error for a width other than d or a zero vector.
std::vector<double> unit(const std::vector<float>& r, int64_t d, const std::string& what) {
  if (int64_t(r.size()) != d)
    fail(what, ": the direction has width ", r.size(), ", the model's residual stream (d_model) ", d);
  double nn = 0;
  for (float x : r) nn += double(x) * x;
  if (!(nn > 0) || !std::isfinite(nn)) fail(what, ": the direction is zero (or not finite): nothing to ablate");
  std::vector<double> u(r.size());
  for (size_t j = 0; j < r.size(); ++j) u[j] = r[j] / std::sqrt(nn);
  return u;
}

// The unembedding's checkpoint name where the family ties it to W_E.
std::string untied_unembedding_name(const Config& c, const std::string& where) {
  if (c.family == "gpt2" || c.family == "llama" || c.family == "mistral" || c.family == "qwen2") return "lm_head.weight";
  if (c.family == "gpt_neox") return "embed_out.weight";
  fail(where, ": a tied unembedding in family '", c.family, "' has no separate tensor name to untie it into");
}

// The Hugging Face directory: the checkpoint's own tensors, edited in place
// through the canonical views (which point into the Trainable's buffers).
OrthogonalizeResult save_hf(const std::string& path, const std::vector<float>& direction, const std::string& out,
                            const std::string& what) {
  Trainable tr = Trainable::load(path);
  const Config& c = tr.model().config();
  const Weights& w = tr.model().weights();
  const std::vector<double> r = unit(direction, c.d_model, what);
  const int64_t d = c.d_model;
  // The writable address of a view: the Trainable owns these buffers.
  const auto writable = [&tr, &path](const float* p) {
    for (Param& prm : tr.params()) {
      float* b = prm.value.f32();
      if (p >= b && p < b + prm.value.numel()) return b + (p - b);
    }
    fail(path, ": a residual-stream weight is not in the checkpoint's own buffers");
  };
  OrthogonalizeResult res{out, "safetensors", 0, false};
  std::vector<TensorToWrite> extra;
  std::vector<float> unembedding;
  if (w.W_U.data == w.W_E) {  // tied: the readout keeps the original embedding
    unembedding.assign(w.W_E, w.W_E + c.d_vocab * d);
    extra.push_back({untied_unembedding_name(c, path), DType::F32, {c.d_vocab, d}, unembedding.data(),
                     unembedding.size() * sizeof(float)});
    res.untied = true;
  }
  const auto rows = [&](const float* x, int64_t n, int64_t rs, int64_t cs) {
    if (!x) return;
    project_out_rows(writable(x), n, d, rs, cs, r);
    ++res.tensors_edited;
  };
  rows(w.W_E, c.d_vocab, d, 1);
  rows(w.W_pos, c.n_ctx, d, 1);
  for (const LayerWeights& lw : w.layers) {
    rows(lw.W_O.data, lw.W_O.rows, lw.W_O.rs, lw.W_O.cs);
    rows(lw.b_O, 1, d, 1);
    rows(lw.W_out.data, lw.W_out.rows, lw.W_out.rs, lw.W_out.cs);
    rows(lw.b_out, 1, d, 1);
  }

  fs::create_directories(out);
  std::vector<TensorToWrite> ts;
  for (const Param& p : tr.params()) ts.push_back({p.name, DType::F32, p.value.shape, p.value.data, p.value.nbytes()});
  ts.insert(ts.end(), extra.begin(), extra.end());
  save_safetensors((fs::path(out) / "model.safetensors").string(), ts, {{"format", "pt"}});
  nlohmann::json cfg = tr.config_json();
  if (res.untied) cfg["tie_word_embeddings"] = false;
  const std::string text = cfg.dump(2) + "\n";
  write_file_atomic((fs::path(out) / "config.json").string(), text.data(), text.size());
  // The tokenizer and whatever else sits beside the weights.
  const fs::path src = fs::is_directory(path) ? fs::path(path) : fs::path(path).parent_path();
  for (const auto& e : fs::directory_iterator(src)) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || name == "config.json" || name.find(".safetensors") != std::string::npos) continue;
    const auto bytes = MappedFile::open(e.path().string());  // atomically, as every output is
    write_file_atomic((fs::path(out) / name).string(), bytes->data(), bytes->size());
  }
  return res;
}

}  // namespace

std::vector<float> ablation_direction(const SteeringVector& v, int layer, const std::string& what) {
  if (v.layers.empty()) fail(what, ": the direction has no layers");
  const LayerDirection* ld = nullptr;
  if (layer < 0) {
    if (v.layers.size() != 1) {
      std::string have;
      for (int l : v.layer_ids()) have += (have.empty() ? "" : ", ") + std::to_string(l);
      fail(what, ": the direction has vectors at layers ", have, "; choose one to ablate (--layer)");
    }
    ld = &v.layers[0];
  } else {
    ld = v.find(layer);
    if (!ld) {
      std::string have;
      for (int l : v.layer_ids()) have += (have.empty() ? "" : ", ") + std::to_string(l);
      fail(what, ": no vector at layer ", layer, " (it has layers ", have, ")");
    }
  }
  unit(ld->vector, int64_t(ld->vector.size()), what);  // the zero check
  return ld->vector;
}

std::vector<Intervention> ablation_interventions(const std::vector<float>& direction, const Config& c,
                                                 const std::string& what) {
  unit(direction, c.d_model, what);
  std::vector<HookPoint> points = {{Site::embed, -1}};
  if (site_exists(Site::pos_embed, c)) points.push_back({Site::pos_embed, -1});
  for (int l = 0; l < c.n_layers; ++l)
    for (Site s : {Site::resid_pre, Site::resid_mid, Site::resid_post})
      if (site_exists(s, c)) points.push_back({s, l});
  std::vector<Intervention> out;
  for (const HookPoint& p : points) {
    Intervention iv;
    iv.kind = InterventionKind::ProjectOut;
    iv.hook = p.name();
    iv.vector = direction;
    out.push_back(std::move(iv));
  }
  return out;
}

void project_out_rows(float* x, int64_t rows, int64_t d, int64_t rs, int64_t cs, const std::vector<double>& r) {
  for (int64_t i = 0; i < rows; ++i) {
    float* row = x + i * rs;
    double dot = 0;
    for (int64_t j = 0; j < d; ++j) dot += double(row[j * cs]) * r[size_t(j)];
    for (int64_t j = 0; j < d; ++j) row[j * cs] = float(double(row[j * cs]) - dot * r[size_t(j)]);
  }
}

Model orthogonalized_model(const Model& m, const std::vector<float>& direction, const std::string& what) {
  const std::vector<double> r = unit(direction, m.config().d_model, what);
  return edit_residual_writers(m, [&r](float* x, int64_t rows, int64_t d) { project_out_rows(x, rows, d, d, 1, r); });
}

OrthogonalizeResult save_orthogonalized(const std::string& model_path, const std::vector<float>& direction,
                                        const std::string& out, DType gguf_dtype, const std::string& what) {
  if (fs::exists(out) && fs::exists(model_path) && fs::equivalent(out, model_path))
    fail(out, ": the output would overwrite the model it is made from");
  if (!is_gguf_path(model_path)) {
    if (is_gguf_path(out))
      fail(out, ": ", model_path, " is a safetensors model; its orthogonalised copy is a directory like it (convert "
           "the result with `glassbox convert` for GGUF)");
    return save_hf(model_path, direction, out, what);
  }
  if (!is_gguf_path(out)) fail(out, ": ", model_path, " is a GGUF model; name the output FILE.gguf");
  // The copy is written as F32 / F16, so a quantised file is read dequantised.
  const Model m = Model::load(model_path, {.keep_quantized = false});
  const Model o = orthogonalized_model(m, direction, what);
  GgufExportOptions opt;
  opt.dtype = gguf_dtype;
  opt.tokenizer = m.tokenizer();
  opt.name = fs::path(model_path).stem().string() + "-orthogonalized";
  save_gguf(o, out, opt);
  OrthogonalizeResult res{out, "gguf", 1 + (m.weights().W_pos ? 1 : 0), m.config().tied_embeddings};
  for (const LayerWeights& lw : m.weights().layers)
    res.tensors_edited += (lw.W_O.data != nullptr) + (lw.b_O != nullptr) + (lw.W_out.data != nullptr) + (lw.b_out != nullptr);
  return res;
}

}  // namespace glassbox::steering
