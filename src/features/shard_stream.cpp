// ShardStream: a harvest directory's shards, mapped one at a time, rows
// converted to f32 as they are served.
#include <algorithm>
#include <cstring>
#include <filesystem>

#include "glassbox/error.h"
#include "glassbox/features/harvest.h"
#include "glassbox/features/shards.h"
#include "glassbox/zoo.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace glassbox::features {

ShardStream::ShardStream(const std::string& dir, const std::vector<std::string>& sites, const ShardStreamOptions& opt)
    : dir_(dir), opt_(opt), manifest_(read_harvest_manifest(dir)) {
  const std::string where = (fs::path(dir) / "manifest.json").string();
  try {
    const auto all_names = manifest_.at("hooks").get<std::vector<std::string>>();
    const auto all_dims = manifest_.at("dims").get<std::vector<int64_t>>();
    if (!dtype_from_safetensors(manifest_.at("dtype").get<std::string>(), &dtype_) ||
        (dtype_ != DType::F32 && dtype_ != DType::BF16 && dtype_ != DType::F16))
      fail(where, ": dtype ", manifest_.at("dtype").dump(), " is not F32, BF16 or F16");
    const std::vector<std::string> want = sites.empty() ? all_names : sites;
    for (const std::string& s : want) {
      const auto it = std::find(all_names.begin(), all_names.end(), s);
      if (it == all_names.end()) {
        std::string have;
        for (const auto& n : all_names) have += (have.empty() ? "" : ", ") + n;
        fail(where, ": the harvest has no site '", s, "' (it has ", have, ")");
      }
      names_.push_back(s);
      dims_.push_back(all_dims[size_t(it - all_names.begin())]);
    }
    for (int64_t d : dims_)
      if (d < 1) fail(where, ": site dims must be positive");
    const int64_t n_total = manifest_.at("rows").get<int64_t>();
    const int64_t per = manifest_.at("shard_rows").get<int64_t>();
    if (!manifest_.at("complete").get<bool>() && !opt_.allow_incomplete)
      fail(dir, ": the harvest is incomplete (", manifest_["shards"].size(), " of ", (n_total + per - 1) / std::max<int64_t>(per, 1),
           " shards); rerun glassbox harvest with the same arguments to finish it");
    for (const json& s : manifest_.at("shards")) {
      const int64_t rows = s.at("rows").get<int64_t>();
      if (rows < 1) fail(where, ": shard ", s.at("file").dump(), " has ", rows, " rows");
      shard_rows_.push_back(rows);
      total_rows_ += rows;
    }
    if (manifest_.at("complete").get<bool>() && total_rows_ != n_total)
      fail(where, ": shards hold ", total_rows_, " rows but the manifest says ", n_total);
  } catch (const json::exception& e) {
    fail(where, ": malformed manifest: ", e.what());
  }
  if (shard_rows_.empty()) fail(dir, ": the harvest has no complete shard");
  verified_.assign(shard_rows_.size(), false);
}

void ShardStream::rewind() {
  shard_ = -1;
  row_ = 0;
  file_.reset();
}

void ShardStream::open_shard(int64_t k) {
  const json& entry = manifest_["shards"][size_t(k)];
  const std::string file = entry.at("file").get<std::string>();
  if (file.find('/') != std::string::npos || file.find("..") != std::string::npos)
    fail(dir_, "/manifest.json: shard file '", file, "' must be a file in the harvest directory");
  const std::string path = (fs::path(dir_) / file).string();
  if (!fs::exists(path)) fail(path, ": shard listed in the manifest is missing");
  file_.reset();
  tensors_.clear();
  tokens_ = nullptr;
  if (opt_.verify_sha256 && !verified_[size_t(k)]) {
    const std::string got = zoo::sha256_file(path), want = entry.at("sha256").get<std::string>();
    if (got != want)
      fail(path, ": shard is corrupted (sha256 ", got, ", the manifest says ", want, "); harvest it again");
    verified_[size_t(k)] = true;
  }
  file_ = std::make_shared<SafetensorsFile>(SafetensorsFile::open(path));  // validates sizes: catches truncation
  const int64_t rows = shard_rows_[size_t(k)];
  for (size_t s = 0; s < names_.size(); ++s) {
    const RawTensor* t = file_->find(names_[s]);
    if (!t) fail(path, ": shard has no tensor '", names_[s], "'");
    if (t->dtype != dtype_ || t->shape != std::vector<int64_t>{rows, dims_[s]})
      fail(path, ": tensor '", names_[s], "' is ", dtype_name(t->dtype), " [", t->shape.empty() ? 0 : t->shape[0], ", ...] (",
           t->shape.size(), " dims), expected ", dtype_name(dtype_), " [", rows, ", ", dims_[s], "]");
    tensors_.push_back(t);
  }
  tokens_ = file_->find("tokens");
  if (tokens_ && (tokens_->dtype != DType::I32 || tokens_->shape != std::vector<int64_t>{rows}))
    fail(path, ": tensor 'tokens' must be I32 [", rows, "]");
  shard_ = k;
  row_ = 0;
}

std::shared_ptr<const SafetensorsFile> ShardStream::shard_file(int64_t k) {
  if (k < 0 || k >= n_shards()) fail(dir_, ": no shard ", k, " (the harvest has ", n_shards(), ")");
  open_shard(k);
  return file_;
}

int64_t ShardStream::next(ActivationBatch& out, int64_t max_rows) {
  if (max_rows < 1) fail("next: max_rows ", max_rows, " must be at least 1");
  out.sites.resize(names_.size());
  while (shard_ < 0 || row_ >= shard_rows_[size_t(shard_)]) {
    if (shard_ + 1 >= n_shards()) {
      out.rows = 0;
      for (auto& s : out.sites) s.clear();
      out.tokens.clear();
      return 0;
    }
    open_shard(shard_ + 1);
  }
  const int64_t n = std::min(max_rows, shard_rows_[size_t(shard_)] - row_);
  const size_t esize = dtype_nbytes(dtype_, 1);
  for (size_t s = 0; s < names_.size(); ++s) {
    const int64_t d = dims_[s], count = n * d;
    out.sites[s].resize(size_t(count));
    const uint8_t* src = static_cast<const uint8_t*>(tensors_[s]->data) + size_t(row_ * d) * esize;
    float* dst = out.sites[s].data();
    constexpr int64_t kChunk = 1 << 16;
#pragma omp parallel for schedule(static) if (count > 4 * kChunk)
    for (int64_t i = 0; i < count; i += kChunk)
      to_f32(dst + i, src + size_t(i) * esize, dtype_, std::min(kChunk, count - i));
  }
  if (tokens_) {
    out.tokens.resize(size_t(n));
    std::memcpy(out.tokens.data(), static_cast<const uint8_t*>(tokens_->data) + size_t(row_) * sizeof(int32_t), size_t(n) * sizeof(int32_t));
  } else {
    out.tokens.clear();
  }
  out.rows = n;
  row_ += n;
  return n;
}

}  // namespace glassbox::features
