// Training, evaluating and recording organisms: the part every recipe shares.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "glassbox/error.h"
#include "glassbox/json_file.h"
#include "glassbox/mmap_file.h"
#include "glassbox/resources.h"
#include "glassbox/threads.h"
#include "glassbox/trainable.h"
#include "glassbox/zoo.h"
#include "zoo/detail.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace glassbox::zoo {

namespace {

void write_json(const fs::path& path, const json& j) {
  const std::string s = j.dump(2) + "\n";
  write_file_atomic(path.string(), s.data(), s.size());
}

}  // namespace

json detail::log_json(const std::vector<LogEntry>& log) {
  json a = json::array();
  for (const auto& e : log) {
    json row = {{"step", e.step}, {"loss", e.loss}, {"lr", e.lr}, {"grad_norm", e.grad_norm}};
    if (e.eval_loss >= 0) row["eval_loss"] = e.eval_loss;
    a.push_back(row);
  }
  return a;
}

namespace {

json checks_json(const Organism& o, const json& metrics, bool& passed) {
  json out = json::array();
  passed = true;
  for (const Check& c : o.checks) {
    const bool has = metrics.contains(c.metric) && metrics[c.metric].is_number();
    const double v = has ? metrics[c.metric].get<double>() : 0.0;
    const bool ok = has && v >= c.min;
    passed = passed && ok;
    out.push_back({{"metric", c.metric}, {"min", c.min}, {"value", has ? json(v) : json(nullptr)}, {"passed", ok}});
  }
  return out;
}

constexpr const char* kFiles[] = {"model.safetensors", "config.json", "tokenizer.json", "train_log.json"};
constexpr const char* kHeldoutFile = "heldout.json";  // Recipe::heldout

// A fine-tune starts from the shipped model of another organism, which must
// speak the same tokenizer and have the recipe's shape.
Trainable init_from(const Organism& o, const Recipe& r) {
  const fs::path base = fs::path(models_dir()) / r.init_from;
  if (!fs::exists(base / "model.safetensors") || !fs::exists(base / "tokenizer.json"))
    fail("zoo: ", o.name, " is fine-tuned from ", r.init_from, ", which is not shipped in ", base.string(),
         "; train it first with `glassbox zoo train ", r.init_from, "`");
  if (read_json_file((base / "tokenizer.json").string()) != r.tokenizer)
    fail("zoo: ", base.string(), "/tokenizer.json differs from the one ", o.name, "'s recipe builds; retrain ",
         r.init_from, " with `glassbox zoo train ", r.init_from, "`");
  Trainable tr = Trainable::load(base.string());
  if (tr.config_json() != r.config)
    fail("zoo: ", base.string(), "/config.json differs from ", o.name, "'s recipe config; retrain ", r.init_from);
  return tr;
}

}  // namespace

std::string data_dir() { return resource_dir(kZooDataResource); }
std::string models_dir() { return resource_dir(kModelsResource); }
std::string heldout_path(const std::string& model_dir, const std::string& organism) {
  const fs::path beside = fs::path(model_dir) / kHeldoutFile;
  if (!model_dir.empty() && fs::is_regular_file(beside)) return beside.string();
  return (fs::path(models_dir()) / organism / kHeldoutFile).string();
}
std::string default_model() { return (fs::path(models_dir()) / "ioi").string(); }

const Organism& find_organism(std::string_view name) {
  std::string known;
  for (const Organism& o : organisms()) {
    if (o.name == name) return o;
    known += (known.empty() ? "" : ", ") + o.name;
  }
  fail("zoo: no organism called '", name, "' (known: ", known, ")");
}

json read_manifest(const std::string& path) {
  const std::string p = path.empty() ? (fs::path(models_dir()) / "manifest.json").string() : path;
  if (!fs::exists(p)) return {{"organisms", json::object()}};
  json j = read_json_file(p);
  if (!j.contains("organisms") || !j["organisms"].is_object()) fail(p, ": no \"organisms\" object");
  return j;
}

