// Sparse dictionaries from Python, SAELens-shaped: glassbox.SAE (load, save,
// encode, decode, forward, weights as numpy views), training and evaluation on
// activations from numpy, a safetensors file, a harvest or a live model.
#include <cstring>
#include <filesystem>

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "bind.h"
#include "glassbox/error.h"
#include "glassbox/features/dictionary_eval.h"
#include "glassbox/features/dictionary_train.h"
#include "glassbox/features/memory_stream.h"
#include "glassbox/features/model_stream.h"
#include "glassbox/features/saelens.h"
#include "glassbox/features/shards.h"
#include "glassbox/features/shuffle.h"
#include "glassbox/features/splice.h"

namespace glassbox::py {

namespace {

using namespace glassbox::features;
using FloatRows = pyb::array_t<float, pyb::array::c_style | pyb::array::forcecast>;

// The dictionary Python holds: weights in a shared Sae, so weight arrays
// (views, base = Owner) keep it alive after the SAE object is gone.
struct PySAE {
  std::shared_ptr<features::Sae> sae;
  std::string dir;  // where it was loaded from or saved to ("" for one trained and not saved)
};

PySAE load_sae(const std::string& dir) { return PySAE{std::make_shared<features::Sae>(load_saelens(dir)), dir}; }

int64_t rows_of(const FloatRows& x, int64_t width, const char* what) {
  const int64_t last = x.ndim() ? int64_t(x.shape(x.ndim() - 1)) : 0;
  if (x.ndim() < 1 || last != width)
    fail(what, ": expected an array of shape [..., ", width, "], got ", shape_str(Shape(x.shape(), x.shape() + x.ndim())));
  return x.size() / width;
}

// f(rows, in, out) over the last axis of x: [..., in] -> [..., out].
template <class F>
pyb::array_t<float> map_rows(const FloatRows& x, int64_t in, int64_t out, const char* what, F&& f) {
  const int64_t rows = rows_of(x, in, what);
  std::vector<pyb::ssize_t> shape(x.shape(), x.shape() + x.ndim());
  shape.back() = pyb::ssize_t(out);
  pyb::array_t<float> y(shape);
  float* dst = y.mutable_data();
  pyb::gil_scoped_release release;
  f(x.data(), rows, dst);
  return y;
}

pyb::array sae_view(const PySAE& s, std::vector<float>& v, std::vector<int64_t> shape, const char* name) {
  if (v.empty()) return pyb::none();
  return array_view(s.sae, v.data(), DType::F32, shape, std::string("SAE.") + name, /*writable=*/true);
}

// Activations as the trainer / evaluator reads them. One of: arrays
// ({site: [rows, d]}), an activation file (safetensors), a harvest directory,
// or a model run over a corpus (a file path or token ids).
struct StreamSpec {
  pyb::object arrays;  // dict or None
  std::string file, harvest;
  ModelPtr model;
  std::string corpus_path;
  std::vector<int32_t> corpus_tokens;
  int context = 128;
  int64_t max_tokens = 0;
  bool exclude_bos = false;
};

std::unique_ptr<ActivationStream> open_stream(const StreamSpec& s, const std::vector<std::string>& sites,
                                              int64_t shuffle_rows, uint64_t seed) {
  const int given = int(!s.arrays.is_none()) + int(!s.file.empty()) + int(!s.harvest.empty()) + int(bool(s.model));
  if (given != 1) fail("activations: give exactly one of arrays, an activation file, a harvest or model= with corpus=");
  if (!s.arrays.is_none()) {
    std::vector<std::string> names;
    std::vector<int64_t> dims;
    std::vector<std::vector<float>> data;
    for (const auto& [k, v] : pyb::reinterpret_borrow<pyb::dict>(s.arrays)) {
      const std::string name = k.cast<std::string>();
      const auto a = FloatRows::ensure(v);
      if (!a || a.ndim() != 2) fail("activations['", name, "']: expected a 2-D float array [rows, d]");
      names.push_back(name);
      dims.push_back(int64_t(a.shape(1)));
      data.emplace_back(a.data(), a.data() + a.size());
    }
    if (names.empty()) fail("activations: an empty dict");
    return std::make_unique<MemoryStream>(std::move(names), std::move(dims), std::move(data));
  }
  if (!s.file.empty()) return std::make_unique<MemoryStream>(load_activation_file(s.file, sites));
  std::unique_ptr<ActivationStream> src;
  if (!s.harvest.empty()) {
    src = std::make_unique<ShardStream>(s.harvest, sites);
  } else {
    if (sites.empty()) fail("activations: model= needs the dictionary's hook (which site to stream)");
    ModelStreamOptions mo;
    mo.context = s.context;
    mo.exclude_bos = s.exclude_bos;
    mo.max_tokens = s.max_tokens;
    const std::shared_ptr<const Model> m(s.model, &s.model->model);  // shares the handle's lifetime
    if (!s.corpus_path.empty()) {
      const std::vector<int32_t> ids = is_token_file(s.corpus_path)
                                           ? read_token_file(s.corpus_path)
                                           : tokenize_text_file(*m->tokenizer(), s.corpus_path);
      src = std::make_unique<ModelActivationStream>(std::vector<std::shared_ptr<const Model>>{m},
                                                    std::vector<std::string>{m->source()}, sites, ids, mo);
    } else {
      if (s.corpus_tokens.empty()) fail("activations: model= needs corpus= (a text or token file, or token ids)");
      src = std::make_unique<ModelActivationStream>(std::vector<std::shared_ptr<const Model>>{m},
                                                    std::vector<std::string>{m->source()}, sites, s.corpus_tokens, mo);
    }
  }
  if (shuffle_rows <= 0) return src;
  return std::make_unique<ShuffleBuffer>(std::move(src), shuffle_rows, seed);
}

StreamSpec stream_spec(const pyb::object& arrays, const std::string& file, const std::string& harvest,
                       const std::optional<ModelPtr>& model, const pyb::object& corpus, int context,
                       int64_t max_tokens, bool exclude_bos) {
  StreamSpec s;
  s.arrays = arrays;
  s.file = file;
  s.harvest = harvest;
  if (model) s.model = *model;
  if (pyb::isinstance<pyb::str>(corpus)) {
    s.corpus_path = corpus.cast<std::string>();
    if (s.model && !is_token_file(s.corpus_path) && !s.model->model.tokenizer())
      fail("corpus ", s.corpus_path, ": ", s.model->model.source(), " has no tokenizer for a text file");
  } else if (!corpus.is_none()) {
    s.corpus_tokens = corpus.cast<std::vector<int32_t>>();
  }
  s.context = context;
  s.max_tokens = max_tokens;
  s.exclude_bos = exclude_bos;
  return s;
}

std::vector<std::string> sae_sites(const features::Sae& s) {
  std::vector<std::string> sites = s.cfg.n_sources > 1 ? s.cfg.source_names : std::vector<std::string>{s.cfg.hook_name};
  if (!s.cfg.hook_name_out.empty()) sites.push_back(s.cfg.hook_name_out);
  return sites;
}

}  // namespace

void bind_sae(pyb::module_& m) {
  pyb::class_<PySAE>(m, "SAE",
                     "A sparse dictionary (SAE, transcoder or crosscoder) in SAELens' layout: cfg.json + "
                     "sae_weights.safetensors")
      .def(pyb::init([](const std::filesystem::path& dir) { return load_sae(dir.string()); }), pyb::arg("dir"))
      .def_static("load", [](const std::filesystem::path& dir) { return load_sae(dir.string()); },
                  pyb::arg("dir"), "SAE.load(dir): a SAELens directory (cfg.json + sae_weights.safetensors)")
      .def("save",
           [](PySAE& s, const std::filesystem::path& dir) {
             save_saelens(*s.sae, dir.string());
             s.dir = dir.string();
           },
           pyb::arg("dir"), "Writes cfg.json and sae_weights.safetensors (atomically) into dir")
      .def_readonly("dir", &PySAE::dir)
      .def_property_readonly("cfg", [](const PySAE& s) { return from_json(saelens_cfg_json(*s.sae)); },
                             "cfg.json as a dict (SAELens' field names)")
      .def_property_readonly("architecture", [](const PySAE& s) { return std::string(to_string(s.sae->cfg.arch)); })
      .def_property_readonly("hook_name", [](const PySAE& s) { return s.sae->cfg.hook_name; })
      .def_property_readonly("hook_name_out", [](const PySAE& s) { return s.sae->cfg.hook_name_out; })
      .def_property_readonly("source_names", [](const PySAE& s) { return s.sae->cfg.source_names; })
      .def_property_readonly("d_in", [](const PySAE& s) { return s.sae->cfg.d_in; }, "Input width (per source)")
      .def_property_readonly("d_out", [](const PySAE& s) { return s.sae->cfg.out_dim(); }, "Output width (per source)")
      .def_property_readonly("d_sae", [](const PySAE& s) { return s.sae->cfg.d_sae; })
      .def_property_readonly("n_sources", [](const PySAE& s) { return s.sae->cfg.n_sources; })
      .def_property_readonly("k", [](const PySAE& s) { return s.sae->cfg.k; })
      .def_property_readonly("W_enc", [](const PySAE& s) { return sae_view(s, s.sae->W_enc, {s.sae->cfg.in_width(), s.sae->cfg.d_sae}, "W_enc"); },
                             "[n_sources * d_in, d_sae], a writable view of the weights (no copy)")
      .def_property_readonly("b_enc", [](const PySAE& s) { return sae_view(s, s.sae->b_enc, {s.sae->cfg.d_sae}, "b_enc"); })
      .def_property_readonly("W_dec", [](const PySAE& s) { return sae_view(s, s.sae->W_dec, {s.sae->cfg.d_sae, s.sae->cfg.out_width()}, "W_dec"); },
                             "[d_sae, n_sources * d_out]")
      .def_property_readonly("b_dec", [](const PySAE& s) { return sae_view(s, s.sae->b_dec, {s.sae->cfg.out_width()}, "b_dec"); })
      .def_property_readonly("threshold", [](const PySAE& s) { return sae_view(s, s.sae->threshold, {s.sae->cfg.d_sae}, "threshold"); },
                             "[d_sae] (JumpReLU / BatchTopK), None for the others")
      .def("encode",
           [](const PySAE& s, const FloatRows& x) {
             const features::Sae& d = *s.sae;
             return map_rows(x, d.cfg.in_width(), d.cfg.d_sae, "SAE.encode",
                             [&](const float* a, int64_t r, float* f) { d.encode(a, r, f); });
           },
           pyb::arg("x"), "Latent activations [..., d_sae] of activation rows [..., n_sources * d_in]")
      .def("decode",
           [](const PySAE& s, const FloatRows& f) {
             const features::Sae& d = *s.sae;
             return map_rows(f, d.cfg.d_sae, d.cfg.out_width(), "SAE.decode",
                             [&](const float* a, int64_t r, float* x) { d.decode(a, r, x); });
           },
           pyb::arg("f"), "Reconstruction [..., n_sources * d_out] of latent rows [..., d_sae]")
      .def("forward",
           [](const PySAE& s, const FloatRows& x) {
             const features::Sae& d = *s.sae;
             return map_rows(x, d.cfg.in_width(), d.cfg.out_width(), "SAE.forward",
                             [&](const float* a, int64_t r, float* y) { d.reconstruct(a, r, y); });
           },
           pyb::arg("x"), "decode(encode(x)), with run-time input normalisation undone (SAELens' SAE.forward)")
      .def("decoder_norms_per_source",
           [](const PySAE& s) {
             return to_array(s.sae->decoder_norms_per_source(), {s.sae->cfg.d_sae, s.sae->cfg.n_sources});
           },
           "||W_dec[j, source]|| for every latent: [d_sae, n_sources]")
      .def("__repr__", [](const PySAE& s) {
        return "<glassbox.SAE " + std::string(to_string(s.sae->cfg.arch)) + " " + s.sae->cfg.hook_name + " d_in " +
               std::to_string(s.sae->cfg.d_in) + " d_sae " + std::to_string(s.sae->cfg.d_sae) + ">";
      });

  m.def("sae_info", [](const PySAE& p) { return from_json(sae_info_json(*p.sae, p.dir)); }, pyb::arg("sae"),
        "A dictionary's configuration and decoder statistics (`glassbox sae info --json`)");
  m.def("evaluate_sae",
        [](const PySAE& s, const pyb::object& arrays, const std::string& file, const std::string& harvest,
           std::optional<ModelPtr> model, const pyb::object& corpus, int context, int64_t max_tokens, int64_t rows,
           bool frequency, bool splice) {
          const features::Sae& d = *s.sae;
          const StreamSpec spec = stream_spec(arrays, file, harvest, model, corpus, context, max_tokens, false);
          nlohmann::json j;
          std::unique_ptr<ActivationStream> stream = open_stream(spec, sae_sites(d), 0, 0);  // reads arrays: GIL held
          {
            pyb::gil_scoped_release release;
            DictionaryEvalOptions eo;
            eo.max_rows = rows;
            j = evaluate_dictionary(d, *stream, eo).to_json(frequency);
            // As `glassbox sae eval --model`: the reconstruction spliced into the model's own sequences.
            const auto* live = dynamic_cast<const ModelActivationStream*>(stream.get());
            if (splice && live && d.cfg.autoencoder() && d.cfg.n_sources == 1) {
              if (s.dir.empty()) fail("evaluate_sae: splice needs the SAE saved (SAE.save(dir)) or loaded from a directory");
              std::vector<std::vector<int32_t>> seqs;
              for (int64_t q = 0; q < live->sequences(); ++q) seqs.push_back(live->sequence(q));
              Engine e(*live->models().front());
              j["splice"] = evaluate_splice(e, load_sae_codec(s.dir), d.cfg.hook_name, seqs).to_json();
            }
          }
          return from_json(j);
        },
        pyb::arg("sae"), pyb::arg("arrays"), pyb::arg("file"), pyb::arg("harvest"), pyb::arg("model"),
        pyb::arg("corpus"), pyb::arg("context"), pyb::arg("max_tokens"), pyb::arg("rows"), pyb::arg("frequency"),
        pyb::arg("splice"));

  // One dictionary per hook (or one transcoder / crosscoder), as `glassbox sae train`.
  m.def("train_sae",
        [](const pyb::object& arrays, const std::string& file, const std::string& harvest, std::optional<ModelPtr> model,
           const pyb::object& corpus, int context, int64_t max_tokens, bool exclude_bos, std::vector<std::string> hooks,
           const std::string& target, const std::vector<std::string>& sources, const std::string& arch, int64_t k,
           int64_t expansion, int64_t d_sae, int64_t tokens, int64_t batch, float lr, int warmup,
           const std::string& decay, float min_lr_ratio, float l1, float l0, float bandwidth, float threshold_init,
           int64_t aux_k, int64_t dead_after, const std::string& b_dec_init, bool normalize, uint64_t seed,
           const std::string& out, int64_t shuffle_rows, int64_t checkpoint_every, int64_t stop_at, bool resume) {
          if (!sources.empty() && (!hooks.empty() || !target.empty()))
            fail("train_sae: sources= (a crosscoder) takes no hook or target");
          if (!target.empty() && hooks.size() != 1) fail("train_sae: target= needs exactly one hook");
          const StreamSpec spec = stream_spec(arrays, file, harvest, model, corpus, context, max_tokens, exclude_bos);
          std::vector<std::string> sites = sources.empty() ? hooks : sources;
          if (!target.empty()) sites.push_back(target);
          nlohmann::json j;
          std::vector<PySAE> trained;
          // Harvests and live streams come in corpus order: shuffled as the CLI does. Reads arrays: GIL held.
          const bool ordered = !spec.harvest.empty() || spec.model;
          std::unique_ptr<ActivationStream> stream = open_stream(spec, sites, ordered ? shuffle_rows : 0, seed);
          {
            pyb::gil_scoped_release release;
            if (hooks.empty() && sources.empty()) {
              if (stream->site_names().size() != 1) fail("train_sae: the activations hold several sites; pick one or more with hook=");
              hooks = stream->site_names();
            }
            auto site_dim = [&](const std::string& h) {
              const auto& n = stream->site_names();
              for (size_t i = 0; i < n.size(); ++i)
                if (n[i] == h) return stream->dims()[i];
              fail("train_sae: site '", h, "' is not in the activations");
            };
            DictionarySpec base;
            base.sae.arch = from_string<SaeArch>(arch);
            base.sae.k = k;
            base.loss.l1_coefficient = l1;
            base.loss.l0_coefficient = l0;
            base.loss.jumprelu_bandwidth = bandwidth;
            base.jumprelu_init_threshold = threshold_init;
            base.loss.aux_k = aux_k;
            base.optimizer.lr = lr;
            base.schedule = {warmup, min_lr_ratio, from_string<Decay>(decay)};
            base.dead_after_tokens = dead_after;
            base.b_dec_init = from_string<BDecInit>(b_dec_init);
            base.normalize_activations = normalize;
            base.seed = seed;
            if (spec.model) {
              base.sae.model_name = std::filesystem::path(spec.model->model.source()).filename().string();
              base.sae.context_size = context;
              base.sae.dataset_path = spec.corpus_path;
            }
            std::vector<DictionarySpec> specs;
            auto finish = [&](DictionarySpec s, const std::string& name) {
              s.sae.d_sae = d_sae > 0 ? d_sae : expansion * s.sae.d_in;
              s.name = name;
              specs.push_back(s);
            };
            if (!sources.empty()) {
              DictionarySpec s = base;
              s.sae.n_sources = int64_t(sources.size());
              s.sae.source_names = sources;
              s.sae.hook_name = sources[0];
              s.sae.d_in = site_dim(sources[0]);
              finish(s, "");
            } else {
              for (const auto& h : hooks) {
                DictionarySpec s = base;
                s.sae.hook_name = h;
                if (h.rfind("blocks.", 0) == 0) s.sae.hook_layer = std::atoll(h.c_str() + 7);
                s.sae.d_in = site_dim(h);
                if (!target.empty()) s.sae.hook_name_out = target, s.sae.d_out = site_dim(target);
                finish(s, hooks.size() > 1 ? h : "");
              }
            }
            TrainDictionariesOptions topt;
            topt.batch_rows = batch;
            topt.total_tokens = tokens;
            topt.out_dir = out;
            topt.checkpoint_every = checkpoint_every;
            topt.stop_at_step = stop_at;
            topt.resume = resume;
            topt.progress = false;
            TrainDictionariesResult r = train_dictionaries(*stream, specs, topt);
            j = r.to_json();
            j["out_dir"] = out;
            j["finished"] = r.steps_done == topt.steps();
            for (size_t i = 0; i < r.dictionaries.size(); ++i) {
              auto& d = r.dictionaries[i];
              nlohmann::json log = nlohmann::json::array();
              for (const DictionaryLogEntry& e : d.log)
                log.push_back({{"step", e.step}, {"loss", e.loss}, {"mse", e.mse}, {"sparsity", e.sparsity},
                               {"aux", e.aux}, {"l0", e.l0}, {"lr", e.lr}, {"dead_fraction", e.dead_fraction}});
              j["dictionaries"][i]["log"] = log;
              std::string dir;
              if (!out.empty() && j["finished"].get<bool>())
                dir = d.name.empty() ? out : (std::filesystem::path(out) / d.name).string();
              trained.push_back(PySAE{std::make_shared<features::Sae>(std::move(d.sae)), dir});
            }
          }
          pyb::dict res = from_json(j);
          res["saes"] = pyb::cast(trained);
          return res;
        },
        pyb::arg("arrays"), pyb::arg("file"), pyb::arg("harvest"), pyb::arg("model"), pyb::arg("corpus"),
        pyb::arg("context"), pyb::arg("max_tokens"), pyb::arg("exclude_bos"), pyb::arg("hooks"), pyb::arg("target"),
        pyb::arg("sources"), pyb::arg("arch"), pyb::arg("k"), pyb::arg("expansion"), pyb::arg("d_sae"),
        pyb::arg("tokens"), pyb::arg("batch"), pyb::arg("lr"), pyb::arg("warmup"), pyb::arg("decay"),
        pyb::arg("min_lr_ratio"), pyb::arg("l1"), pyb::arg("l0"), pyb::arg("bandwidth"), pyb::arg("threshold_init"),
        pyb::arg("aux_k"), pyb::arg("dead_after"), pyb::arg("b_dec_init"), pyb::arg("normalize"), pyb::arg("seed"),
        pyb::arg("out"), pyb::arg("shuffle_rows"), pyb::arg("checkpoint_every"), pyb::arg("stop_at"),
        pyb::arg("resume"));
}

}  // namespace glassbox::py
