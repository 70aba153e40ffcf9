// Internal: memory for large buffers that are filled, drained and refilled
// (the cache writer's chunk pool, scratch that outlives one pass). Such a
// buffer pays its page faults once, when first touched; a fresh allocation
// per pass pays them every pass (4 KiB each: 250,000 faults per GiB).
// Buffers of at least kHugePageBytes are anonymous mappings aligned to 2 MiB
// and advised MADV_HUGEPAGE, so where transparent huge pages are enabled
// ("madvise" or "always") one fault maps 2 MiB. GLASSBOX_HUGEPAGES=0 in the
// environment turns the advice off (to measure what it buys).
#pragma once
#include <cstddef>

namespace glassbox::detail {

constexpr size_t kHugePageBytes = size_t(2) << 20;

// Whether large allocations are advised MADV_HUGEPAGE (read once from GLASSBOX_HUGEPAGES).
bool huge_pages_advised();

// n bytes, 64-byte aligned at least, not zeroed; Error naming the size when
// the memory is not there. Release with free_large(p, n) (same n).
void* alloc_large(size_t n);
void free_large(void* p, size_t n);

// An owned alloc_large block that grows on demand and never shrinks: keep one
// across passes and the pages stay mapped. Contents are not kept on growth.
class LargeBuffer {
 public:
  LargeBuffer() = default;
  explicit LargeBuffer(size_t n) { reserve(n); }
  ~LargeBuffer() { free_large(data_, size_); }
  LargeBuffer(LargeBuffer&& o) noexcept : data_(o.data_), size_(o.size_) { o.data_ = nullptr, o.size_ = 0; }
  LargeBuffer& operator=(LargeBuffer&& o) noexcept;
  LargeBuffer(const LargeBuffer&) = delete;
  LargeBuffer& operator=(const LargeBuffer&) = delete;

  void reserve(size_t n);  // at least n bytes afterwards
  void* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace glassbox::detail
