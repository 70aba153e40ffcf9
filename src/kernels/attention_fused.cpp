// Causal attention in one pass per block of queries (flash attention's
// blocking, with an exact two-pass softmax): z = softmax(mask(q.k * scale)) v
// without the [Hq, Tq, Tk] scores and pattern in memory, and without
// computing or reading one score the causal mask hides. The engine runs it
// when nobody asks for hook_attn_scores or hook_pattern (no hook, not kept,
// not kept for backward). It has no backward: a pass kept for backward keeps
// the pattern.
//
// When scores or pattern are asked for, the engine runs the same arithmetic
// one step at a time (attn_tiled_scores -> attn_tiled_softmax ->
// attn_tiled_z, hooks firing between the steps): the steps share this file's
// tile functions and only copy data between the [Hq, Tq, Tk] slices and the
// tiles, so a hooked (or cached, or backward) pass computes the plain pass's
// values BIT FOR BIT. Analyses rely on that: a patching sweep normalises
// against an unhooked run, attribution patching compares a backward pass
// with activation patching, and a hook that changes nothing must change
// nothing. The materialised kernels of attention.cpp + softmax.cpp are the
// independent reference in tests/kernels/test_attention_fused.cpp.
//
// A task is one head and kBq = 32 queries; tasks run in parallel (OpenMP).
// Its scores are held TRANSPOSED, st[j][i] (key j, query i), so that the
// query is the vector lane everywhere:
//   scores   st[j][:] = sum_d k[j][d] * qt[d][:]   broadcast k, FMA over 32 queries
//   softmax  max, exp and sum over j are lane-wise: one query per lane
//   z        zt[c][:] += v[j][c] * st[j][:]        broadcast v, FMA over 32 queries
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
constexpr int kCols = 12;      // d_head columns per step of the z tile (12 x 2 v16 accumulators)

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

// Soft-caps a block's scores (ScoreMods::softcap), before the mask as
// attn_scores_forward does. Serial: the block is one task of a parallel loop.
void softcap_tile(float* st, int64_t n_keys, float cap) {
  const float inv = 1.0f / cap;
  for (int64_t i = 0; i < n_keys * kBq; ++i) st[i] = cap * std::tanh(st[i] * inv);
}

// Applies the causal and padding masks to a block's scores: query i may see
// keys j <= last0 + i whose key_valid[j] is set (and, with a sliding window,
// j > last0 + i - window); the others become -inf, as attn_scores_forward
// shows them.
void mask_tile(float* st, int64_t n_keys, int64_t last0, const uint8_t* key_valid, int64_t window) {
  // Keys the window hides from some query of the block: j <= last0 + kBq - 1 - window.
  const int64_t slid = window > 0 ? std::min(n_keys, last0 + kBq - window) : 0;
  for (int64_t j = 0; j < slid; ++j)
    for (int64_t i = 0; i < kBq; ++i)
      if (j <= last0 + i - window) st[j * kBq + i] = -INFINITY;
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
}

// Softmax over keys, lane-wise, in place: st[j][i] becomes pattern[i][j]. A
// query with no visible key (all -inf) gets an all-zero column, as
// softmax_forward gives it. Keys past the causal limit hold -inf, so their
// exp is exactly 0 and adding it changes no sum: running this over all Tk
// keys (the step-wise path) or over the visible ones only (the fused path)
// gives the same bits.
void softmax_tile(float* st, int64_t n_keys) {
  float m[kBq];
  std::fill(m, m + kBq, -INFINITY);
  for (int64_t j = 0; j < n_keys; ++j)
    for (int64_t i = 0; i < kBq; ++i) m[i] = std::max(m[i], st[j * kBq + i]);
  // All masked: subtract 0 instead of -inf (exp(-inf - -inf) is NaN), every exp is 0.
  for (int64_t i = 0; i < kBq; ++i)
    if (m[i] == -INFINITY) m[i] = 0.0f;
  // 16 float partial sums per query (key j into partial j % 16), added in
  // double at the end: each partial sums Tk / 16 terms, so the result is
  // within a few ulps of softmax_forward's double sum.
  float part[16][kBq] = {};
  for (int64_t j = 0; j < n_keys; ++j) {
    float* row = st + j * kBq;
    float* acc = part[j % 16];
#pragma omp simd
    for (int64_t i = 0; i < kBq; ++i) {
      const float e = detail::exp_f(row[i] - m[i]);
      row[i] = e;
      acc[i] += e;
    }
  }
  float inv[kBq];
  for (int64_t i = 0; i < kBq; ++i) {
    double sum = 0.0;
    for (int l = 0; l < 16; ++l) sum += part[l][i];
    inv[i] = sum > 0.0 ? float(1.0 / sum) : 0.0f;
  }
  for (int64_t j = 0; j < n_keys; ++j) {
    float* row = st + j * kBq;
#pragma omp simd
    for (int64_t i = 0; i < kBq; ++i) row[i] *= inv[i];
  }
}

