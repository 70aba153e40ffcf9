// Reading a harvest back (glassbox/features/harvest.h): the shards of a
// harvest directory as an ActivationStream of f32 rows.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/features/activations.h"
#include "glassbox/safetensors.h"

namespace glassbox::features {

struct ShardStreamOptions {
  bool verify_sha256 = true;      // hash each shard when first opened, against the manifest
  bool allow_incomplete = false;  // read the shards of an unfinished harvest (else Error)
};

// Rows in harvest order, shard after shard; bf16 / f16 shards convert to f32.
// The manifest is validated when constructed, each shard (shapes, dtypes,
// row counts, sha256) when first read: Error naming the shard for a
// truncated, corrupted or missing one.
class ShardStream : public ActivationStream {
 public:
  // `sites`: which of the harvest's sites to serve, in this order (empty: all of them).
  explicit ShardStream(const std::string& dir, const std::vector<std::string>& sites = {},
                       const ShardStreamOptions& opt = {});

  const std::vector<std::string>& site_names() const override { return names_; }
  const std::vector<int64_t>& dims() const override { return dims_; }
  int64_t next(ActivationBatch& out, int64_t max_rows) override;
  void rewind() override;

  // Shard k checked as next() checks it (sha256 per the options, dtypes,
  // shapes) and mapped; its tensors (the sites, "tokens") stay readable as long
  // as the pointer lives: zero-copy readers (the Python module) hold it. The
  // stream then continues at shard k's first row. Error for k out of range.
  std::shared_ptr<const SafetensorsFile> shard_file(int64_t k);

  int64_t total_rows() const { return total_rows_; }
  int64_t n_shards() const { return int64_t(shard_rows_.size()); }
  const nlohmann::json& manifest() const { return manifest_; }

 private:
  void open_shard(int64_t k);

  std::string dir_;
  ShardStreamOptions opt_;
  nlohmann::json manifest_;
  std::vector<std::string> names_;
  std::vector<int64_t> dims_;
  DType dtype_ = DType::F32;
  std::vector<int64_t> shard_rows_;
  std::vector<bool> verified_;
  int64_t total_rows_ = 0;

  int64_t shard_ = -1, row_ = 0;  // the open shard and the next row in it
  std::shared_ptr<SafetensorsFile> file_;
  std::vector<const RawTensor*> tensors_;  // per site, into file_
  const RawTensor* tokens_ = nullptr;
};

}  // namespace glassbox::features
