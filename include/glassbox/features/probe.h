// Linear probes: is a property linearly decodable from activations? Fitted
// exactly and deterministically (no SGD, so a probe is a function of its data):
//
//  * logistic regression, L2-regularised, by Newton's method (IRLS) with a
//    backtracking line search; softmax over the classes when there are more
//    than two;
//  * ridge regression in closed form, for scalar targets and as a classifier
//    (targets +-1, sklearn's RidgeClassifier);
//  * mass-mean (difference-of-means) probes (Marks & Tegmark 2023, "The
//    Geometry of Truth"): the direction mu_1 - mu_0, or Sigma^-1 (mu_1 - mu_0)
//    with the within-class covariance (their IID variant; LDA with more
//    classes).
//
// Logistic and ridge probes see standardised inputs ((x - mean) / std of the
// training rows, per dimension): the penalty then weighs every dimension
// alike and Newton's Hessian stays well conditioned on residual streams whose
// scales differ by orders of magnitude. Mass-mean probes work in the raw space
// (their direction is a difference of raw means), centred only.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/enum_string.h"

namespace glassbox::features {

enum class ProbeKind : uint8_t { Logistic, Ridge, MassMean };
const char* to_string(ProbeKind k);  // "logistic", "ridge", "mass-mean"

struct ProbeOptions {
  ProbeKind kind = ProbeKind::Logistic;
  // Objective: mean loss over the rows + l2/2 |W|^2 (logistic) or mean squared
  // error + l2 |W|^2 (ridge), on standardised inputs; biases are not penalised.
  double l2 = 1e-2;
  // Mass-mean: Sigma^-1 (mu_1 - mu_0). Sigma gets `shrinkage` x its mean
  // variance added to its diagonal, so fewer rows than dimensions still invert.
  bool covariance_corrected = false;
  double shrinkage = 1e-3;
  // Newton stops when the gradient's largest entry is below tol (or after max_iter steps).
  int max_iter = 100;
  double tol = 1e-9;
};

// scores = ((x - mean) * inv_scale) W + b. Binary classification: one output,
// class 1 where it is > 0. More classes: one output per class, argmax.
// Regression (n_classes == 0): one output, the prediction.
struct LinearProbe {
  ProbeKind kind = ProbeKind::Logistic;
  int64_t d_in = 0, n_outputs = 0;
  int n_classes = 0;
  std::vector<double> mean, inv_scale;  // [d_in]
  std::vector<double> W;                // [d_in, n_outputs], row-major
  std::vector<double> b;                // [n_outputs]
  int iterations = 0;                   // Newton steps taken (logistic)
  bool converged = true;

  // out[rows, n_outputs]; x is [rows, d_in].
  void scores(const float* x, int64_t rows, double* out) const;
  std::vector<double> scores(const float* x, int64_t rows) const;
  // The predicted class of each row (classifiers only).
  std::vector<int32_t> predict(const float* x, int64_t rows) const;
  // The weights in the input's own units (W scaled by inv_scale): the probe's direction(s).
  std::vector<double> direction(int64_t output = 0) const;
  nlohmann::json to_json() const;
};

// x: [n, d] row-major; y: class ids in [0, n_classes), n_classes >= 2 (each
// present at least once). Error naming the argument on bad sizes or labels.
LinearProbe fit_logistic(const float* x, const int32_t* y, int64_t n, int64_t d, int n_classes,
                         const ProbeOptions& opt = {});
LinearProbe fit_ridge_classifier(const float* x, const int32_t* y, int64_t n, int64_t d, int n_classes,
                                 const ProbeOptions& opt = {});
LinearProbe fit_ridge_regression(const float* x, const double* target, int64_t n, int64_t d,
                                 const ProbeOptions& opt = {});
LinearProbe fit_mass_mean(const float* x, const int32_t* y, int64_t n, int64_t d, int n_classes,
                          const ProbeOptions& opt = {});
// The classifier opt.kind names.
LinearProbe fit_probe(const float* x, const int32_t* y, int64_t n, int64_t d, int n_classes,
                      const ProbeOptions& opt);

}  // namespace glassbox::features

namespace glassbox {
template <> features::ProbeKind from_string<features::ProbeKind>(std::string_view s);
}  // namespace glassbox
