// Label sets the model organisms define, drawn from each organism's own
// recipe (glassbox/zoo.h): the prompts it is evaluated on, with labels read
// off their structure. The recipe is rebuilt from the zoo's corpora, so the
// prompts are exactly the organism's, with its vocabulary.
#include <algorithm>
#include <random>
#include <set>

#include "features/labels_detail.h"
#include "glassbox/error.h"
#include "glassbox/zoo.h"

namespace glassbox::features {

namespace {

// A prompt and the answer the recipe's held-out batches ask for.
struct Asked {
  std::vector<int32_t> prompt;
  int32_t answer;
};

// Distinct prompts from the recipe's eval batches (loss on one answer token
// per row), drawn with a seeded generator until `want` or the draws run dry.
std::vector<Asked> draw_prompts(const zoo::Recipe& r, size_t want, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::set<std::vector<int32_t>> seen;
  std::vector<Asked> out;
  for (int draws = 0; out.size() < want && draws < 200; ++draws) {
    const TrainBatch tb = r.eval_batches(rng);
    const Batch& b = tb.batch;
    for (int64_t row = 0; row < b.B && out.size() < want; ++row)
      for (int64_t t = 0; t < b.T; ++t) {
        const int32_t answer = tb.targets[size_t(row * b.T + t)];
        if (answer < 0) continue;
        std::vector<int32_t> prompt(b.tokens.begin() + row * b.T, b.tokens.begin() + row * b.T + t + 1);
        if (seen.insert(prompt).second) out.push_back({std::move(prompt), answer});
        break;
      }
  }
  return out;
}

zoo::Recipe organism_recipe(const std::string& name, const Model& m) {
  const zoo::Recipe r = zoo::find_organism(name).recipe(zoo::data_dir());
  if (r.config.value("vocab_size", int64_t(-1)) != m.config().d_vocab)
    fail(name, " labels: the model at ", m.source(), " has ", m.config().d_vocab, " tokens, the ", name,
         " organism ", r.config.value("vocab_size", int64_t(-1)), "; use --model models/", name);
  return r;
}

std::string piece(const Tokenizer& tok, int32_t id) { return tok.token_to_bytes(id); }

}  // namespace

LabelSet ioi_io_labels(const Model& m, const LabelSetOptions& opt) {
  const Tokenizer& tok = detail::label_tokenizer(m, "ioi-io");
  const zoo::Recipe r = organism_recipe("ioi", m);
  LabelSet s;
  s.name = "ioi-io";
  s.description = "ioi's held-out prompts: is the indirect object the first name (ABBA) or the second (BABA)?";
  s.classes = {"first", "second"};
  const size_t want = opt.limit > 0 ? size_t(opt.limit) : 1024;
  for (const Asked& a : draw_prompts(r, want, opt.seed)) {
    // Every template reads "[N1] and [N2]"; the answer is the name not repeated.
    const auto& p = a.prompt;
    const auto io = std::find(p.begin(), p.end(), a.answer);
    if (io == p.end()) fail("ioi-io: a prompt of the ioi recipe does not contain its answer");
    const auto i_io = int64_t(io - p.begin());
    const bool first = i_io + 2 < int64_t(p.size()) && piece(tok, p[size_t(i_io + 1)]) == " and";
    const bool second = i_io >= 2 && piece(tok, p[size_t(i_io - 1)]) == " and";
    if (first == second) fail("ioi-io: cannot find \"[N1] and [N2]\" around the indirect object");
    const int64_t s1 = first ? i_io + 2 : i_io - 2;
    const auto s2 = int64_t(std::find(p.rbegin(), p.rend(), p[size_t(s1)]).base() - p.begin()) - 1;
    ProbeExample ex;
    ex.tokens = p;
    ex.label = first ? 0 : 1;
    ex.control_key = piece(tok, a.answer);  // a word type per IO name
    ex.positions = {{"IO", i_io}, {"S1", s1}, {"S2", s2}, {"end", int64_t(p.size()) - 1}};
    ex.text = tok.decode(p, /*skip_special=*/true);
    s.examples.push_back(std::move(ex));
  }
  limit_examples(s, opt.limit, opt.seed);
  return s;
}

LabelSet facts_relation_labels(const Model& m, const LabelSetOptions& opt) {
  const Tokenizer& tok = detail::label_tokenizer(m, "facts-relation");
  const zoo::Recipe r = organism_recipe("facts", m);
  LabelSet s;
  s.name = "facts-relation";
  s.description = "facts' canonical prompts: which relation is asked about (lives in / works as / plays / eats)";
  const size_t want = opt.limit > 0 ? size_t(opt.limit) : 480;
  // Canonical prompts are BOS, two subject tokens, then the relation's words.
  std::vector<std::pair<Asked, std::string>> rows;
  std::set<std::string> relations;
  for (Asked& a : draw_prompts(r, want, opt.seed)) {
    if (a.prompt.size() < 4) fail("facts-relation: a prompt of the facts recipe is shorter than its subject");
    std::string rel = tok.decode(std::vector<int32_t>(a.prompt.begin() + 3, a.prompt.end()), true);
    rel.erase(0, rel.find_first_not_of(' '));
    relations.insert(rel);
    rows.emplace_back(std::move(a), std::move(rel));
  }
  s.classes.assign(relations.begin(), relations.end());
  for (auto& [a, rel] : rows) {
    ProbeExample ex;
    ex.label = int32_t(std::distance(relations.begin(), relations.find(rel)));
    ex.control_key = tok.decode(std::vector<int32_t>(a.prompt.begin() + 1, a.prompt.begin() + 3), true);  // the subject
    ex.positions = {{"subject", 2}, {"end", int64_t(a.prompt.size()) - 1}};
    ex.text = tok.decode(a.prompt, true);
    ex.tokens = std::move(a.prompt);
    s.examples.push_back(std::move(ex));
  }
  limit_examples(s, opt.limit, opt.seed);
  return s;
}

}  // namespace glassbox::features
