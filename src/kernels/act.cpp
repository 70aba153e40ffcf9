// MLP activations, optionally gated (Llama: act(gate_proj x) * up_proj x).
#include <cmath>

#include "kernels/detail.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {
namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kGeluCubic = 0.044715f;
constexpr double kInvSqrt2 = 0.70710678118654752;
constexpr double kInvSqrt2Pi = 0.39894228040143268;

// gelu_new: 0.5x(1 + tanh(u)) == x * sigmoid(2u). The sigmoid form has no
// 1 + tanh cancellation for negative x (where tanh -> -1), so the small
// negative tail keeps full relative precision, and it vectorises via exp_f.
inline float gelu_new_twou(float x) { return 2.0f * kSqrt2OverPi * (x + kGeluCubic * x * x * x); }
inline float gelu_new(float x) { return x * detail::sigmoid_f(gelu_new_twou(x)); }
inline float gelu_new_grad(float x) {
  const float s = detail::sigmoid_f(gelu_new_twou(x));
  const float dtwou = 2.0f * kSqrt2OverPi * (1.0f + 3.0f * kGeluCubic * x * x);
  return s + x * s * (1.0f - s) * dtwou;
}

// Exact GELU x * Phi(x) with Phi(x) = erfc(-x/sqrt2)/2: erfc keeps relative
// accuracy in the negative tail where 1 + erf(x/sqrt2) would cancel. Scalar
// libm in double; models using it (Pythia) are threaded over n instead.
inline float gelu_exact(float x) {
  const double xd = x;
  return static_cast<float>(0.5 * xd * std::erfc(-xd * kInvSqrt2));
}
inline float gelu_exact_grad(float x) {
  const double xd = x;
  return static_cast<float>(0.5 * std::erfc(-xd * kInvSqrt2) +
                            xd * kInvSqrt2Pi * std::exp(-0.5 * xd * xd));
}

inline float silu(float x) { return x * detail::sigmoid_f(x); }
inline float silu_grad(float x) {
  const float s = detail::sigmoid_f(x);
  return s * (1.0f + x * (1.0f - s));
}

inline float relu(float x) { return x > 0.0f ? x : 0.0f; }
inline float relu_grad(float x) { return x > 0.0f ? 1.0f : 0.0f; }

// The activation as a type, not a function pointer: a pointer argument is a
// run-time value, so the loops below would make an indirect call per element
// and never vectorise.
template <float (*F)(float)>
struct Fn {
  float operator()(float x) const { return F(x); }
};

template <class F>
void map_forward(float* post, const float* pre, const float* gate, int64_t n, F f) {
  if (gate) {
#pragma omp parallel for simd if (n >= detail::kParallelMin) schedule(static)
    for (int64_t i = 0; i < n; ++i) post[i] = f(pre[i]) * gate[i];
  } else {
#pragma omp parallel for simd if (n >= detail::kParallelMin) schedule(static)
    for (int64_t i = 0; i < n; ++i) post[i] = f(pre[i]);
  }
}

template <class F, class G>
void map_backward(float* dpre, float* dgate, const float* dpost, const float* pre,
                  const float* gate, int64_t n, F f, G g) {
  if (gate) {
    if (dpre) {
#pragma omp parallel for simd if (n >= detail::kParallelMin) schedule(static)
      for (int64_t i = 0; i < n; ++i) dpre[i] += dpost[i] * gate[i] * g(pre[i]);
    }
    if (dgate) {
#pragma omp parallel for simd if (n >= detail::kParallelMin) schedule(static)
      for (int64_t i = 0; i < n; ++i) dgate[i] += dpost[i] * f(pre[i]);
    }
  } else if (dpre) {
#pragma omp parallel for simd if (n >= detail::kParallelMin) schedule(static)
    for (int64_t i = 0; i < n; ++i) dpre[i] += dpost[i] * g(pre[i]);
  }
}

}  // namespace

void act_forward(float* post, const float* pre, const float* gate, int64_t n, Act act) {
  switch (act) {
    case Act::GeluNew: return map_forward(post, pre, gate, n, Fn<gelu_new>{});
    case Act::GeluExact: return map_forward(post, pre, gate, n, Fn<gelu_exact>{});
    case Act::Silu: return map_forward(post, pre, gate, n, Fn<silu>{});
    case Act::Relu: return map_forward(post, pre, gate, n, Fn<relu>{});
  }
  fail("act_forward: unknown activation ", static_cast<int>(act));
}

void act_backward(float* dpre, float* dgate, const float* dpost, const float* pre,
                  const float* gate, int64_t n, Act act) {
  switch (act) {
    case Act::GeluNew: return map_backward(dpre, dgate, dpost, pre, gate, n, Fn<gelu_new>{}, Fn<gelu_new_grad>{});
    case Act::GeluExact:
      return map_backward(dpre, dgate, dpost, pre, gate, n, Fn<gelu_exact>{}, Fn<gelu_exact_grad>{});
    case Act::Silu: return map_backward(dpre, dgate, dpost, pre, gate, n, Fn<silu>{}, Fn<silu_grad>{});
    case Act::Relu: return map_backward(dpre, dgate, dpost, pre, gate, n, Fn<relu>{}, Fn<relu_grad>{});
  }
  fail("act_backward: unknown activation ", static_cast<int>(act));
}

}  // namespace glassbox::kernels
