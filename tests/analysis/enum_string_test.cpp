// Every public enum spells its values one way: to_string and from_string
// round-trip, and a wrong spelling is an Error listing the valid ones.
#include <gtest/gtest.h>

#include "glassbox/analysis/circuit.h"
#include "glassbox/analysis/head_detectors.h"
#include "glassbox/analysis/patching.h"
#include "glassbox/config.h"
#include "glassbox/dtype.h"
#include "glassbox/error.h"
#include "glassbox/gguf.h"
#include "glassbox/tokenizer.h"
#include "glassbox/train.h"

namespace glassbox {
namespace {

template <class E>
void expect_round_trip(std::initializer_list<E> all) {
  for (E e : all) {
    EXPECT_EQ(from_string<E>(to_string(e)), e) << to_string(e);
  }
}

TEST(EnumString, EveryValueRoundTrips) {
  expect_round_trip({NormKind::LayerNorm, NormKind::RMSNorm, NormKind::None});
  expect_round_trip({PosKind::Learned, PosKind::Rotary, PosKind::None});
  expect_round_trip({ActKind::GeluNew, ActKind::GeluExact, ActKind::Silu, ActKind::Relu});
  expect_round_trip({DType::F32, DType::F16, DType::BF16, DType::F64, DType::I8, DType::I16, DType::I32, DType::I64,
                     DType::U8, DType::BOOL, DType::Q8_0, DType::Q4_0});
  expect_round_trip({Decay::Cosine, Decay::Linear, Decay::Constant});
  expect_round_trip({TokenizerKind::ByteLevelBPE, TokenizerKind::SentencePieceBPE});
  expect_round_trip({TokenType::Normal, TokenType::Control, TokenType::UserDefined, TokenType::Unknown,
                     TokenType::Byte, TokenType::Unused});
  expect_round_trip({GgufType::UINT8, GgufType::STRING, GgufType::ARRAY, GgufType::FLOAT64});
  expect_round_trip({GgmlType::F32, GgmlType::F16, GgmlType::Q4_0, GgmlType::Q8_0, GgmlType::BF16});
  using namespace analysis;
  expect_round_trip({CircuitMethod::ACDC, CircuitMethod::EAP, CircuitMethod::EAPIG});
  expect_round_trip({AblationKind::Zero, AblationKind::Mean, AblationKind::Resample});
  expect_round_trip({CircuitCriterion::KL, CircuitCriterion::Metric});
  expect_round_trip({NodeKind::Input, NodeKind::Head, NodeKind::Mlp, NodeKind::Logits});
  expect_round_trip({Port::In, Port::Q, Port::K, Port::V});
  expect_round_trip({MetricKind::LogitDiff, MetricKind::Logit, MetricKind::Prob, MetricKind::LogProb});
  expect_round_trip({PatchDirection::Denoise, PatchDirection::Noise});
  expect_round_trip({HeadPattern::PreviousToken, HeadPattern::DuplicateToken, HeadPattern::Induction});
}

TEST(EnumString, TheSpellingsFilesAndFlagsUse) {
  EXPECT_STREQ(to_string(analysis::CircuitMethod::EAPIG), "eap-ig");
  EXPECT_STREQ(to_string(analysis::MetricKind::LogitDiff), "logit_diff");
  EXPECT_STREQ(to_string(ActKind::GeluNew), "gelu_new");
  EXPECT_EQ(to_string(DType::BF16), "BF16");
  EXPECT_EQ(from_string<DType>("bf16"), DType::BF16);  // the CLI's lower case
}

TEST(EnumString, UnknownSpellingListsTheChoices) {
  try {
    from_string<analysis::AblationKind>("random");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "ablation 'random' is not one of zero, mean, resample");
  }
  EXPECT_THROW(from_string<NormKind>("layernorm"), Error);
  EXPECT_THROW(from_string<DType>("F8"), Error);
}

}  // namespace
}  // namespace glassbox
