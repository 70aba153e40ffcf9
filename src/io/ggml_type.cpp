#include "io/ggml_type.h"

#include "glassbox/error.h"
#include "glassbox/gguf.h"

namespace glassbox::detail {
namespace {

struct Named {
  uint32_t id;
  std::string_view name;
};

// ggml.h enum ggml_type; ids 4 and 5 (Q4_2, Q4_3) and 31..33, 36..38 were removed upstream.
constexpr Named kNames[] = {
    {0, "F32"},      {1, "F16"},      {2, "Q4_0"},     {3, "Q4_1"},    {6, "Q5_0"},    {7, "Q5_1"},
    {8, "Q8_0"},     {9, "Q8_1"},     {10, "Q2_K"},    {11, "Q3_K"},   {12, "Q4_K"},   {13, "Q5_K"},
    {14, "Q6_K"},    {15, "Q8_K"},    {16, "IQ2_XXS"}, {17, "IQ2_XS"}, {18, "IQ3_XXS"}, {19, "IQ1_S"},
    {20, "IQ4_NL"},  {21, "IQ3_S"},   {22, "IQ2_S"},   {23, "IQ4_XS"}, {24, "I8"},     {25, "I16"},
    {26, "I32"},     {27, "I64"},     {28, "F64"},     {29, "IQ1_M"},  {30, "BF16"},   {34, "TQ1_0"},
    {35, "TQ2_0"},   {39, "MXFP4"},
};

struct Pair {
  GgmlType g;
  DType d;
};
constexpr Pair kPairs[] = {{GgmlType::F32, DType::F32},
                           {GgmlType::F16, DType::F16},
                           {GgmlType::BF16, DType::BF16},
                           {GgmlType::Q8_0, DType::Q8_0},
                           {GgmlType::Q4_0, DType::Q4_0},
                           {GgmlType::Q4_1, DType::Q4_1},
                           {GgmlType::Q5_0, DType::Q5_0},
                           {GgmlType::Q5_1, DType::Q5_1},
                           {GgmlType::Q2_K, DType::Q2_K},
                           {GgmlType::Q3_K, DType::Q3_K},
                           {GgmlType::Q4_K, DType::Q4_K},
                           {GgmlType::Q5_K, DType::Q5_K},
                           {GgmlType::Q6_K, DType::Q6_K}};

}  // namespace

std::string_view ggml_type_name(uint32_t id) {
  for (const Named& n : kNames)
    if (n.id == id) return n.name;
  return "unknown";
}

bool dtype_from_ggml(uint32_t id, DType* out) {
  for (const Pair& p : kPairs) {
    if (static_cast<uint32_t>(p.g) == id) {
      *out = p.d;
      return true;
    }
  }
  return false;
}

std::string ggml_readable_types() {
  std::string list;
  for (const Pair& p : kPairs) list += (list.empty() ? "" : ", ") + std::string(ggml_type_name(static_cast<uint32_t>(p.g)));
  return list;
}

bool ggml_from_dtype(DType t, uint32_t* out) {
  for (const Pair& p : kPairs) {
    if (p.d == t) {
      *out = static_cast<uint32_t>(p.g);
      return true;
    }
  }
  return false;
}

}  // namespace glassbox::detail

namespace glassbox {

// The names are kNames' literals, so .data() is NUL-terminated.
const char* to_string(GgmlType t) { return detail::ggml_type_name(static_cast<uint32_t>(t)).data(); }

template <>
GgmlType from_string<GgmlType>(std::string_view s) {
  std::string list;
  for (const detail::Pair& p : detail::kPairs) {
    if (s == to_string(p.g)) return p.g;
    list += (list.empty() ? "" : ", ") + std::string(to_string(p.g));
  }
  fail("ggml type '", s, "' is not one of ", list);
}

}  // namespace glassbox
