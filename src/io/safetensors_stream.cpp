// SafetensorsStreamWriter: a producer fills fixed chunks of one pool, a writer
// thread converts and writes each at its offset, and hands the chunk back.
#include "glassbox/safetensors_stream.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "core/atomic_write.h"
#include "core/large_buffer.h"
#include "glassbox/error.h"
#include "glassbox/tensor.h"
#include "io/safetensors_layout.h"

namespace glassbox {

namespace {

// A filled chunk on its way to the file.
struct Job {
  int chunk;
  uint64_t offset;  // in the file
  size_t fill;      // bytes used in the chunk
  DType convert;    // F32: written as is; F16 / BF16: the chunk holds f32 values to convert
};

}  // namespace

struct SafetensorsStreamWriter::Impl {
  std::string path;
  std::vector<TensorToWrite> tensors;
  detail::SafetensorsLayout layout;
  StreamWriterOptions opt;
  detail::AtomicFile file;
  detail::LargeBuffer pool;          // n_chunks chunks, then the conversion buffer
  std::vector<uint64_t> appended;    // bytes of each tensor's file data handed over so far
  bool finished = false;

  // The chunk the producer is filling (-1: none).
  int cur = -1;
  uint64_t cur_offset = 0;
  size_t cur_fill = 0;
  DType cur_convert = DType::F32;

  // Shared with the writer thread.
  std::mutex mu;
  std::condition_variable producer_cv, writer_cv;
  std::vector<int> free_chunks;
  std::deque<Job> ready;
  bool closing = false, failed = false;
  std::string error;
  std::thread writer;

  Impl(const std::string& p, std::vector<TensorToWrite> ts, const std::map<std::string, std::string>& meta,
       StreamWriterOptions o)
      : path(p), tensors(std::move(ts)), layout(detail::safetensors_layout(p, tensors, meta, false)), opt(o), file(p) {
    file.reserve(layout.file_size);
    file.write_at(0, layout.head.data(), layout.head.size());
    pool.reserve(pool_bytes(opt));
    appended.assign(tensors.size(), 0);
    for (int c = opt.n_chunks - 1; c >= 0; --c) free_chunks.push_back(c);
    writer = std::thread([this] { write_loop(); });
  }

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!finished) failed = true;  // abandoned: the writer drains without writing
    }
    stop();
  }

  uint8_t* chunk(int c) const { return static_cast<uint8_t*>(pool.data()) + size_t(c) * opt.chunk_bytes; }
  uint8_t* conversion() const { return chunk(opt.n_chunks); }

  void stop() {
    if (!writer.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mu);
      closing = true;
    }
    writer_cv.notify_all();
    writer.join();
  }

  void write_loop() {
    for (;;) {
      Job j;
      {
        std::unique_lock<std::mutex> lock(mu);
        writer_cv.wait(lock, [&] { return !ready.empty() || closing; });
        if (ready.empty()) return;
        j = ready.front();
        ready.pop_front();
        if (failed) {  // after an error, drain without writing so the producer never waits forever
          free_chunks.push_back(j.chunk);
          producer_cv.notify_all();
          continue;
        }
      }
      std::string why;
      try {
        write_job(j);
      } catch (const std::exception& e) {
        why = e.what();
      }
      std::lock_guard<std::mutex> lock(mu);
      if (!why.empty() && !failed) failed = true, error = why;
      free_chunks.push_back(j.chunk);
      producer_cv.notify_all();
    }
  }

  void write_job(const Job& j) {
    const uint8_t* data = chunk(j.chunk);
    size_t n = j.fill;
    if (j.convert != DType::F32) {
      const int64_t count = int64_t(j.fill / sizeof(float));
      from_f32(conversion(), reinterpret_cast<const float*>(data), j.convert, count);
      data = conversion();
      n = dtype_nbytes(j.convert, count);
    }
    file.write_at(j.offset, data, n);
    if (opt.writeback) file.start_writeback(j.offset, n);
  }

  void rethrow_locked() const {
    if (failed) fail(error);
  }

  void flush() {
    if (cur < 0) return;
    {
      std::lock_guard<std::mutex> lock(mu);
      rethrow_locked();
      ready.push_back({cur, cur_offset, cur_fill, cur_convert});
    }
    writer_cv.notify_one();
    cur = -1;
  }

  // Makes `cur` a chunk continuing tensor data at file offset `at`, stored as `convert`.
  void want_chunk(uint64_t at, DType convert) {
    if (cur >= 0) {
      const size_t per = convert == DType::F32 ? 1 : sizeof(float) / dtype_nbytes(convert, 1);
      const bool continues = cur_convert == convert && cur_offset + cur_fill / per == at;
      if (continues && cur_fill < opt.chunk_bytes) return;
      flush();
    }
    std::unique_lock<std::mutex> lock(mu);
    producer_cv.wait(lock, [&] { return !free_chunks.empty() || failed; });
    rethrow_locked();
    cur = free_chunks.back();
    free_chunks.pop_back();
    cur_offset = at;
    cur_fill = 0;
    cur_convert = convert;
  }

  const TensorToWrite& check_index(size_t i) const {
    if (finished) fail(path, ": the stream was already finished");
    if (i >= tensors.size()) fail(path, ": tensor index ", i, " is out of range (", tensors.size(), " tensors)");
    return tensors[i];
  }

  // Appends `n` source bytes of tensor i that become `file_n` bytes in the file.
  void append(size_t i, const uint8_t* src, size_t n, size_t file_n, DType convert) {
    const TensorToWrite& t = tensors[i];
    if (appended[i] + file_n > layout.nbytes[i])
      fail(path, ": tensor '", t.name, "' ", shape_str(t.shape), " ", dtype_name(t.dtype), " is given ",
           appended[i] + file_n, " bytes, more than its ", layout.nbytes[i]);
    const size_t per = convert == DType::F32 ? 1 : sizeof(float) / dtype_nbytes(convert, 1);
    while (n > 0) {
      want_chunk(layout.offsets[i] + appended[i], convert);
      // Whole source elements only (a chunk of f32 values is converted on its own).
      size_t take = std::min(n, opt.chunk_bytes - cur_fill);
      if (convert != DType::F32) take -= take % sizeof(float);
      std::memcpy(chunk(cur) + cur_fill, src, take);
      cur_fill += take;
      appended[i] += take / per;
      src += take;
      n -= take;
      if (cur_fill == opt.chunk_bytes) flush();
    }
    if (appended[i] == layout.nbytes[i]) flush();  // the tensor is complete: write it now
  }
};

