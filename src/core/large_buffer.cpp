// Large buffers: 2 MiB-aligned anonymous mappings advised MADV_HUGEPAGE.
#include "core/large_buffer.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "glassbox/error.h"

namespace glassbox::detail {
namespace {

size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

}  // namespace

bool huge_pages_advised() {
  static const bool on = [] {
    const char* v = std::getenv("GLASSBOX_HUGEPAGES");
    return !(v && std::strcmp(v, "0") == 0);
  }();
  return on;
}

void* alloc_large(size_t n) {
  if (n == 0) return nullptr;
  if (n < kHugePageBytes) {
    void* p = ::operator new(n, std::align_val_t(64), std::nothrow);
    if (!p) fail("cannot allocate ", n, " bytes");
    return p;
  }
  // Over-map by one huge page and trim both ends: the kernel only backs
  // 2 MiB-aligned ranges with huge pages.
  const size_t len = round_up(n, kHugePageBytes);
  void* raw = ::mmap(nullptr, len + kHugePageBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) fail("cannot map ", n, " bytes of memory: ", std::strerror(errno));
  const auto base = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = round_up(base, kHugePageBytes);
  if (aligned > base) ::munmap(raw, aligned - base);
  const uintptr_t end = base + len + kHugePageBytes, used_end = aligned + len;
  if (end > used_end) ::munmap(reinterpret_cast<void*>(used_end), end - used_end);
  // Advice only: a kernel without THP refuses it and the buffer still works.
  if (huge_pages_advised()) (void)::madvise(reinterpret_cast<void*>(aligned), len, MADV_HUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}

void free_large(void* p, size_t n) {
  if (!p) return;
  if (n < kHugePageBytes) return ::operator delete(p, std::align_val_t(64));
  ::munmap(p, round_up(n, kHugePageBytes));
}

LargeBuffer& LargeBuffer::operator=(LargeBuffer&& o) noexcept {
  if (this != &o) {
    free_large(data_, size_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

void LargeBuffer::reserve(size_t n) {
  if (n <= size_) return;
  void* p = alloc_large(n);
  free_large(data_, size_);
  data_ = p;
  size_ = n;
}

}  // namespace glassbox::detail