// z[i][0:C] = sum_j st[j][i] * v[j][0:C] for queries i < n_q: the scores'
// layout again (query in the lane), so a step loads the two query vectors of
// key j once and broadcasts C values of v's row j, 2*C independent FMAs into
// accumulators acc[c][:] = z[0:32][c]. (Lanes over columns instead, with the
// probabilities broadcast, read a strided st element per query and v rows
// of 4 cache lines per key: L2-bound, half the speed.) Each element is still
// one FMA per key in key order, so the sum order is that of a dot product.
template <int C>
void z_tile(float* z, int64_t ldz, const float* st, const float* v, int64_t ldv, int64_t n_keys, int64_t n_q) {
  v16 acc[C][2] = {};
  for (int64_t j = 0; j < n_keys; ++j) {
    const v16 p0 = load(st + j * kBq), p1 = load(st + j * kBq + 16);
    const float* vj = v + j * ldv;
    for (int c = 0; c < C; ++c) {
      const v16 vb = splat(vj[c]);
      acc[c][0] += vb * p0;
      acc[c][1] += vb * p1;
    }
  }
  // The transpose back to z's rows: once per tile, against n_keys steps.
  for (int64_t i = 0; i < n_q; ++i) {
    float* zi = z + i * ldz;
    for (int c = 0; c < C; ++c) zi[c] = acc[c][i / 16][i % 16];
  }
}

void z_block(float* z, int64_t ldz, const float* st, const float* v, int64_t ldv, int64_t n_keys, int64_t n_q,
             int64_t dh) {
  // kCols columns at a time (2 * kCols accumulators + 3 registers fit AVX-512's 32), then the rest.
  int64_t c = 0;
  for (; c + kCols <= dh; c += kCols) z_tile<kCols>(z + c, ldz, st, v + c, ldv, n_keys, n_q);
  z += c, v += c;
  switch (dh - c) {
    case 0: break;
#define GB_Z_REST(R) \
  case R: z_tile<R>(z, ldz, st, v, ldv, n_keys, n_q); break;
    GB_Z_REST(1) GB_Z_REST(2) GB_Z_REST(3) GB_Z_REST(4) GB_Z_REST(5) GB_Z_REST(6) GB_Z_REST(7) GB_Z_REST(8)
    GB_Z_REST(9) GB_Z_REST(10) GB_Z_REST(11)
#undef GB_Z_REST
  }
}

