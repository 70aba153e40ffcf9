// Matmuls over weights kept block-quantised (matmul_quant.cpp), for every
// block type: against the independent reference of the same weight
// dequantised to F32 by to_f32 and multiplied by the dense kernel, for whole
// matrices, head slices (q_row0), row blocks (q_col0) and row maps; backward
// to the input against the dense backward and a finite-difference gradcheck;
// weight gradients refused; quantised embedding rows equal to_f32's.
#include <cblas.h>

#include "glassbox/dtype.h"
#include "glassbox/error.h"
#include "glassbox/threads.h"
#include "kernels/detail.h"
#include "kernels/kernel_test_util.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {
namespace {
using namespace test;

const DType kTypes[] = {DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1,
                        DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K};

// Offset of the f16 super-scales inside a block (d, and dmin 2 bytes later where present).
std::vector<size_t> scale_offsets(DType t) {
  switch (t) {
    case DType::Q8_0: case DType::Q4_0: case DType::Q5_0: return {0};
    case DType::Q4_1: case DType::Q5_1: case DType::Q4_K: case DType::Q5_K: return {0, 2};
    case DType::Q2_K: return {80, 82};
    case DType::Q3_K: return {108};
    case DType::Q6_K: return {208};
    default: return {};
  }
}

// A random quantised [rows, K] matrix: random bytes everywhere (every bit
// pattern is a valid block) except the f16 scales, which are small finite values.
struct QuantFixture {
  std::vector<uint8_t> bytes;
  QuantMat q;
  std::vector<float> dense;  // to_f32 of every row: [rows, K]
  QuantFixture(DType t, int64_t rows, int64_t K, uint32_t seed, float max_scale = 0.05f) {
    std::mt19937 rng(seed);
    const size_t row_bytes = dtype_nbytes(t, K), bb = dtype_nbytes(t, dtype_block_size(t));
    bytes.resize(row_bytes * size_t(rows));
    for (auto& b : bytes) b = uint8_t(rng());
    std::uniform_real_distribution<float> scale(max_scale / 50, max_scale);
    for (size_t blk = 0; blk < bytes.size() / bb; ++blk)
      for (size_t off : scale_offsets(t)) {
        const uint16_t h = f32_to_f16(scale(rng) * (rng() % 2 ? 1.f : -1.f));
        bytes[blk * bb + off] = uint8_t(h & 0xff);
        bytes[blk * bb + off + 1] = uint8_t(h >> 8);
      }
    q = {bytes.data(), t, rows, K, row_bytes, nullptr};
    dense.resize(size_t(rows * K));
    to_f32(dense.data(), bytes.data(), t, rows * K);
  }
};

double rel_err(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0, s = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    m = std::max(m, std::fabs(double(a[i]) - double(b[i])));
    s = std::max(s, std::fabs(double(b[i])));
  }
  return m / std::max(s, 1e-30);
}

TEST(MatmulQuant, ForwardAndBackwardMatchTheDequantisedWeight) {
  for (DType t : kTypes) {
    SCOPED_TRACE(dtype_name(t));
    const int64_t K = 512, M = 40, N = 3;  // several panels would need K*M > 2^19; see the next test
    QuantFixture f(t, M, K, 7);
    const MatRef Wq{nullptr, K, M, 1, K, &f.q, 0, 0};
    const MatRef Wd{f.dense.data(), K, M, 1, K};
    auto inp = randn(size_t(N * K), 1), bias = randn(size_t(M), 2);
    std::vector<float> oq(size_t(N * M)), od(size_t(N * M));
    matmul_forward(oq.data(), M, inp.data(), K, Wq, bias.data(), 1, N);
    matmul_forward(od.data(), M, inp.data(), K, Wd, bias.data(), 1, N);
    EXPECT_LT(rel_err(oq, od), 1e-5);
    EXPECT_GT(max_abs_diff(od, std::vector<float>(od.size(), 0.f)), 0.0);  // not all zero
    auto dout = randn(size_t(N * M), 3);
    auto dq = randn(size_t(N * K), 4), dd = dq;
    matmul_backward(dq.data(), K, {}, nullptr, 1, dout.data(), M, inp.data(), K, Wq, N);
    matmul_backward(dd.data(), K, {}, nullptr, 1, dout.data(), M, inp.data(), K, Wd, N);
    EXPECT_LT(rel_err(dq, dd), 1e-5);
  }
}