SafetensorsStreamWriter::SafetensorsStreamWriter(const std::string& path, std::vector<TensorToWrite> tensors,
                                                 const std::map<std::string, std::string>& metadata,
                                                 StreamWriterOptions opt) {
  if (opt.n_chunks < 2) fail(path, ": a stream writer needs at least 2 chunks, got ", opt.n_chunks);
  if (opt.chunk_bytes < 64 || opt.chunk_bytes % 64)
    fail(path, ": a stream writer's chunk size must be a multiple of 64 bytes, got ", opt.chunk_bytes);
  impl_ = std::make_unique<Impl>(path, std::move(tensors), metadata, opt);
}

SafetensorsStreamWriter::~SafetensorsStreamWriter() = default;

size_t SafetensorsStreamWriter::pool_bytes(const StreamWriterOptions& opt) {
  return size_t(opt.n_chunks) * opt.chunk_bytes + opt.chunk_bytes / 2;
}

const std::vector<TensorToWrite>& SafetensorsStreamWriter::tensors() const { return impl_->tensors; }

size_t SafetensorsStreamWriter::index(const std::string& name) const {
  for (size_t i = 0; i < impl_->tensors.size(); ++i)
    if (impl_->tensors[i].name == name) return i;
  fail(impl_->path, ": the stream declares no tensor '", name, "'");
}

void SafetensorsStreamWriter::append_f32(size_t i, const float* values, size_t n) {
  const TensorToWrite& t = impl_->check_index(i);
  if (t.dtype != DType::F32 && t.dtype != DType::F16 && t.dtype != DType::BF16)
    fail(impl_->path, ": tensor '", t.name, "' is ", dtype_name(t.dtype), ": f32 values can be stored only as f32, "
         "f16 or bf16");
  impl_->append(i, reinterpret_cast<const uint8_t*>(values), n * sizeof(float), dtype_nbytes(t.dtype, int64_t(n)),
                t.dtype);
}

void SafetensorsStreamWriter::append_bytes(size_t i, const void* bytes, size_t n) {
  impl_->check_index(i);
  impl_->append(i, static_cast<const uint8_t*>(bytes), n, n, DType::F32);
}

void SafetensorsStreamWriter::finish() {
  Impl& s = *impl_;
  if (s.finished) fail(s.path, ": the stream was already finished");
  s.flush();
  s.stop();
  if (s.failed) fail(s.error);
  for (size_t i = 0; i < s.tensors.size(); ++i)
    if (s.appended[i] != s.layout.nbytes[i])
      fail(s.path, ": tensor '", s.tensors[i].name, "' got ", s.appended[i], " of its ", s.layout.nbytes[i],
           " bytes; the file was not written");
  s.file.commit();
  s.finished = true;
}

}  // namespace glassbox
