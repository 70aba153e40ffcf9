// ActivationStreams over activations already in memory or in one
// safetensors file: for tests, benchmarks, the Python bindings and
// `glassbox sae train --activations FILE`.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "glassbox/features/activations.h"

namespace glassbox::features {

// Rows of one or several sites, served in order, batch after batch. Every
// site has the same number of rows (row i of each is the same token).
class MemoryStream final : public ActivationStream {
 public:
  // sites[s] is row-major [rows, dims[s]]; Error on mismatched sizes.
  MemoryStream(std::vector<std::string> names, std::vector<int64_t> dims,
               std::vector<std::vector<float>> sites);
  const std::vector<std::string>& site_names() const override { return names_; }
  const std::vector<int64_t>& dims() const override { return dims_; }
  int64_t next(ActivationBatch& out, int64_t max_rows) override;
  void rewind() override { pos_ = 0; }
  int64_t rows() const { return rows_; }

 private:
  std::vector<std::string> names_;
  std::vector<int64_t> dims_;
  std::vector<std::vector<float>> sites_;
  int64_t rows_ = 0, pos_ = 0;
};

// A MemoryStream over tensors of a safetensors file: each tensor is one site
// named by its tensor name (a hook name), [N, d] or [..., d] (leading axes
// flattened into rows), F32 / F16 / BF16. `sites` picks tensors (empty: all).
// Error naming the file and tensor on a missing tensor or mismatched rows.
MemoryStream load_activation_file(const std::string& path, const std::vector<std::string>& sites = {});

}  // namespace glassbox::features
