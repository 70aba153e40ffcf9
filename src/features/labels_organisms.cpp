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

// What each organism's label set starts from: the model's tokenizer, the
// organism's recipe (checked against the model) and the named, empty set.
struct OrganismLabels {
  const Tokenizer& tok;
  zoo::Recipe recipe;
  LabelSet set;
};
OrganismLabels organism_labels(const Model& m, const std::string& organism, const char* name,
                               const char* description) {
  OrganismLabels o{detail::label_tokenizer(m, name), organism_recipe(organism, m), {}};
  o.set.name = name;
  o.set.description = description;
  return o;
}

// How many prompts to draw: the --limit, or the set's own default.
size_t wanted(const LabelSetOptions& opt, size_t fallback) { return opt.limit > 0 ? size_t(opt.limit) : fallback; }

// The finished set: cut to --limit (seeded) when it holds more.
LabelSet limited(LabelSet& s, const LabelSetOptions& opt) {
  limit_examples(s, opt.limit, opt.seed);
  return std::move(s);
}

// An ioi prompt with its name slots found: every template reads "[N1] and
// [N2]", and the answer is the name that is not repeated.
struct IoiSlots {
  int64_t io, s1, s2;
  bool io_first;
};
IoiSlots ioi_slots(const Tokenizer& tok, const Asked& a) {
  const auto& p = a.prompt;
  const auto io = std::find(p.begin(), p.end(), a.answer);
  if (io == p.end()) fail("ioi labels: a prompt of the ioi recipe does not contain its answer");
  const auto i_io = int64_t(io - p.begin());
  const bool first = i_io + 2 < int64_t(p.size()) && piece(tok, p[size_t(i_io + 1)]) == " and";
  const bool second = i_io >= 2 && piece(tok, p[size_t(i_io - 1)]) == " and";
  if (first == second) fail("ioi labels: cannot find \"[N1] and [N2]\" around the indirect object");
  const int64_t s1 = first ? i_io + 2 : i_io - 2;
  const auto s2 = int64_t(std::find(p.rbegin(), p.rend(), p[size_t(s1)]).base() - p.begin()) - 1;
  return {i_io, s1, s2, first};
}

// The control task's word type: the template, i.e. the prompt with its names
// blanked. A representation that tells templates apart lets a probe memorise
// a random label per template; selectivity subtracts what that buys.
std::string ioi_template(const std::vector<int32_t>& p, const IoiSlots& at) {
  std::string key;
  for (size_t i = 0; i < p.size(); ++i)
    key += (int64_t(i) == at.io || int64_t(i) == at.s1 || int64_t(i) == at.s2) ? "_ " : std::to_string(p[i]) + " ";
  return key;
}

ProbeExample ioi_example(const Tokenizer& tok, std::vector<int32_t> p, const IoiSlots& at) {
  ProbeExample ex;
  ex.control_key = ioi_template(p, at);
  ex.positions = {{"IO", at.io}, {"S1", at.s1}, {"S2", at.s2}, {"end", int64_t(p.size()) - 1}};
  ex.text = tok.decode(p, /*skip_special=*/true);
  ex.tokens = std::move(p);
  return ex;
}

}  // namespace

LabelSet ioi_io_labels(const Model& m, const LabelSetOptions& opt) {
  auto [tok, r, s] = organism_labels(
      m, "ioi", "ioi-io",
      "ioi's held-out prompts with the names set to four held-out names: which one is the indirect object?");
  // Four names the organism never saw in an IOI sentence; each prompt of the
  // recipe gets two of them, the indirect object cycling through all four.
  constexpr size_t kNames = 4;
  if (r.heldout_items.size() < kNames) fail("ioi-io: the ioi recipe holds out fewer than ", kNames, " names");
  std::vector<int32_t> names;
  for (size_t i = 0; i < kNames; ++i) {
    const std::vector<int32_t> ids = tok.encode(" " + r.heldout_items[i], /*add_special=*/false);
    if (ids.size() != 1) fail("ioi-io: the name '", r.heldout_items[i], "' is not one token of the model's tokenizer");
    names.push_back(ids[0]);
    s.classes.push_back(r.heldout_items[i]);
  }
  const size_t want = wanted(opt, 1024);
  std::mt19937_64 rng(opt.seed ^ 0x10ull);
  std::set<std::vector<int32_t>> seen;
  // Extra prompts: a few collide once their names are replaced.
  for (const Asked& a : draw_prompts(r, want + want / 4, opt.seed)) {
    if (s.examples.size() == want) break;
    const IoiSlots at = ioi_slots(tok, a);
    const auto io = int32_t(s.examples.size() % kNames);
    const auto other = int32_t((size_t(io) + 1 + rng() % (kNames - 1)) % kNames);
    std::vector<int32_t> p = a.prompt;
    p[size_t(at.io)] = names[size_t(io)];
    p[size_t(at.s1)] = p[size_t(at.s2)] = names[size_t(other)];
    if (!seen.insert(p).second) continue;
    ProbeExample ex = ioi_example(tok, std::move(p), at);
    ex.label = io;
    s.examples.push_back(std::move(ex));
  }
  return limited(s, opt);
}

LabelSet ioi_order_labels(const Model& m, const LabelSetOptions& opt) {
  auto [tok, r, s] = organism_labels(
      m, "ioi", "ioi-order", "ioi's held-out prompts: is the indirect object the first name (ABBA) or the second (BABA)?");
  s.classes = {"first", "second"};
  for (const Asked& a : draw_prompts(r, wanted(opt, 1024), opt.seed)) {
    const IoiSlots at = ioi_slots(tok, a);
    ProbeExample ex = ioi_example(tok, a.prompt, at);
    ex.label = at.io_first ? 0 : 1;
    s.examples.push_back(std::move(ex));
  }
  return limited(s, opt);
}

LabelSet facts_relation_labels(const Model& m, const LabelSetOptions& opt) {
  auto [tok, r, s] = organism_labels(
      m, "facts", "facts-relation",
      "facts' canonical prompts: which relation is asked about (lives in / works as / plays / eats)");
  // Canonical prompts are BOS, two subject tokens, then the relation's words.
  std::vector<std::pair<Asked, std::string>> rows;
  std::set<std::string> relations;
  for (Asked& a : draw_prompts(r, wanted(opt, 480), opt.seed)) {
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
    ex.group = tok.decode(std::vector<int32_t>(a.prompt.begin() + 1, a.prompt.begin() + 3), true);  // the subject
    ex.positions = {{"subject", 2}, {"end", int64_t(a.prompt.size()) - 1}};
    ex.text = tok.decode(a.prompt, true);
    ex.tokens = std::move(a.prompt);
    s.examples.push_back(std::move(ex));
  }
  return limited(s, opt);
}

}  // namespace glassbox::features
