// Causal attention in one pass per block of queries (flash attention's
// blocking, with an exact two-pass softmax): z = softmax(mask(q.k * scale)) v
// without the [Hq, Tq, Tk] scores and pattern in memory, and without
// computing or reading one score the causal mask hides. The engine runs it
// when nobody asks for hook_attn_scores or hook_pattern (no hook, not kept,
// not kept for backward); otherwise it runs the materialised kernels of
// attention.cpp + softmax.cpp, which are this kernel's reference in
// tests/kernels/test_attention_fused.cpp. It has no backward: a pass kept for
// backward keeps the pattern, so it always takes the materialised path.
//
// A task is one head and kBq = 32 queries; tasks run in parallel (OpenMP).
// Its scores are held TRANSPOSED, st[j][i] (key j, query i), so that the
// query is the vector lane everywhere:
//   scores   st[j][:] = sum_d k[j][d] * qt[d][:]   broadcast k, FMA over 32 queries
//   softmax  max, exp and sum over j are lane-wise: one query per lane
//   z        z[i][:] += st[j][i] * v[j][:]         broadcast p, FMA along d_head
// No loop needs a horizontal sum, and a block's scores (kBq * Tk floats,
// 128 KiB at Tk = 1024) stay in L2 between the three steps.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/detail.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {
namespace {

// 16 floats: one AVX-512 register (GCC / Clang vector extension; on a
// machine without AVX-512 the compiler splits each into narrower ones).
typedef float v16 __attribute__((vector_size(64)));

constexpr int64_t kBq = 32;    // queries per task: two v16 lanes
constexpr int64_t kKeys = 8;   // keys per step of the scores tile (8 x 2 v16 accumulators)
constexpr int64_t kRows = 4;   // queries per step of the z tile (4 x 4 v16 accumulators)
constexpr int64_t kCols = 64;  // d_head columns per step of the z tile

inline v16 load(const float* p) {
  v16 v;
  std::memcpy(&v, p, sizeof v);  // unaligned load
  return v;
}
inline void store(float* p, v16 v) { std::memcpy(p, &v, sizeof v); }
inline v16 splat(float x) { return v16{} + x; }

// st[j][0:32] = scale * k[j] . qt[:, 0:32] for keys j < n_keys.
void scores_tile(float* st, const float* qt, const float* k, int64_t ldk, int64_t n_keys, int64_t dh,
                 float scale) {
  for (int64_t j0 = 0; j0 < n_keys; j0 += kKeys) {
    // A short last step reads the last key again for its missing rows (and drops them).
    const float* kr[kKeys];
    for (int64_t r = 0; r < kKeys; ++r) kr[r] = k + std::min(j0 + r, n_keys - 1) * ldk;
    v16 acc[kKeys][2] = {};
    for (int64_t d = 0; d < dh; ++d) {
      const v16 q0 = load(qt + d * kBq), q1 = load(qt + d * kBq + 16);
      for (int64_t r = 0; r < kKeys; ++r) {
        const v16 kv = splat(kr[r][d]);
        acc[r][0] += kv * q0;
        acc[r][1] += kv * q1;
      }
    }
    const int64_t rows = std::min(kKeys, n_keys - j0);
    for (int64_t r = 0; r < rows; ++r) {
      store(st + (j0 + r) * kBq, acc[r][0] * scale);
      store(st + (j0 + r) * kBq + 16, acc[r][1] * scale);
    }
  }
}

// Masks, exponentiates and sums each query's scores in place:
// st[j][i] = exp(st[j][i] - max_j st[.][i]) (0 where masked); inv[i] = 1 / sum_j.
// Query i may see keys j <= last0 + i whose key_valid[j] is set. A query with
// no visible key gets inv = 0, so its z is 0, as softmax_forward gives it an
// all-zero pattern row.
void softmax_tile(float* st, float* inv, int64_t n_keys, int64_t last0, const uint8_t* key_valid) {
  for (int64_t j = 0; j < n_keys; ++j) {
    float* row = st + j * kBq;
    if (key_valid && !key_valid[j]) {
      for (int64_t i = 0; i < kBq; ++i) row[i] = -INFINITY;
      continue;
    }
    if (j <= last0) continue;  // visible to every query of the block
    for (int64_t i = 0; i < kBq; ++i)
      if (j > last0 + i) row[i] = -INFINITY;
  }
  float m[kBq];
  std::fill(m, m + kBq, -INFINITY);
  for (int64_t j = 0; j < n_keys; ++j)
    for (int64_t i = 0; i < kBq; ++i) m[i] = std::max(m[i], st[j * kBq + i]);
  // All masked: subtract 0 instead of -inf (exp(-inf - -inf) is NaN), every exp is 0.
  for (int64_t i = 0; i < kBq; ++i)
    if (m[i] == -INFINITY) m[i] = 0.0f;
  // Sums in float over chunks of 64 keys, chunks added in double: softmax_forward
  // sums in double, and a plain float sum over thousands of keys drifts by tens of ulps.
  double sum[kBq] = {};
  for (int64_t j0 = 0; j0 < n_keys; j0 += 64) {
    float part[kBq] = {};
    const int64_t j1 = std::min(n_keys, j0 + 64);
    for (int64_t j = j0; j < j1; ++j) {
      float* row = st + j * kBq;
#pragma omp simd
      for (int64_t i = 0; i < kBq; ++i) {
        const float e = detail::exp_f(row[i] - m[i]);
        row[i] = e;
        part[i] += e;
      }
    }
    for (int64_t i = 0; i < kBq; ++i) sum[i] += part[i];
  }
  for (int64_t i = 0; i < kBq; ++i) inv[i] = sum[i] > 0.0 ? float(1.0 / sum[i]) : 0.0f;
}

// z[i][0:w] = inv[i] * sum_j st[j][i] * v[j][0:w] for queries i < n_q, w <= kCols.
// NV full vectors of 16 columns; the caller handles the last w % 16 columns.
template <int NV>
void z_tile(float* z, int64_t ldz, const float* st, const float* inv, const float* v, int64_t ldv,
            int64_t n_keys, int64_t n_q) {
  for (int64_t i0 = 0; i0 < n_q; i0 += kRows) {
    v16 acc[kRows][NV] = {};
    for (int64_t j = 0; j < n_keys; ++j) {
      v16 vj[NV];
      for (int c = 0; c < NV; ++c) vj[c] = load(v + j * ldv + 16 * c);
      const float* p = st + j * kBq + i0;
      for (int64_t r = 0; r < kRows; ++r) {
        const v16 pr = splat(p[r]);
        for (int c = 0; c < NV; ++c) acc[r][c] += pr * vj[c];
      }
    }
    const int64_t rows = std::min(kRows, n_q - i0);
    for (int64_t r = 0; r < rows; ++r)
      for (int c = 0; c < NV; ++c) store(z + (i0 + r) * ldz + 16 * c, acc[r][c] * inv[i0 + r]);
  }
}

// The last dh % 16 columns, scalar.
void z_cols(float* z, int64_t ldz, const float* st, const float* inv, const float* v, int64_t ldv, int64_t n_keys,
            int64_t n_q, int64_t cols) {
  for (int64_t i = 0; i < n_q; ++i)
    for (int64_t c = 0; c < cols; ++c) {
      float s = 0.0f;
      for (int64_t j = 0; j < n_keys; ++j) s += st[j * kBq + i] * v[j * ldv + c];
      z[i * ldz + c] = s * inv[i];
    }
}

void z_block(float* z, int64_t ldz, const float* st, const float* inv, const float* v, int64_t ldv,
             int64_t n_keys, int64_t n_q, int64_t dh) {
  int64_t c = 0;
  for (; c + kCols <= dh; c += kCols) z_tile<4>(z + c, ldz, st, inv, v + c, ldv, n_keys, n_q);
  switch ((dh - c) / 16) {
    case 3: z_tile<3>(z + c, ldz, st, inv, v + c, ldv, n_keys, n_q); break;
    case 2: z_tile<2>(z + c, ldz, st, inv, v + c, ldv, n_keys, n_q); break;
    case 1: z_tile<1>(z + c, ldz, st, inv, v + c, ldv, n_keys, n_q); break;
    default: break;
  }
  c += (dh - c) / 16 * 16;
  if (c < dh) z_cols(z + c, ldz, st, inv, v + c, ldv, n_keys, n_q, dh - c);
}

}  // namespace