// Runs fn(h, i0, n_q, last0, n_keys, qt, st) for every task (head h, queries
// [i0, i0 + n_q)) in parallel, with qt filled with the block's transposed
// queries (0 in unused lanes) when q is given. last0 is the last key the
// block's first query sees; n_keys the keys any of its queries sees.
template <class Fn>
void for_each_block(const float* q, int64_t ldq, int64_t Tq, int64_t Tk, int64_t q_offset, int64_t Hq, int64_t dh,
                    Fn fn) {
  const int64_t blocks = (Tq + kBq - 1) / kBq, tasks = Hq * blocks;
#pragma omp parallel if (Hq * Tq * std::max<int64_t>(Tk, 1) * std::max<int64_t>(dh, 1) >= 8 * detail::kParallelMin)
  {
    // Per-thread qt (dh x kBq) and st (Tk x kBq), kept across calls: one layer
    // after another, a fresh malloc of this size would be an mmap and page
    // faults on every call.
    thread_local std::vector<float> qt_buf, st_buf;
    if (qt_buf.size() < size_t(dh * kBq)) qt_buf.resize(size_t(dh * kBq));
    if (st_buf.size() < size_t(std::max<int64_t>(Tk, 1) * kBq)) st_buf.resize(size_t(std::max<int64_t>(Tk, 1) * kBq));
    float* qt = qt_buf.data();
    float* st = st_buf.data();
    // Later blocks see more keys: hand them out first so the threads finish together.
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < tasks; ++t) {
      const int64_t blk = blocks - 1 - t / Hq, h = t % Hq;
      const int64_t i0 = blk * kBq, n_q = std::min(kBq, Tq - i0);
      const int64_t last0 = q_offset + i0;
      const int64_t n_keys = std::clamp<int64_t>(last0 + n_q, 0, Tk);
      if (q)
        for (int64_t d = 0; d < dh; ++d)
          for (int64_t i = 0; i < kBq; ++i) qt[d * kBq + i] = i < n_q ? q[(i0 + i) * ldq + h * dh + d] : 0.0f;
      fn(h, i0, n_q, last0, n_keys, qt, st);
    }
  }
}

void check_heads(const char* op, int64_t Tq, int64_t Tk, int64_t Hq, int64_t Hkv, int64_t dh) {
  if (Hkv <= 0 || Hq <= 0 || Hq % Hkv != 0) fail(op, ": Hq = ", Hq, " must be a positive multiple of Hkv = ", Hkv);
  if (Tq < 0 || Tk < 0 || dh < 0) fail(op, ": negative size (Tq ", Tq, ", Tk ", Tk, ", dh ", dh, ")");
}

void check_ld(const char* op, const char* what, int64_t ld, int64_t rows, int64_t width) {
  if (rows > 1 && ld < width) fail(op, ": ", what, " = ", ld, " is smaller than the row length ", width);
}

}  // namespace

void attn_fused_forward(float* z, int64_t ldz, const float* q, int64_t ldq, const float* k, int64_t ldk,
                        const float* v, int64_t ldv, const uint8_t* key_valid, int64_t Tq, int64_t Tk,
                        int64_t q_offset, int64_t Hq, int64_t Hkv, int64_t dh, float scale, ScoreMods mods) {
  const char* op = "attn_fused_forward";
  check_heads(op, Tq, Tk, Hq, Hkv, dh);
  check_ld(op, "ldq", ldq, Tq, Hq * dh), check_ld(op, "ldz", ldz, Tq, Hq * dh);
  check_ld(op, "ldk", ldk, Tk, Hkv * dh), check_ld(op, "ldv", ldv, Tk, Hkv * dh);
  if (Tq == 0 || dh == 0) return;
  const int64_t group = Hq / Hkv;
  for_each_block(q, ldq, Tq, Tk, q_offset, Hq, dh,
                 [&](int64_t h, int64_t i0, int64_t n_q, int64_t last0, int64_t n_keys, float* qt, float* st) {
                   float* zb = z + i0 * ldz + h * dh;
                   if (n_keys == 0) {  // nothing visible: z = 0
                     for (int64_t i = 0; i < n_q; ++i) std::fill(zb + i * ldz, zb + i * ldz + dh, 0.0f);
                     return;
                   }
                   const int64_t kvh = h / group;
                   scores_tile(st, qt, k + kvh * dh, ldk, n_keys, dh, scale);
                   if (mods.softcap > 0) softcap_tile(st, n_keys, mods.softcap);
                   mask_tile(st, n_keys, last0, key_valid, mods.window);
                   softmax_tile(st, n_keys);
                   z_block(zb, ldz, st, v + kvh * dh, ldv, n_keys, n_q, dh);
                 });
}

