// harvest(): the stream's rows, shard by shard, through atomic writes, with a
// manifest that makes the run resumable.
#include "glassbox/features/harvest.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>

#include "glassbox/error.h"
#include "glassbox/json_file.h"
#include "glassbox/mmap_file.h"
#include "glassbox/safetensors.h"
#include "glassbox/safetensors_stream.h"
#include "glassbox/zoo.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace glassbox::features {

namespace {

constexpr const char* kFormat = "glassbox-harvest";
constexpr int kVersion = 1;
constexpr int64_t kDefaultShardBytes = int64_t(256) << 20;

std::string absolute(const std::string& p) { return fs::absolute(p).lexically_normal().string(); }

// What must match for a rerun to continue a harvest: everything but where the
// inputs sit (their contents are pinned by sha256) and the progress.
json comparable(json m) {
  m.erase("shards");
  m.erase("complete");
  if (m.contains("models"))
    for (json& x : m["models"]) x.erase("path");
  if (m.contains("corpus")) m["corpus"].erase("path");
  return m;
}

std::string differing_keys(const json& a, const json& b) {
  std::string out;
  for (auto& [k, v] : a.items())
    if (!b.contains(k) || b[k] != v) out += (out.empty() ? "" : ", ") + k;
  for (auto& [k, v] : b.items())
    if (!a.contains(k)) out += (out.empty() ? "" : ", ") + k;
  return out;
}

json settings_json(const HarvestOptions& opt, const ModelActivationStream& s, int64_t shard_rows) {
  json models = json::array();
  for (size_t m = 0; m < opt.models.size(); ++m) {
    json weights = json::array();
    for (const std::string& f : model_weight_files(opt.models[m]))
      weights.push_back({{"file", fs::path(f).filename().string()}, {"sha256", zoo::sha256_file(f)}});
    // A text corpus becomes tokens through the tokenizer files: pin them too.
    json tokenizer = json::array();
    if (fs::is_directory(opt.models[m]))
      for (const char* f : {"tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt"})
        if (const fs::path p = fs::path(opt.models[m]) / f; fs::exists(p))
          tokenizer.push_back({{"file", f}, {"sha256", zoo::sha256_file(p.string())}});
    models.push_back({{"name", s.model_names()[m]},
                      {"path", absolute(opt.models[m])},
                      {"weights", weights},
                      {"tokenizer", tokenizer}});
  }
  const ModelStreamOptions& so = s.options();
  return {{"format", kFormat},
          {"version", kVersion},
          {"models", models},
          {"corpus",
           {{"path", absolute(opt.corpus)},
            {"kind", is_token_file(opt.corpus) ? "tokens" : "text"},
            {"sha256", zoo::sha256_file(opt.corpus)},
            {"tokens", s.corpus_tokens()}}},
          {"hooks", s.site_names()},
          {"dims", s.dims()},
          {"dtype", std::string(dtype_name(opt.dtype))},
          {"context_size", so.context},
          {"batch_size", so.batch},
          {"prepend_bos", so.prepend_bos},
          {"exclude_bos", so.exclude_bos},
          {"bos_id", s.bos_id()},
          {"max_tokens", so.max_tokens},
          {"sequences", s.sequences()},
          {"tokens", s.sequences() * so.context},
          {"rows", s.total_rows()},
          {"shard_rows", shard_rows},
          {"shards", json::array()},
          {"complete", false}};
}

void write_manifest(const std::string& dir, const json& m) {
  const std::string text = m.dump(2) + "\n";
  write_file_atomic((fs::path(dir) / "manifest.json").string(), text.data(), text.size());
}

// Leftovers of writes a kill interrupted (the atomic writer's "NAME.tmp.XXXXXX").
void remove_stale_temp_files(const std::string& dir) {
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if ((n.rfind("shard_", 0) == 0 || n.rfind("manifest.json", 0) == 0) && n.find(".tmp.") != std::string::npos)
      fs::remove(e.path());
  }
}

// Shards the manifest lists that are still on disk as written; a rerun
// rewrites from the first one that is not.
int64_t shards_still_complete(const std::string& dir, json& m) {
  json& shards = m["shards"];
  size_t k = 0;
  for (; k < shards.size(); ++k) {
    const fs::path p = fs::path(dir) / shards[k].value("file", "");
    std::error_code ec;
    if (shards[k].value("file", "") != shard_file_name(int64_t(k)) || !fs::is_regular_file(p, ec) ||
        int64_t(fs::file_size(p, ec)) != shards[k].value("bytes", int64_t(-1)))
      break;
  }
  shards.erase(shards.begin() + std::ptrdiff_t(k), shards.end());
  return int64_t(k);
}

