// The superposition organism: a toy model of superposition (Elhage et al.
// 2022, "Toy Models of Superposition", §2). n sparse features x in [0,1]^n
// (each independently active with probability p, then uniform in [0,1]; feature
// i has importance I_i = r^i) are stored in m < n dimensions h = W x and read
// back as x' = ReLU(W^T h + b), trained on the importance-weighted squared
// error sum_i I_i (x_i - x'_i)^2. At this sparsity the optimum packs more
// features than dimensions into h, almost orthogonally: the columns W_i are
// the true feature directions, shipped beside the weights so a sparse
// dictionary trained on h can be checked against them.
//
// Files in models/superposition: model.safetensors (W [m, n], b [n]),
// config.json, features.json (names, importances, probability),
// feature_directions.safetensors ("directions" [n, m], row i = column W_i),
// train_log.json.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace glassbox::zoo {

struct SuperpositionModel {
  int64_t n_features = 0, d_hidden = 0;
  double probability = 0;               // P(feature active) per sample
  std::vector<float> W;                 // [d_hidden, n_features] row-major; column i = feature i's direction
  std::vector<float> b;                 // [n_features]
  std::vector<float> importance;        // [n_features]
  std::vector<std::string> names;       // [n_features]: a distinct English noun per feature

  // Reads a model directory (default models_dir()/superposition); Error
  // naming the file and what is wrong.
  static SuperpositionModel load(const std::string& dir = "");
  // [n_features, d_hidden]: row i is column W_i (the true direction, unnormalised).
  std::vector<float> directions() const;
};

// x[rows, n]: each entry independently U[0,1) with probability p, else 0.
// Identical on every platform (no std::*_distribution).
void sample_sparse_features(float* x, int64_t rows, int64_t n, double p, std::mt19937_64& rng);

// h[rows, m] = x W^T; pre[rows, n] = h W + b; out = ReLU(pre).
void superposition_forward(float* h, float* out, const float* x, const float* W, const float* b, int64_t rows,
                           int64_t n, int64_t m);
// Mean over rows of sum_i I_i (x_i - out_i)^2; if dout is non-null, its
// gradient with respect to out (dout[rows, n]).
double superposition_loss(float* dout, const float* out, const float* x, const float* importance, int64_t rows,
                          int64_t n);
// dW[m, n] += gradient of the loss through out = ReLU(h W + b), h = x W^T
// (W appears twice); db[n] += its bias gradient. dout from superposition_loss;
// h and out saved by superposition_forward.
void superposition_backward(float* dW, float* db, const float* dout, const float* x, const float* h,
                            const float* out, const float* W, int64_t rows, int64_t n, int64_t m);

}  // namespace glassbox::zoo
