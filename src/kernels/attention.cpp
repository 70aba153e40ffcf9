// Attention as two batched products around the softmax, kept apart because
// attn_scores and pattern are both hook sites. Each head is one cblas_sgemm on
// strided views of the fused q/k/v rows, so nothing is repacked.
#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "kernels/detail.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {
namespace {

struct Dims {
  int tq, tk, dh;
  int64_t group;  // query heads per kv head
};

Dims check(const char* op, int64_t Tq, int64_t Tk, int64_t Hq, int64_t Hkv, int64_t dh) {
  if (Hkv <= 0 || Hq <= 0 || Hq % Hkv != 0)
    fail(op, ": Hq = ", Hq, " must be a positive multiple of Hkv = ", Hkv);
  return {detail::blas_int(Tq, "attention: Tq"), detail::blas_int(Tk, "attention: Tk"),
          detail::blas_int(dh, "attention: dh"), Hq / Hkv};
}

// Row stride of a [T, H, dh] tensor as a BLAS leading dimension for one head's
// [T, dh] view: only the first row needs dh columns; later ones need ld >= dh too.
int head_ld(int64_t ld, int64_t T, int64_t dh, const char* what) {
  return detail::blas_ld(ld, T, dh, what);
}

}  // namespace

void attn_scores_forward(float* scores, const float* q, int64_t ldq, const float* k, int64_t ldk,
                         const uint8_t* key_valid, int64_t Tq, int64_t Tk, int64_t q_offset,
                         int64_t Hq, int64_t Hkv, int64_t dh, float scale, ScoreMods mods) {
  const Dims d = check("attn_scores_forward", Tq, Tk, Hq, Hkv, dh);
  if (Tq == 0 || Tk == 0) return;
  const int lq = head_ld(ldq, Tq, dh, "attention: ldq"), lk = head_ld(ldk, Tk, dh, "attention: ldk");
  // Heads run one after another so each GEMM gets all BLAS threads; the
  // masked upper triangle is computed and overwritten, which costs less than
  // splitting into per-row GEMVs.
  for (int64_t h = 0; h < Hq; ++h) {
    const int64_t kvh = h / d.group;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d.tq, d.tk, d.dh, scale, q + h * dh, lq,
                k + kvh * dh, lk, 0.0f, scores + h * Tq * Tk, d.tk);
  }
  if (mods.softcap > 0) softcap_forward(scores, Hq * Tq * Tk, mods.softcap);  // before the mask, as HF and TL
#pragma omp parallel for if (Hq * Tq * Tk >= detail::kParallelMin) schedule(static)
  for (int64_t r = 0; r < Hq * Tq; ++r) {
    float* row = scores + r * Tk;
    const int64_t last = q_offset + r % Tq;  // last visible key (causal)
    for (int64_t j = last < 0 ? 0 : last + 1; j < Tk; ++j) row[j] = -INFINITY;
    // Keys that slid out of the window (none without one: the loop is empty).
    const int64_t before = mods.window > 0 ? std::min(last - mods.window + 1, Tk) : 0;
    for (int64_t j = 0; j < before; ++j) row[j] = -INFINITY;
    if (key_valid) {
      const int64_t lim = last + 1 < Tk ? last + 1 : Tk;
      for (int64_t j = 0; j < lim; ++j)
        if (!key_valid[j]) row[j] = -INFINITY;
    }
  }
}

void attn_z_forward(float* z, int64_t ldz, const float* pattern, const float* v, int64_t ldv,
                    int64_t Tq, int64_t Tk, int64_t Hq, int64_t Hkv, int64_t dh) {
  const Dims d = check("attn_z_forward", Tq, Tk, Hq, Hkv, dh);
  if (Tq == 0 || dh == 0) return;
  const int lz = head_ld(ldz, Tq, dh, "attention: ldz");
  if (Tk == 0) {  // nothing to attend to: z = 0
    for (int64_t i = 0; i < Tq; ++i)
      for (int64_t c = 0; c < Hq * dh; ++c) z[i * ldz + c] = 0.0f;
    return;
  }
  const int lv = head_ld(ldv, Tk, dh, "attention: ldv");
  for (int64_t h = 0; h < Hq; ++h)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d.tq, d.dh, d.tk, 1.0f,
                pattern + h * Tq * Tk, d.tk, v + (h / d.group) * dh, lv, 0.0f, z + h * dh, lz);
}

void attn_z_backward(float* dpattern, float* dv, int64_t lddv, const float* dz, int64_t lddz,
                     const float* pattern, const float* v, int64_t ldv, int64_t Tq, int64_t Tk,
                     int64_t Hq, int64_t Hkv, int64_t dh) {
  const Dims d = check("attn_z_backward", Tq, Tk, Hq, Hkv, dh);
  if (Tq == 0 || Tk == 0 || dh == 0) return;
  const int ldz = head_ld(lddz, Tq, dh, "attention: lddz");
  // Heads sharing a kv head (GQA) add into the same dv block; running heads
  // in order with beta = 1 makes that sum race-free and deterministic.
  for (int64_t h = 0; h < Hq; ++h) {
    const int64_t kvh = h / d.group;
    if (dpattern)  // dpattern_h += dz_h . v_h^T
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d.tq, d.tk, d.dh, 1.0f, dz + h * dh,
                  ldz, v + kvh * dh, head_ld(ldv, Tk, dh, "attention: ldv"), 1.0f,
                  dpattern + h * Tq * Tk, d.tk);
    if (dv)  // dv_h += pattern_h^T . dz_h
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d.tk, d.dh, d.tq, 1.0f,
                  pattern + h * Tq * Tk, d.tk, dz + h * dh, ldz, 1.0f, dv + kvh * dh,
                  head_ld(lddv, Tk, dh, "attention: lddv"));
  }
}

void attn_scores_backward(float* dq, int64_t lddq, float* dk, int64_t lddk, const float* dscores,
                          const float* q, int64_t ldq, const float* k, int64_t ldk, int64_t Tq,
                          int64_t Tk, int64_t Hq, int64_t Hkv, int64_t dh, float scale) {
  const Dims d = check("attn_scores_backward", Tq, Tk, Hq, Hkv, dh);
  if (Tq == 0 || Tk == 0 || dh == 0) return;
  for (int64_t h = 0; h < Hq; ++h) {
    const int64_t kvh = h / d.group;
    const float* ds = dscores + h * Tq * Tk;
    if (dq)  // dq_h += scale * dscores_h . k_h
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d.tq, d.dh, d.tk, scale, ds, d.tk,
                  k + kvh * dh, head_ld(ldk, Tk, dh, "attention: ldk"), 1.0f, dq + h * dh,
                  head_ld(lddq, Tq, dh, "attention: lddq"));
    if (dk)  // dk_h += scale * dscores_h^T . q_h
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d.tk, d.dh, d.tq, scale, ds, d.tk,
                  q + h * dh, head_ld(ldq, Tq, dh, "attention: ldq"), 1.0f, dk + kvh * dh,
                  head_ld(lddk, Tk, dh, "attention: lddk"));
  }
}

}  // namespace glassbox::kernels