// Checks out_dir against the manifest's settings (a harvest made with others
// is refused), creates it, clears interrupted writes, and writes the manifest
// with the shards still complete; returns their count.
int64_t prepare_directory(const std::string& dir, json& manifest, int64_t n_shards) {
  if (fs::exists(fs::path(dir) / "manifest.json")) {
    json old = read_harvest_manifest(dir);
    const std::string diff = differing_keys(comparable(old), comparable(manifest));
    if (!diff.empty())
      fail(dir, ": holds a harvest made with other settings (", diff,
           " differ); rerun with the same arguments to resume it, or choose another --out");
    manifest["shards"] = old["shards"];
  } else if (fs::exists(dir)) {
    if (!fs::is_directory(dir)) fail(dir, ": exists and is not a directory");
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().filename().string().rfind("shard_", 0) == 0)
        fail(dir, ": holds shard files but no manifest.json; choose an empty or new directory");
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(dir, ": cannot create the output directory: ", ec.message());
  remove_stale_temp_files(dir);
  const int64_t first = shards_still_complete(dir, manifest);
  manifest["complete"] = first == n_shards;
  write_manifest(dir, manifest);
  return first;
}

}  // namespace

std::string shard_file_name(int64_t index) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "shard_%05lld.safetensors", static_cast<long long>(index));
  return buf;
}

std::vector<std::string> model_weight_files(const std::string& model_path) {
  const fs::path p(model_path);
  if (!fs::is_directory(p)) {
    if (!fs::exists(p)) fail(model_path, ": model not found");
    return {p.string()};
  }
  if (fs::exists(p / "model.safetensors.index.json")) {
    const json j = read_json_file((p / "model.safetensors.index.json").string());
    std::vector<std::string> files;
    if (j.contains("weight_map") && j["weight_map"].is_object())
      for (auto& [name, f] : j["weight_map"].items())
        if (f.is_string()) files.push_back((p / f.get<std::string>()).string());
    std::sort(files.begin(), files.end());
    files.erase(std::unique(files.begin(), files.end()), files.end());
    files.insert(files.begin(), (p / "model.safetensors.index.json").string());
    return files;
  }
  if (fs::exists(p / "model.safetensors")) return {(p / "model.safetensors").string()};
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(p))
    if (e.path().extension() == ".safetensors" || e.path().extension() == ".gguf") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  if (files.empty()) fail(model_path, ": no weight files (*.safetensors, *.gguf) found");
  return files;
}

json read_harvest_manifest(const std::string& dir) {
  const std::string path = (fs::path(dir) / "manifest.json").string();
  if (!fs::exists(path)) fail(dir, ": not a harvest directory (no manifest.json)");
  const json m = read_json_file(path);
  if (!m.is_object() || !m.contains("format") || m["format"] != kFormat)
    fail(path, ": not a glassbox harvest manifest (expected \"format\": \"", kFormat, "\")");
  if (!m.contains("version") || m["version"] != kVersion)
    fail(path, ": manifest version ", m.value("version", json()).dump(), " is not supported (expected ", kVersion, ")");
  for (const char* k : {"hooks", "dims", "dtype", "rows", "shard_rows", "shards", "complete"})
    if (!m.contains(k)) fail(path, ": missing field \"", k, "\"");
  if (!m["hooks"].is_array() || !m["dims"].is_array() || m["hooks"].size() != m["dims"].size() || m["hooks"].empty())
    fail(path, ": \"hooks\" and \"dims\" must be arrays of the same, non-zero length");
  if (!m["shards"].is_array()) fail(path, ": \"shards\" must be an array");
  for (const json& s : m["shards"])
    if (!s.is_object() || !s.contains("file") || !s.contains("rows") || !s.contains("sha256"))
      fail(path, ": every shard needs \"file\", \"rows\" and \"sha256\"");
  return m;
}