void attn_fused_forward(float* z, int64_t ldz, const float* q, int64_t ldq, const float* k, int64_t ldk,
                        const float* v, int64_t ldv, const uint8_t* key_valid, int64_t Tq, int64_t Tk,
                        int64_t q_offset, int64_t Hq, int64_t Hkv, int64_t dh, float scale) {
  if (Hkv <= 0 || Hq <= 0 || Hq % Hkv != 0)
    fail("attn_fused_forward: Hq = ", Hq, " must be a positive multiple of Hkv = ", Hkv);
  if (Tq < 0 || Tk < 0 || dh < 0) fail("attn_fused_forward: negative size (Tq ", Tq, ", Tk ", Tk, ", dh ", dh, ")");
  if (Tq == 0 || dh == 0) return;
  if ((Tq > 1 && ldq < Hq * dh) || (Tq > 1 && ldz < Hq * dh) || (Tk > 1 && (ldk < Hkv * dh || ldv < Hkv * dh)))
    fail("attn_fused_forward: a row stride is smaller than its row (ldq ", ldq, ", ldz ", ldz, " vs ", Hq * dh,
         "; ldk ", ldk, ", ldv ", ldv, " vs ", Hkv * dh, ")");
  const int64_t group = Hq / Hkv, blocks = (Tq + kBq - 1) / kBq, tasks = Hq * blocks;
#pragma omp parallel if (Hq * Tq * std::max<int64_t>(Tk, 1) * dh >= 8 * detail::kParallelMin)
  {
    // Per-thread blocks of qt (dh x kBq) and st (Tk x kBq), kept across calls:
    // one layer after another, a fresh malloc of this size would be an mmap
    // and page faults on every call.
    thread_local std::vector<float> qt_buf, st_buf;
    if (qt_buf.size() < size_t(dh * kBq)) qt_buf.resize(size_t(dh * kBq));
    if (st_buf.size() < size_t(std::max<int64_t>(Tk, 1) * kBq)) st_buf.resize(size_t(std::max<int64_t>(Tk, 1) * kBq));
    float* qt = qt_buf.data();
    float* st = st_buf.data();
    float inv[kBq];
    // Later blocks see more keys: hand them out first so the threads finish together.
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < tasks; ++t) {
      const int64_t blk = blocks - 1 - t / Hq, h = t % Hq, kvh = h / group;
      const int64_t i0 = blk * kBq, n_q = std::min(kBq, Tq - i0);
      const int64_t last0 = q_offset + i0;  // the last key the block's first query sees
      const int64_t n_keys = std::clamp<int64_t>(last0 + n_q, 0, Tk);
      float* zb = z + i0 * ldz + h * dh;
      if (n_keys == 0) {  // nothing visible: z = 0
        for (int64_t i = 0; i < n_q; ++i) std::fill(zb + i * ldz, zb + i * ldz + dh, 0.0f);
        continue;
      }
      for (int64_t d = 0; d < dh; ++d)
        for (int64_t i = 0; i < kBq; ++i) qt[d * kBq + i] = i < n_q ? q[(i0 + i) * ldq + h * dh + d] : 0.0f;
      scores_tile(st, qt, k + kvh * dh, ldk, n_keys, dh, scale);
      softmax_tile(st, inv, n_keys, last0, key_valid);
      z_block(zb, ldz, st, inv, v + kvh * dh, ldv, n_keys, n_q, dh);
    }
  }
}

}  // namespace glassbox::kernels
