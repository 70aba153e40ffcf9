// What every label set shares: where the data lives, choosing a subset,
// tokenising into the model's context, and the task-name dispatch.
#include "glassbox/features/labels.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "features/labels_detail.h"
#include "glassbox/error.h"
#include "glassbox/tokenizer.h"
#include "glassbox/zoo.h"

namespace fs = std::filesystem;

namespace glassbox::features {

std::string label_data_dir() { return resource_dir(kLabelDataResource); }

void limit_examples(LabelSet& s, int64_t limit, uint64_t seed) {
  if (limit <= 0 || int64_t(s.examples.size()) <= limit) return;
  // Seeded shuffle within each class, then take round-robin over the classes.
  std::mt19937_64 rng(seed);
  const size_t K = std::max<size_t>(1, s.classes.size());
  std::vector<std::vector<size_t>> by_class(K);
  for (size_t i = 0; i < s.examples.size(); ++i)
    by_class[s.regression() ? 0 : size_t(std::max(0, s.examples[i].label)) % K].push_back(i);
  for (auto& v : by_class)
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng() % i]);
  std::vector<size_t> keep;
  for (size_t round = 0; int64_t(keep.size()) < limit; ++round) {
    bool any = false;
    for (auto& v : by_class)
      if (round < v.size() && int64_t(keep.size()) < limit) keep.push_back(v[round]), any = true;
    if (!any) break;
  }
  std::sort(keep.begin(), keep.end());
  std::vector<ProbeExample> out;
  for (size_t i : keep) out.push_back(std::move(s.examples[i]));
  s.examples = std::move(out);
}

namespace detail {

const Tokenizer& label_tokenizer(const Model& m, const std::string& what) {
  if (!m.tokenizer()) fail(what, ": the model at ", m.source(), " has no tokenizer to read text with");
  return *m.tokenizer();
}

void tokenize_examples(LabelSet& s, const Model& m) {
  const Tokenizer& tok = label_tokenizer(m, s.name);
  const auto n_ctx = size_t(m.config().n_ctx);
  for (size_t i = 0; i < s.examples.size(); ++i) {
    ProbeExample& ex = s.examples[i];
    ex.tokens = tok.encode(ex.text, /*add_special=*/true);
    if (ex.tokens.size() > n_ctx) ex.tokens.resize(n_ctx);  // keep the start; the rest is past the context
    if (ex.tokens.empty()) fail(s.name, ": example ", i, " (\"", ex.text.substr(0, 40), "\") has no tokens");
  }
}

std::string data_file(const LabelSetOptions& opt, const std::string& rel, const char* what) {
  const fs::path p = fs::path(opt.data_dir.empty() ? label_data_dir() : opt.data_dir) / rel;
  if (!fs::exists(p))
    fail(what, ": ", p.string(), " is missing; run scripts/label-data.sh (or set ", kLabelDataResource.env, ")");
  return p.string();
}

}  // namespace detail

const std::vector<std::string>& label_set_names() {
  static const std::vector<std::string> names = {"ioi-io", "ioi-order", "facts-relation", "sentiment", "spam"};
  return names;
}

LabelSet load_label_set(const std::string& task, const Model& m, const LabelSetOptions& opt) {
  if (task == "ioi-io") return ioi_io_labels(m, opt);
  if (task == "ioi-order") return ioi_order_labels(m, opt);
  if (task == "facts-relation") return facts_relation_labels(m, opt);
  if (task == "sentiment") return sentiment_labels(m, opt);
  if (task == "spam") return spam_labels(m, opt);
  if (task.size() > 6 && task.ends_with(".jsonl")) return read_label_jsonl(task, m, opt);
  std::string known;
  for (const auto& n : label_set_names()) known += n + ", ";
  fail("probe: unknown task '", task, "' (", known, "or a FILE.jsonl of {\"text\", \"label\"} lines)");
}

}  // namespace glassbox::features