TEST(MatmulQuant, ManyPanelsSlicesAndRowMaps) {
  const int64_t K = 1024, R = 700, N = 2;  // K*R > 2^19 floats: more than one panel
  QuantFixture f(DType::Q4_K, R, K, 11);
  std::vector<int32_t> map(static_cast<size_t>(R));
  for (int64_t r = 0; r < R; ++r) map[size_t(r)] = int32_t((r * 37) % R);  // a permutation (gcd(37, 700) = 1)
  QuantMat mapped = f.q;
  mapped.row_map = map.data();
  auto inp = randn(size_t(N * K), 5);
  struct Case {
    const QuantMat* q;
    int64_t row0, col0, K, M;
  };
  for (const Case& c : {Case{&f.q, 0, 0, K, R}, Case{&f.q, 128, 0, K, 64}, Case{&f.q, 0, 256, 300, R},
                        Case{&mapped, 0, 0, K, R}, Case{&mapped, 64, 32, 500, 100}}) {
    SCOPED_TRACE(testing::Message() << "row0 " << c.row0 << " col0 " << c.col0 << " map " << bool(c.q->row_map));
    MatRef Wq{nullptr, c.K, c.M, 1, c.K, c.q, c.row0, c.col0};
    // Reference: gather the view's elements from the dense matrix by hand.
    std::vector<float> ref(size_t(c.K * c.M));
    for (int64_t j = 0; j < c.M; ++j) {
      const int64_t stored = c.q->row_map ? c.q->row_map[c.row0 + j] : c.row0 + j;
      for (int64_t i = 0; i < c.K; ++i) ref[size_t(j * c.K + i)] = f.dense[size_t(stored * K + c.col0 + i)];
    }
    const MatRef Wd{ref.data(), c.K, c.M, 1, c.K};
    std::vector<float> oq(size_t(N * c.M)), od(oq.size());
    matmul_forward(oq.data(), c.M, inp.data(), c.K, Wq, nullptr, 1, N);
    matmul_forward(od.data(), c.M, inp.data(), c.K, Wd, nullptr, 1, N);
    EXPECT_LT(rel_err(oq, od), 1e-5);
    // row_block of a quantised view is the same as of the dense one.
    std::vector<float> bq(size_t(N * c.M)), bd(bq.size());
    matmul_forward(bq.data(), c.M, inp.data(), c.K, Wq.row_block(10, 64), nullptr, 1, N);
    matmul_forward(bd.data(), c.M, inp.data(), c.K, Wd.row_block(10, 64), nullptr, 1, N);
    EXPECT_LT(rel_err(bq, bd), 1e-5);
  }
}

// Prompts (N >= 16) take the other path: the threads share out ~256 KiB column
// tiles, each dequantised and multiplied by a single-threaded sgemm. Every
// type, several tiles with a ragged last one, slices and row maps, with and
// without bias (sgemm's beta 1 and 0), on 1 and 2 threads; OpenBLAS's thread
// count is restored afterwards.
TEST(MatmulQuant, PromptTilesOverThreadsMatchTheDequantisedWeight) {
  const int before = num_threads();
  for (int threads : {2, 1}) {
    set_num_threads(threads);
    for (DType t : kTypes) {
      SCOPED_TRACE(testing::Message() << dtype_name(t) << ", " << threads << " thread(s)");
      const int64_t K = 512, R = 300, N = 37;  // 2 threads: tiles of 80 rows, 80 x 3 + 60
      QuantFixture f(t, R, K, 13);
      std::vector<int32_t> map(static_cast<size_t>(R));
      for (int64_t r = 0; r < R; ++r) map[size_t(r)] = int32_t((r * 7) % R);
      QuantMat mapped = f.q;
      mapped.row_map = map.data();
      auto inp = randn(size_t(N * K), 21), bias = randn(size_t(R), 22);
      struct Case {
        const QuantMat* q;
        int64_t row0, col0, K, M;
        bool bias;
      };
      for (const Case& c : {Case{&f.q, 0, 0, K, R, false}, Case{&f.q, 0, 0, K, R, true},
                            Case{&mapped, 10, 256, 256, 280, true}}) {
        const MatRef Wq{nullptr, c.K, c.M, 1, c.K, c.q, c.row0, c.col0};
        std::vector<float> ref(size_t(c.K * c.M));
        for (int64_t j = 0; j < c.M; ++j) {
          const int64_t stored = c.q->row_map ? c.q->row_map[c.row0 + j] : c.row0 + j;
          for (int64_t i = 0; i < c.K; ++i) ref[size_t(j * c.K + i)] = f.dense[size_t(stored * K + c.col0 + i)];
        }
        const MatRef Wd{ref.data(), c.K, c.M, 1, c.K};
        std::vector<float> oq(size_t(N * c.M), 9.f), od(oq.size(), -9.f);
        matmul_forward(oq.data(), c.M, inp.data(), K, Wq, c.bias ? bias.data() : nullptr, 1, N);
        matmul_forward(od.data(), c.M, inp.data(), K, Wd, c.bias ? bias.data() : nullptr, 1, N);
        EXPECT_LT(rel_err(oq, od), 1e-5) << "row0 " << c.row0 << " bias " << c.bias;
      }
    }
    EXPECT_EQ(openblas_get_num_threads(), threads);
  }
  set_num_threads(before);
}