void attn_tiled_scores(float* scores, const float* q, int64_t ldq, const float* k, int64_t ldk,
                       const uint8_t* key_valid, int64_t Tq, int64_t Tk, int64_t q_offset, int64_t Hq, int64_t Hkv,
                       int64_t dh, float scale, ScoreMods mods) {
  const char* op = "attn_tiled_scores";
  check_heads(op, Tq, Tk, Hq, Hkv, dh);
  check_ld(op, "ldq", ldq, Tq, Hq * dh), check_ld(op, "ldk", ldk, Tk, Hkv * dh);
  if (Tq == 0 || Tk == 0) return;
  const int64_t group = Hq / Hkv;
  for_each_block(q, ldq, Tq, Tk, q_offset, Hq, dh,
                 [&](int64_t h, int64_t i0, int64_t n_q, int64_t last0, int64_t n_keys, float* qt, float* st) {
                   if (n_keys > 0) {
                     scores_tile(st, qt, k + (h / group) * dh, ldk, n_keys, dh, scale);
                     if (mods.softcap > 0) softcap_tile(st, n_keys, mods.softcap);
                     mask_tile(st, n_keys, last0, key_valid, mods.window);
                   }
                   for (int64_t i = 0; i < n_q; ++i) {
                     float* row = scores + (h * Tq + i0 + i) * Tk;
                     for (int64_t j = 0; j < n_keys; ++j) row[j] = st[j * kBq + i];
                     for (int64_t j = n_keys; j < Tk; ++j) row[j] = -INFINITY;  // after every query of the block
                   }
                 });
}

void attn_tiled_softmax(float* pattern, const float* scores, int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0) fail("attn_tiled_softmax: negative size (rows ", rows, ", cols ", cols, ")");
  if (rows == 0 || cols == 0) return;
  // Rows in blocks of kBq: a row's result does not depend on its lane.
  for_each_block(nullptr, 0, rows, cols, /*q_offset=*/cols, 1, 0,
                 [&](int64_t, int64_t i0, int64_t n_q, int64_t, int64_t, float*, float* st) {
                   for (int64_t i = 0; i < kBq; ++i)
                     for (int64_t j = 0; j < cols; ++j)
                       st[j * kBq + i] = i < n_q ? scores[(i0 + i) * cols + j] : -INFINITY;
                   softmax_tile(st, cols);
                   for (int64_t i = 0; i < n_q; ++i)
                     for (int64_t j = 0; j < cols; ++j) pattern[(i0 + i) * cols + j] = st[j * kBq + i];
                 });
}

void attn_tiled_z(float* z, int64_t ldz, const float* pattern, const float* v, int64_t ldv, int64_t Tq, int64_t Tk,
                  int64_t Hq, int64_t Hkv, int64_t dh) {
  const char* op = "attn_tiled_z";
  check_heads(op, Tq, Tk, Hq, Hkv, dh);
  check_ld(op, "ldz", ldz, Tq, Hq * dh), check_ld(op, "ldv", ldv, Tk, Hkv * dh);
  if (Tq == 0 || dh == 0) return;
  const int64_t group = Hq / Hkv;
  for_each_block(nullptr, 0, Tq, Tk, /*q_offset=*/Tk, Hq, dh,
                 [&](int64_t h, int64_t i0, int64_t n_q, int64_t, int64_t, float*, float* st) {
                   float* zb = z + i0 * ldz + h * dh;
                   if (Tk == 0) {
                     for (int64_t i = 0; i < n_q; ++i) std::fill(zb + i * ldz, zb + i * ldz + dh, 0.0f);
                     return;
                   }
                   for (int64_t i = 0; i < kBq; ++i)
                     for (int64_t j = 0; j < Tk; ++j)
                       st[j * kBq + i] = i < n_q ? pattern[(h * Tq + i0 + i) * Tk + j] : 0.0f;
                   // Every key, as attn_z_forward: a hook may have put weight past the causal limit.
                   z_block(zb, ldz, st, v + (h / group) * dh, ldv, Tk, n_q, dh);
                 });
}

}  // namespace glassbox::kernels