namespace {

void record_in_manifest(const TrainOptions& opt, const fs::path& out, const std::string& name, const json& entry) {
  if (opt.manifest == "-") return;
  const fs::path mpath = opt.manifest.empty() ? out.parent_path() / "manifest.json" : fs::path(opt.manifest);
  json man = read_manifest(mpath.string());
  man["organisms"][name] = entry;
  write_json(mpath, man);
}

json files_json(const fs::path& out, const std::vector<std::string>& names) {
  json files = json::object();
  for (const std::string& f : names)
    files[f] = {{"sha256", sha256_file((out / f).string())}, {"bytes", fs::file_size(out / f)}};
  return files;
}

// A toy organism's trainer writes its own files; the manifest entry has the
// transformers' fields where they mean the same thing.
TrainOutcome train_toy(const Organism& o, const TrainOptions& opt, const fs::path& out) {
  fs::create_directories(out);
  TrainOutcome res;
  const auto t0 = std::chrono::steady_clock::now();
  ToyTrained t = o.toy.train(data_dir(), out.string(), o.seed, opt.steps, opt.progress);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res.result = t.result;
  res.metrics = o.toy.evaluate(out.string());
  bool passed = false;
  const json checks = checks_json(o, res.metrics, passed);
  res.entry = {{"recipe", o.name},
               {"kind", "toy"},
               {"description", o.description},
               {"ground_truth", o.ground_truth},
               {"seed", o.seed},
               {"steps", t.steps},
               {"config", t.config},
               {"n_params", t.n_params},
               {"train_seconds", res.seconds},
               {"threads", num_threads()},
               {"final_loss", t.result.log.empty() ? json(nullptr) : json(t.result.log.back().loss)},
               {"metrics", res.metrics},
               {"checks", checks},
               {"probes", json::array()},
               {"passed", passed},
               {"dir", out.filename().string()},
               {"files", files_json(out, t.files)}};
  record_in_manifest(opt, out, o.name, res.entry);
  return res;
}

}  // namespace

bool is_transformer_entry(const json& entry) { return entry.value("kind", "transformer") == "transformer"; }

TrainOutcome train_organism(const Organism& o, const TrainOptions& opt) {
  const fs::path out = opt.out_dir.empty() ? fs::path(models_dir()) / o.name : fs::path(opt.out_dir);
  if (!o.is_transformer()) return train_toy(o, opt, out);
  Recipe r = o.recipe(data_dir());
  TrainConfig cfg = r.train;
  cfg.seed = o.seed;
  cfg.out_dir.clear();  // the organism's directory holds the final model only, no optimiser checkpoint
  cfg.progress = opt.progress;
  if (opt.steps >= 0) cfg.steps = opt.steps;

  TrainOutcome res;
  Trainable tr = r.init_from.empty() ? Trainable::init(r.config, o.seed) : init_from(o, r);
  const auto t0 = std::chrono::steady_clock::now();
  res.result = train(tr, cfg, r.train_batches, r.eval_batches);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  fs::create_directories(out);
  tr.save(out.string());
  write_json(out / "tokenizer.json", r.tokenizer);
  std::vector<std::string> files(std::begin(kFiles), std::end(kFiles));
  if (!r.heldout.is_null()) {
    const std::string s = r.heldout.dump() + "\n";  // compact: hundreds of prompts
    write_file_atomic((out / kHeldoutFile).string(), s.data(), s.size());
    files.push_back(kHeldoutFile);
  }
  write_json(out / "train_log.json", {{"organism", o.name},
                                      {"seed", o.seed},
                                      {"train_config", cfg.to_json()},
                                      {"train_seconds", res.seconds},
                                      {"log", detail::log_json(res.result.log)}});

  // Metrics of the files as written: what `zoo eval` will see.
  const Model m = Model::load(out.string());
  res.metrics = r.evaluate(m);
  bool passed = false;
  const json checks = checks_json(o, res.metrics, passed);

  res.entry = {{"recipe", o.name},
               {"kind", "transformer"},
               {"description", o.description},
               {"ground_truth", o.ground_truth},
               {"seed", o.seed},
               {"steps", cfg.steps},
               {"train_config", cfg.to_json()},
               {"config", r.config},
               {"n_params", tr.n_params()},
               {"train_seconds", res.seconds},
               {"threads", num_threads()},
               {"final_loss", res.result.log.empty() ? json(nullptr) : json(res.result.log.back().loss)},
               {"metrics", res.metrics},
               {"checks", checks},
               {"probes", r.probes},
               {"passed", passed},
               {"dir", out.filename().string()},
               {"files", files_json(out, files)}};

  if (!r.init_from.empty())
    res.entry["init_from"] = {
        {"organism", r.init_from},
        {"sha256", sha256_file((fs::path(models_dir()) / r.init_from / "model.safetensors").string())}};
  record_in_manifest(opt, out, o.name, res.entry);
  return res;
}

json evaluate_organism(const Organism& o, const std::string& model_dir) {
  const std::string dir = model_dir.empty() ? (fs::path(models_dir()) / o.name).string() : model_dir;
  if (!fs::exists(dir)) fail("zoo: ", dir, " does not exist; train it with `glassbox zoo train ", o.name, "`");
  json metrics;
  if (o.is_transformer()) {
    const Model m = Model::load(dir);
    metrics = o.recipe(data_dir()).evaluate(m);
  } else {
    metrics = o.toy.evaluate(dir);
  }
  bool passed = false;
  const json checks = checks_json(o, metrics, passed);
  return {{"organism", o.name}, {"model", dir}, {"metrics", metrics}, {"checks", checks}, {"passed", passed}};
}

}  // namespace glassbox::zoo