// The quantised forward holds OpenBLAS at one thread per call; a
// set_num_threads() meanwhile (another engine, a binding) is what the count
// returns to afterwards, not the count from before the forward.
TEST(MatmulQuant, SetNumThreadsDuringACallerThreadScopeIsKept) {
  const int before = num_threads();
  set_num_threads(2);
  {
    const kernels::detail::BlasOnCallerThread outer;
    EXPECT_EQ(openblas_get_num_threads(), 1);
    {
      const kernels::detail::BlasOnCallerThread inner;  // a second engine's pass
      set_num_threads(3);
      EXPECT_EQ(openblas_get_num_threads(), 1);
    }
    EXPECT_EQ(openblas_get_num_threads(), 1);  // the outer scope still holds it
  }
  EXPECT_EQ(openblas_get_num_threads(), 3);
  set_num_threads(before);
  EXPECT_EQ(openblas_get_num_threads(), before);
}

TEST(MatmulQuant, GradcheckInput) {
  const int64_t N = 3, K = 256, M = 5, ldi = K + 3, ldo = M + 2;
  QuantFixture f(DType::Q6_K, M, K, 3, 0.001f);  // weights of order 1: float rounding of out stays far below the check
  const MatRef W{nullptr, K, M, 1, K, &f.q, 0, 0};
  auto inp = randn(size_t(N * ldi), 8), R = randn(size_t(N * ldo), 9);
  auto loss = [&] {
    std::vector<float> out(size_t(N * ldo), 0.0f);
    matmul_forward(out.data(), ldo, inp.data(), ldi, W, nullptr, 1, N);
    return dot(out, R);
  };
  const auto d0 = randn(inp.size(), 10);
  auto d = d0;
  matmul_backward(d.data(), ldi, {}, nullptr, 1, R.data(), ldo, inp.data(), ldi, W, N);
  // Padding columns of inp carry no gradient.
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = K; k < ldi; ++k) EXPECT_EQ(d[size_t(n * ldi + k)], d0[size_t(n * ldi + k)]);
  // out is linear in inp, so a large step has no truncation error, only less rounding noise.
  EXPECT_GRAD_OK(gradcheck("dinp", inp, delta(d, d0), loss, GradTol{.eps = 0.05}));
}

TEST(MatmulQuant, WeightGradientsAndBadViewsAreErrors) {
  QuantFixture f(DType::Q8_0, 4, 64, 1);
  const MatRef W{nullptr, 64, 4, 1, 64, &f.q, 0, 0};
  std::vector<float> inp(64), dout(4), dw(256), dinp(64);
  try {
    matmul_backward(dinp.data(), 64, MutMatRef{dw.data(), 64, 4, 1, 64}, nullptr, 1, dout.data(), 4, inp.data(), 64,
                    W, 1);
    ADD_FAILURE() << "no Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot be trained"), std::string::npos) << e.what();
  }
  const MatRef outside{nullptr, 64, 4, 1, 64, &f.q, 1, 0};  // rows 1..4 of a 4-row matrix
  std::vector<float> out(4);
  EXPECT_THROW(matmul_forward(out.data(), 4, inp.data(), 64, outside, nullptr, 1, 1), Error);
}

TEST(MatmulQuant, EmbeddingRowsEqualToF32) {
  for (DType t : {DType::Q4_K, DType::Q6_K, DType::Q8_0}) {
    QuantFixture f(t, 9, 256, 2);
    const int32_t ids[] = {3, 0, 8, 3};
    std::vector<float> out(4 * 256, 1.0f);
    embedding_forward_quant(out.data(), ids, f.q, 4, 256);
    for (int i = 0; i < 4; ++i)
      for (int c = 0; c < 256; ++c) ASSERT_EQ(out[size_t(i * 256 + c)], f.dense[size_t(ids[i] * 256 + c)]);
    embedding_forward_quant(out.data(), ids, f.q, 4, 256, true);
    EXPECT_EQ(out[5], 2 * f.dense[size_t(3 * 256 + 5)]);
    const int32_t bad[] = {9};
    EXPECT_THROW(embedding_forward_quant(out.data(), bad, f.q, 1, 256), Error);
  }
}

}  // namespace
}  // namespace glassbox::kernels
