// Checkpoints of train_dictionaries: everything a resumed run needs to
// continue bit for bit (weights, the JumpReLU log-threshold, Adam moments,
// dead-latent counters, the stream position, the log). Kept apart from the
// SAELens directories so those stay loadable by SAELens.
#include <filesystem>

#include "features/dictionary_state.h"
#include "glassbox/error.h"
#include "glassbox/features/saelens.h"
#include "glassbox/json_file.h"
#include "glassbox/mmap_file.h"
#include "glassbox/safetensors.h"

namespace fs = std::filesystem;

namespace glassbox::features::detail {

nlohmann::json log_json(const std::vector<DictionaryLogEntry>& log) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& e : log)
    a.push_back({{"step", e.step}, {"loss", e.loss}, {"mse", e.mse}, {"sparsity", e.sparsity}, {"aux", e.aux},
                 {"l0", e.l0}, {"lr", e.lr}, {"dead_fraction", e.dead_fraction}});
  return a;
}

namespace {

std::vector<DictionaryLogEntry> log_from_json(const nlohmann::json& a) {
  std::vector<DictionaryLogEntry> log;
  for (const auto& e : a)
    log.push_back({e.at("step"), e.at("loss"), e.at("mse"), e.at("sparsity"), e.at("aux"), e.at("l0"), e.at("lr"),
                   e.at("dead_fraction")});
  return log;
}

}  // namespace

void save_checkpoint(const std::string& out_dir, const std::vector<DictState>& ds, const RunCounters& rc) {
  const fs::path dir = fs::path(out_dir) / "checkpoint", tmp = fs::path(out_dir) / "checkpoint.tmp",
                 old = fs::path(out_dir) / "checkpoint.old";
  fs::remove_all(tmp);
  nlohmann::json state = {{"step", rc.step}, {"batches_drawn", rc.batches_drawn}};
  nlohmann::json dicts = nlohmann::json::array();
  for (size_t i = 0; i < ds.size(); ++i) {
    const DictState& d = ds[i];
    const std::string sub = (tmp / std::to_string(i)).string();
    save_saelens(d.sae, sub);
    std::vector<TensorToWrite> ts;
    for (const auto& [name, m] : d.opt.m) ts.push_back({"m." + name, DType::F32, {int64_t(m.size())}, m.data(), m.size() * 4});
    for (const auto& [name, v] : d.opt.v) ts.push_back({"v." + name, DType::F32, {int64_t(v.size())}, v.data(), v.size() * 4});
    if (!d.log_threshold.empty())
      ts.push_back({"log_threshold", DType::F32, {int64_t(d.log_threshold.size())}, d.log_threshold.data(),
                    d.log_threshold.size() * 4});
    save_safetensors((fs::path(sub) / "optimizer.safetensors").string(), ts);
    dicts.push_back({{"name", d.spec.name},
                     {"optimizer_step", d.opt.step},
                     {"norm_scale", d.norm_scale},
                     {"batchtopk_ema", d.batchtopk_ema},
                     {"since_fired", d.since_fired},
                     {"log_sums", {d.acc_loss, d.acc_mse, d.acc_sp, d.acc_aux, d.acc_l0, d.acc_n}},
                     {"log", log_json(d.log)}});
  }
  state["dictionaries"] = dicts;
  const std::string s = state.dump();
  write_file_atomic((tmp / "state.json").string(), s.data(), s.size());
  fs::remove_all(old);
  if (fs::exists(dir)) fs::rename(dir, old);
  fs::rename(tmp, dir);
  fs::remove_all(old);
}

bool load_checkpoint(const std::string& out_dir, std::vector<DictState>& ds, RunCounters& rc) {
  const fs::path dir = fs::path(out_dir) / "checkpoint";
  const std::string state_path = (dir / "state.json").string();
  if (!fs::exists(state_path)) return false;
  const nlohmann::json j = read_json_file(state_path);
  try {
    rc.step = j.at("step");
    rc.batches_drawn = j.at("batches_drawn");
    const auto& dicts = j.at("dictionaries");
    if (dicts.size() != ds.size())
      fail(state_path, ": checkpoint holds ", dicts.size(), " dictionaries, this run trains ", ds.size());
    for (size_t i = 0; i < ds.size(); ++i) {
      DictState& d = ds[i];
      const auto& dj = dicts[i];
      if (dj.at("name").get<std::string>() != d.spec.name)
        fail(state_path, ": dictionary ", i, " is '", dj.at("name").get<std::string>(), "', this run's is '",
             d.spec.name, "'");
      const std::string sub = (dir / std::to_string(i)).string();
      Sae saved = load_saelens(sub);
      if (saved.W_enc.size() != d.sae.W_enc.size() || saved.W_dec.size() != d.sae.W_dec.size() ||
          saved.cfg.arch != d.sae.cfg.arch)
        fail(sub, ": checkpointed dictionary '", d.spec.name, "' does not match this run's configuration");
      saved.cfg = d.sae.cfg;
      d.sae = std::move(saved);
      const SafetensorsFile opt = SafetensorsFile::open((fs::path(sub) / "optimizer.safetensors").string());
      d.opt = {};
      for (const RawTensor& r : opt.tensors()) {
        const float* x = static_cast<const float*>(r.data);
        if (r.name == "log_threshold") d.log_threshold.assign(x, x + r.numel());
        else if (r.name.rfind("m.", 0) == 0) d.opt.m[r.name.substr(2)].assign(x, x + r.numel());
        else if (r.name.rfind("v.", 0) == 0) d.opt.v[r.name.substr(2)].assign(x, x + r.numel());
      }
      d.opt.step = dj.at("optimizer_step");
      d.norm_scale = dj.at("norm_scale");
      d.batchtopk_ema = dj.at("batchtopk_ema");
      d.since_fired = dj.at("since_fired").get<std::vector<int64_t>>();
      if (int64_t(d.since_fired.size()) != d.sae.cfg.d_sae) fail(state_path, ": since_fired has the wrong length");
      d.log = log_from_json(dj.at("log"));
      const auto& ls = dj.at("log_sums");
      d.acc_loss = ls.at(0), d.acc_mse = ls.at(1), d.acc_sp = ls.at(2), d.acc_aux = ls.at(3), d.acc_l0 = ls.at(4);
      d.acc_n = ls.at(5);
    }
  } catch (const nlohmann::json::exception& e) {
    fail(state_path, ": ", e.what());
  }
  return true;
}

}  // namespace glassbox::features::detail
