// Model::load: find the checkpoint's family, read its Config, map its weights.
#include <filesystem>
#include <fstream>

#include "arch/checkpoint.h"
#include "arch/family.h"
#include "glassbox/json_file.h"
#include "glassbox/model.h"
#include "glassbox/tokenizer.h"

namespace fs = std::filesystem;

namespace glassbox {

Model::Model(Config cfg, Weights w, std::shared_ptr<Storage> storage, std::string source,
             int64_t n_params, std::vector<StoredTensorInfo> stored)
    : cfg_(std::move(cfg)), w_(std::move(w)), storage_(std::move(storage)), source_(std::move(source)),
      n_params_(n_params), stored_(std::move(stored)) {}

size_t Model::converted_bytes() const { return storage_ ? storage_->owned_bytes : 0; }

namespace detail {

static Model build(const Family& fam, const ConfigSource& src, const Checkpoint& ckpt, const std::string& source,
                   bool keep_quantized = false) {
  Config cfg = fam.config(src);
  try {
    cfg.validate();
  } catch (const Error& e) {
    fail(src.where, ": ", e.what());
  }
  auto storage = std::make_shared<Model::Storage>();
  storage->mappings = ckpt.mappings();
  WeightLoader ld(ckpt, *storage);
  ld.keep_quantized = keep_quantized;
  Weights w;
  fam.weights(ld, cfg, w);
  const auto extra = ld.unused(fam.ignorable);
  if (!extra.empty()) {
    std::string list;
    for (size_t i = 0; i < extra.size() && i < 5; ++i) list += (i ? ", '" : "'") + extra[i] + "'";
    fail(ckpt.where(), ": ", extra.size(), " tensor(s) not used by the ", cfg.family, " layout: ", list,
         extra.size() > 5 ? ", ..." : "", " (wrong model_type or config?)");
  }
  return ModelFactory::make(std::move(cfg), std::move(w), std::move(storage), source, ld.n_params(), ld.stored());
}

}  // namespace detail

Model Model::load(const std::string& path) { return load(path, LoadOptions{}); }

Model Model::load(const std::string& path, const LoadOptions& opt) {
  using namespace detail;
  if (!fs::exists(path)) fail(path, ": no such file or directory");
  if (path.size() > 5 && path.substr(path.size() - 5) == ".gguf") {
    GgufFile f = GgufFile::open(path);
    const std::string arch = f.kv("general.architecture").as_string("general.architecture");
    const Family* fam = find_family("gguf:" + arch);
    if (!fam) {
      std::string known;
      for (const auto& n : family_names())
        if (n.rfind("gguf:", 0) == 0) known += (known.empty() ? "" : ", ") + n.substr(5);
      fail(path, ": GGUF architecture \"", arch, "\" is not supported (supported: ", known, ")");
    }
    ConfigSource src{nullptr, &f, path};
    Model m = build(*fam, src, Checkpoint::from_gguf(f), path, opt.keep_quantized);
    if (f.find_kv("tokenizer.ggml.tokens"))
      m.set_tokenizer(std::make_shared<const Tokenizer>(Tokenizer::from_gguf(f)));
    return m;
  }
  const fs::path dir = fs::is_directory(path) ? fs::path(path) : fs::path(path).parent_path();
  const std::string cfg_path = (dir / "config.json").string();
  if (!fs::exists(cfg_path)) fail(path, ": expected a config.json beside the weights (", cfg_path, ")");
  const nlohmann::json j = read_json_file(cfg_path);
  const Family& fam = family_of(j, cfg_path);
  ConfigSource src{&j, nullptr, cfg_path};
  Model m = build(fam, src, Checkpoint::open_safetensors(path), path);
  if (fs::exists(dir / "tokenizer.json") || (fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt")))
    m.set_tokenizer(std::make_shared<const Tokenizer>(Tokenizer::from_file(dir.string())));
  return m;
}

}  // namespace glassbox
