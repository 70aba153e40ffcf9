#include "arch/family.h"

namespace glassbox::detail {

static const Family* const kFamilies[] = {&kGpt2Family,      &kNeoxFamily,     &kLlamaFamily,
                                          &kPhi3Family,      &kGemma2Family,   &kHookedFamily,
                                          &kGgufLlamaFamily, &kGgufGpt2Family, &kGgufGemma2Family};

const Family* find_family(const std::string& name) {
  for (const Family* f : kFamilies)
    for (const auto& n : f->names)
      if (n == name) return f;
  return nullptr;
}

std::vector<std::string> family_names() {
  std::vector<std::string> out;
  for (const Family* f : kFamilies) out.insert(out.end(), f->names.begin(), f->names.end());
  return out;
}

const Family& family_of(const nlohmann::json& j, const std::string& where) {
  std::string name;
  if (j.contains("model_type") && j["model_type"].is_string()) name = j["model_type"].get<std::string>();
  // TransformerLens configs carry no model_type; recognise their field names.
  else if (j.contains("n_layers") && j.contains("d_model") && j.contains("d_head")) name = "hooked_transformer";
  else fail(where, ": no \"model_type\" field, cannot tell the model family");
  if (const Family* f = find_family(name)) return *f;
  std::string known;
  for (const auto& n : family_names())
    if (n.rfind("gguf:", 0) != 0) known += (known.empty() ? "" : ", ") + n;
  fail(where, ": model_type \"", name, "\" is not supported (supported: ", known, ")");
}

ActKind parse_act(const ConfigSource& s, const std::string& name) {
  // HF: "gelu" is the exact erf GELU; "gelu_new" and these aliases the tanh approximation.
  if (name == "gelu_pytorch_tanh" || name == "gelu_fast") return ActKind::GeluNew;
  if (name == "swish") return ActKind::Silu;
  try {
    return from_string<ActKind>(name);
  } catch (const Error& e) {
    fail(s.where, ": unsupported ", e.what());
  }
}

HeadProj linear_heads(const float* W, const float* b, int64_t row0, int64_t head_row_stride,
                      const Config& c, int n_heads) {
  HeadProj p;
  p.w = W + row0 * c.d_model;
  p.rs = 1;
  p.cs = c.d_model;
  p.head_stride = head_row_stride * c.d_model;
  p.b = b ? b + row0 : nullptr;
  p.b_head_stride = head_row_stride;
  p.n_heads = n_heads;
  p.d_model = c.d_model;
  p.d_head = c.d_head;
  return p;
}

HeadProj conv1d_heads(const float* W, const float* b, int64_t ld, int64_t col0, const Config& c,
                      int n_heads) {
  HeadProj p;
  p.w = W + col0;
  p.rs = ld;
  p.cs = 1;
  p.head_stride = c.d_head;
  p.b = b ? b + col0 : nullptr;
  p.b_head_stride = c.d_head;
  p.n_heads = n_heads;
  p.d_model = c.d_model;
  p.d_head = c.d_head;
  return p;
}

}  // namespace glassbox::detail
