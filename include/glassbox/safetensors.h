// safetensors: 8-byte little-endian header length, JSON header, raw data.
// https://github.com/huggingface/safetensors — every offset is checked
// against the file size before any byte of data is touched.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "glassbox/dtype.h"
#include "glassbox/mmap_file.h"

namespace glassbox {

// A tensor as stored in a file: not converted, not copied.
struct RawTensor {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;  // row-major, outermost first (as in safetensors / numpy)
  const void* data = nullptr;  // points into the mapping (or an owned buffer)
  size_t nbytes = 0;
  std::string file;            // where it came from, for error messages
  int64_t numel() const;
};

class SafetensorsFile {
 public:
  // Validates header length, JSON, dtypes, shapes vs byte ranges, ranges inside
  // the data section and non-overlapping. Throws Error naming path and tensor.
  static SafetensorsFile open(const std::string& path);
  // The same checks over bytes already in memory (MappedFile::from_bytes);
  // messages name file->path().
  static SafetensorsFile open(std::shared_ptr<MappedFile> file);

  const std::vector<RawTensor>& tensors() const { return tensors_; }
  const RawTensor* find(const std::string& name) const;  // nullptr if absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return path_; }
  std::shared_ptr<MappedFile> mapping() const { return file_; }

 private:
  std::string path_;
  std::shared_ptr<MappedFile> file_;
  std::vector<RawTensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

// A tensor to write: data is `nbytes` bytes of `dtype`, row-major `shape`.
struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t nbytes = 0;
};

// Writes a safetensors file atomically (temp + rename). Tensors are written in
// the given order, 8-byte aligned data section as the reference writer does.
void save_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace glassbox
