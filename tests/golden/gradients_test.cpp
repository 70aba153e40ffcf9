// Whole-model gradients (w.r.t. every weight and w.r.t. hook sites) against
// PyTorch autograd on the reference implementation.
#include <gtest/gtest.h>

#include <cmath>

#include "glassbox/metrics.h"
#include "glassbox/safetensors.h"
#include "glassbox/trainable.h"
#include "golden/fixture_util.h"

using namespace glassbox;

using golden::f32_of;

namespace {

double rel_err(const float* a, const std::vector<float>& e) {
  double err = 0, ref = 1e-12;
  for (size_t i = 0; i < e.size(); ++i) {
    if (std::isinf(e[i])) continue;
    err = std::max(err, double(std::fabs(a[i] - e[i])));
    ref = std::max(ref, double(std::fabs(e[i])));
  }
  return err / ref;
}

class Gradients : public ::testing::TestWithParam<std::string> {};

TEST_P(Gradients, MatchAutogradForWeightsAndHookSites) {
  const std::string dir = std::string(GLASSBOX_FIXTURES) + "/" + GetParam();
  Trainable tr = Trainable::load(dir);
  const SafetensorsFile ex = SafetensorsFile::open(dir + "/expected.safetensors");
  Batch b;
  const RawTensor* tok = ex.find("tokens");
  const RawTensor* mask = ex.find("attention_mask");
  b.B = tok->shape[0];
  b.T = tok->shape[1];
  b.tokens.assign(static_cast<const int32_t*>(tok->data), static_cast<const int32_t*>(tok->data) + b.B * b.T);
  for (int64_t i = 0; i < b.B * b.T; ++i) b.mask.push_back(uint8_t(static_cast<const int32_t*>(mask->data)[i] != 0));

  Engine e(tr.model());
  HookRegistry reg(tr.model().config());
  std::map<std::string, std::vector<float>> site_grads;
  for (const RawTensor& r : ex.tensors()) {
    if (r.name.rfind("grad.", 0) != 0 || r.name.find("hook_") == std::string::npos) continue;
    const std::string site = r.name.substr(5);
    (void)reg.add(site, [&site_grads, site](TensorView& g, const HookContext&) {
      site_grads[site].assign(g.data, g.data + g.numel());
    }, HookMode::Grad).release();
  }
  ForwardOptions fo;
  fo.for_backward = true;
  const ForwardResult fwd = e.forward(b, nullptr, nullptr, fo);
  Tensor dlogits;
  const double loss = next_token_loss(fwd.logits, b, &dlogits);
  EXPECT_NEAR(loss, f32_of(*ex.find("loss"))[0], 1e-4 * std::fabs(loss));
  tr.zero_grad();
  e.backward(b, fwd, dlogits.f32(), &reg, &tr.grads());

  int weights = 0, sites = 0;
  for (const Param& p : tr.params()) {
    const RawTensor* r = ex.find("grad." + p.name);
    if (!r) continue;
    EXPECT_LT(rel_err(p.grad.f32(), f32_of(*r)), 1e-4) << p.name;
    ++weights;
  }
  for (auto& [site, g] : site_grads) {
    auto want = f32_of(*ex.find("grad." + site));
    ASSERT_EQ(g.size(), want.size()) << site;
    if (site.find("hook_pattern") != std::string::npos) {
      // d pattern is only meaningful where the pattern can be non-zero: causal,
      // unmasked keys of unmasked queries (autograd also fills the rest).
      const int64_t H = int64_t(g.size()) / (b.B * b.T * b.T);
      for (int64_t i = 0; i < b.B; ++i)
        for (int64_t h = 0; h < H; ++h)
          for (int64_t q = 0; q < b.T; ++q)
            for (int64_t k = 0; k < b.T; ++k)
              if (k > q || !b.valid(i, q) || !b.valid(i, k)) g[size_t(((i * H + h) * b.T + q) * b.T + k)] = want[size_t(((i * H + h) * b.T + q) * b.T + k)] = 0;
    }
    EXPECT_LT(rel_err(g.data(), want), 1e-4) << site;
    ++sites;
  }
  EXPECT_EQ(size_t(weights), tr.params().size() - (GetParam() == "gpt2" ? 4 : 0));  // gpt2: attn.bias buffers
  EXPECT_GE(sites, 2);
}

INSTANTIATE_TEST_SUITE_P(Families, Gradients, ::testing::Values("gpt2", "llama"));

}  // namespace