HarvestResult harvest(const HarvestOptions& opt, const std::function<void(const HarvestProgress&)>& progress) {
  using Clock = std::chrono::steady_clock;
  const auto t_start = Clock::now();
  if (opt.out_dir.empty()) fail("harvest: no output directory given");
  if (opt.dtype != DType::F32 && opt.dtype != DType::BF16 && opt.dtype != DType::F16)
    fail("harvest: dtype ", dtype_name(opt.dtype), " is not supported (expected f32, bf16 or f16)");
  if (opt.shard_rows < 0) fail("harvest: shard size ", opt.shard_rows, " must be > 0 rows (0: automatic)");
  if (opt.hooks.empty()) fail("harvest: no hook given");

  // Everything that can be wrong with the inputs fails here, before the output directory is touched.
  ModelActivationStream stream(opt.models, opt.hooks, opt.corpus, opt.stream);
  const std::vector<int64_t>& dims = stream.dims();
  const size_t esize = dtype_nbytes(opt.dtype, 1);
  int64_t row_bytes = 4;  // the token id
  for (int64_t d : dims) row_bytes += d * int64_t(esize);
  const int64_t total = stream.total_rows();
  const int64_t shard_rows = opt.shard_rows > 0 ? opt.shard_rows : std::max<int64_t>(1, kDefaultShardBytes / row_bytes);
  const int64_t n_shards = (total + shard_rows - 1) / shard_rows;
  const dist::Comm& comm = opt.ranks ? *opt.ranks : dist::Comm::self();
  json manifest = comm.root() ? settings_json(opt, stream, shard_rows) : json();  // hashes the inputs
  const std::string& dir = opt.out_dir;
  HarvestResult res;
  res.shards_total = int(n_shards);
  // Rank 0 owns the directory and the manifest; the others learn where to start.
  int64_t first = 0;
  if (comm.root()) first = prepare_directory(dir, manifest, n_shards);
  first = std::stoll(comm.broadcast(std::to_string(first)));
  res.shards_kept = int(first);

  HarvestProgress pr;
  pr.rows_total = total;
  pr.shards_total = int(n_shards);
  pr.shards_done = int(first);
  pr.rows_done = std::min(total, first * shard_rows);
  const auto t_compute = Clock::now();

  const std::vector<std::string>& names = stream.site_names();
  const int64_t N = comm.size();
  ActivationBatch batch;
  int64_t next_row = -1;  // where the stream stands; a shard elsewhere seeks
  for (int64_t round = first; round < n_shards; round += N) {
    const int64_t k = round + comm.rank();
    json record;  // this rank's shard of the round, for the manifest
    if (k < n_shards) {
      const int64_t rows = std::min(shard_rows, total - k * shard_rows);
      if (next_row != k * shard_rows) stream.seek(k * shard_rows);
      const std::string file = shard_file_name(k);
      const std::string path = (fs::path(dir) / file).string();
      // The shard streams to disk as its rows come (a writer thread converts
      // and writes while the model runs): memory holds the writer's chunks, not the shard.
      std::vector<TensorToWrite> ts;
      for (size_t s = 0; s < dims.size(); ++s) ts.push_back({names[s], opt.dtype, {rows, dims[s]}, nullptr, 0});
      ts.push_back({"tokens", DType::I32, {rows}, nullptr, 0});
      std::unique_ptr<SafetensorsStreamWriter> w;
      auto writing = [&](auto&& fn) {
        try {
          fn();
        } catch (const Error& e) {
          fail("harvest: shard ", k, " of ", n_shards, " was not written (", e.what(), "); ", dir,
               "/manifest.json lists the ", round,
               " shards complete before it: free space and rerun with the same arguments to resume");
        }
      };
      writing([&] {
        w = std::make_unique<SafetensorsStreamWriter>(
            path, ts, std::map<std::string, std::string>{{"format", kFormat}, {"shard", std::to_string(k)}});
      });
      for (int64_t filled = 0; filled < rows;) {
        const int64_t n = stream.next(batch, rows - filled);
        if (n == 0) fail("harvest: the stream ended at row ", k * shard_rows + filled, " of ", total);
        writing([&] {
          for (size_t s = 0; s < dims.size(); ++s) w->append_f32(s, batch.sites[s].data(), size_t(n * dims[s]));
          w->append_bytes(dims.size(), batch.tokens.data(), size_t(n) * sizeof(int32_t));
        });
        filled += n;
        pr.rows_done = std::min(total, pr.rows_done + n * N);
        pr.rows_this_run = std::min(total - first * shard_rows, pr.rows_this_run + n * N);
        pr.seconds = std::chrono::duration<double>(Clock::now() - t_compute).count();
        if (progress) progress(pr);
      }
      writing([&] { w->finish(); });
      next_row = k * shard_rows + rows;
      record = {{"file", file}, {"rows", rows}, {"bytes", int64_t(fs::file_size(path))}, {"sha256", zoo::sha256_file(path)}};
    }
    // The round's shards go into the manifest in shard order, so it always
    // lists a complete prefix; one process gathers just its own.
    const std::vector<std::string> records = comm.gather(record.dump());
    const int64_t round_end = std::min(n_shards, round + N);
    if (comm.root()) {
      for (const std::string& r : records)
        if (r != "null") manifest["shards"].push_back(json::parse(r));
      manifest["complete"] = round_end == n_shards;
      write_manifest(dir, manifest);
    }
    res.shards_written += int(round_end - round);
    pr.shards_done = int(round_end);
    pr.rows_done = std::min(total, round_end * shard_rows);
    if (progress) progress(pr);
  }
  comm.barrier();  // every rank returns with the manifest complete on disk
  res.manifest = manifest;
  res.rows = total;
  res.seconds = std::chrono::duration<double>(Clock::now() - t_start).count();
  return res;
}

}  // namespace glassbox::features
