// Counterfactual edit requests and text for the facts organisms, from the
// same seeded task their recipes train on (src/zoo/facts_task.h).
#include <filesystem>
#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "glassbox/editing/evaluate.h"
#include "glassbox/error.h"
#include "glassbox/json_file.h"
#include "glassbox/zoo.h"

#include "zoo/facts_task.h"

namespace glassbox::editing {

namespace fs = std::filesystem;
namespace zd = zoo::detail;

namespace {

std::string fill(const std::string& tpl) {
  std::string s = tpl;
  return s.replace(s.find("[S]"), 3, "{}");
}

}  // namespace

std::string organism_of(const std::string& model_dir) {
  const nlohmann::json man = zoo::read_manifest();
  std::error_code ec;
  if (man.contains("organisms"))
    for (const auto& [name, entry] : man["organisms"].items()) {
      const fs::path dir = fs::path(zoo::models_dir()) / entry.value("dir", name);
      if (fs::exists(dir) && fs::equivalent(dir, model_dir, ec)) return name;
    }
  // An organism's copy elsewhere names itself in the fact list shipped beside it.
  const fs::path list = fs::path(model_dir) / "heldout.json";
  if (fs::exists(list)) return read_json_file(list.string()).value("organism", "");
  return "";
}

namespace {

// One fact of a facts organism as text: subject, relation, objects as the
// model's next token reads them (the object's first token for a BPE model).
struct TextFact {
  std::string subject;
  int relation = 0;
  std::string object;
};
struct TextFacts {
  std::vector<std::vector<std::string>> templates;  // per relation, "{}" for the subject; 0 is the edited one
  std::vector<std::vector<std::string>> objects;    // per relation
  std::vector<TextFact> facts;
  std::vector<std::string> subjects;
};

// The fact list a facts organism ships beside its model (heldout.json:
// relations with templates and objects, facts with their answer token).
TextFacts read_shipped_facts(const std::string& path) {
  const nlohmann::json j = read_json_file(path);
  if (!j.contains("relations") || !j.contains("facts")) fail(path, ": no 'relations' and 'facts' lists");
  TextFacts t;
  std::map<std::string, int> rel;
  for (const auto& r : j["relations"]) {
    rel[r.at("name").get<std::string>()] = int(t.templates.size());
    std::vector<std::string> tpls;
    for (const auto& x : r.at("templates")) tpls.push_back(fill(x.get<std::string>()));
    t.templates.push_back(tpls);
    t.objects.emplace_back();
  }
  std::map<std::string, int> subj;
  for (const auto& f : j["facts"]) {
    const std::string s = f.at("subject").get<std::string>(), r = f.at("relation").get<std::string>();
    if (!rel.count(r)) fail(path, ": fact of unknown relation '", r, "'");
    if (!subj.count(s)) subj[s] = int(t.subjects.size()), t.subjects.push_back(s);
    const std::string answer = f.at("answer").get<std::string>();
    auto& objs = t.objects[size_t(rel[r])];
    if (std::find(objs.begin(), objs.end(), answer) == objs.end()) objs.push_back(answer);
    t.facts.push_back({s, rel[r], answer});
  }
  return t;
}

// The facts organism's task as text.
TextFacts facts_task_text(const std::string& organism) {
  const zoo::Organism& o = zoo::find_organism(organism);
  const auto task = zd::build_fact_task(zoo::data_dir(), o.seed);
  TextFacts t;
  t.subjects = task->subject_text;
  for (int r = 0; r < zd::kFactRelations; ++r) {
    std::vector<std::string> tpls, objs;
    for (int k = 0; k < zd::kFactPhrasings; ++k) tpls.push_back(fill(zd::fact_template(r, k)));
    for (int32_t id : task->objects[size_t(r)]) objs.push_back(task->vocab.surface(id));
    t.templates.push_back(tpls);
    t.objects.push_back(objs);
  }
  for (const zd::Fact& f : task->facts)
    t.facts.push_back({task->subject_text[size_t(f.subject)], f.relation, task->vocab.surface(f.object)});
  return t;
}

std::vector<EditRequest> requests_from(const TextFacts& t, int n, uint64_t seed, int n_neighbours);

}  // namespace

std::vector<EditRequest> fact_requests(const std::string& organism, int n, uint64_t seed, int n_neighbours,
                                       const std::string& model_dir) {
  if (organism.empty()) fail("edit: the model is not a facts organism; its facts are the test set");
  // A retrained organism (zoo train --out DIR) names other people than the
  // shipped one: its own list comes first.
  const std::string list = zoo::heldout_path(model_dir, organism);
  if (organism != "facts" && fs::exists(list)) return requests_from(read_shipped_facts(list), n, seed, n_neighbours);
  if (organism != "facts")
    fail("edit: organism '", organism, "' has no facts to make counterfactual edits of (use the facts organism)");
  return requests_from(facts_task_text(organism), n, seed, n_neighbours);
}

namespace {

std::vector<EditRequest> requests_from(const TextFacts& t, int n, uint64_t seed, int n_neighbours) {
  const int n_facts = int(t.facts.size());
  if (n <= 0 || n > n_facts / 2)
    fail("edit: ", n, " edits asked for; the organism has ", n_facts, " facts (at most half can be edited)");
  std::mt19937_64 rng(seed);
  std::vector<int> order(static_cast<size_t>(n_facts));
  for (int i = 0; i < n_facts; ++i) order[size_t(i)] = i;
  zd::shuffle(order, rng);
  // One edit per subject, so neighbours can be subjects none of the edits touch.
  std::set<std::string> edited;
  std::vector<int> chosen;
  for (int i : order) {
    if (int(chosen.size()) == n) break;
    if (edited.insert(t.facts[size_t(i)].subject).second) chosen.push_back(i);
  }
  if (int(chosen.size()) < n) fail("edit: ", n, " edits asked for; the organism has ", chosen.size(), " subjects");
  // Each relation's facts, for neighbours.
  std::vector<std::vector<int>> by_relation(t.templates.size());
  for (int i = 0; i < n_facts; ++i)
    if (!edited.count(t.facts[size_t(i)].subject)) by_relation[size_t(t.facts[size_t(i)].relation)].push_back(i);
  std::vector<EditRequest> out;
  for (int i : chosen) {
    const TextFact& f = t.facts[size_t(i)];
    const auto& objs = t.objects[size_t(f.relation)];
    const auto& tpls = t.templates[size_t(f.relation)];
    if (objs.size() < 2) fail("edit: relation ", f.relation, " has one object; no counterfactual to write");
    EditRequest r;
    r.subject = f.subject;
    r.prompt = tpls[0];
    r.target_true = f.object;
    do r.target_new = objs[zd::below(rng, objs.size())];
    while (r.target_new == f.object);
    r.paraphrases.assign(tpls.begin() + 1, tpls.end());
    const auto& pool = by_relation[size_t(f.relation)];
    for (int tries = 0; int(r.neighbours.size()) < n_neighbours && tries < 50 * n_neighbours && !pool.empty(); ++tries) {
      const TextFact& g = t.facts[size_t(pool[zd::below(rng, pool.size())])];
      if (g.object == r.target_new) continue;  // the new object is this neighbour's answer anyway
      std::string p = tpls[0];
      p.replace(p.find("{}"), 2, g.subject);
      if (std::none_of(r.neighbours.begin(), r.neighbours.end(), [&](const auto& x) { return x.first == p; }))
        r.neighbours.push_back({p, g.object});
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

EditText organism_text(const std::string& organism, int64_t n_tokens, uint64_t seed) {
  // A shipped organism without a recipe in this build: its base's text (the
  // manifest's init_from), the pretraining text ROME's covariance wants.
  bool known = false;
  for (const zoo::Organism& x : zoo::organisms()) known |= x.name == organism;
  if (!known) {
    const nlohmann::json man = zoo::read_manifest();
    const auto& entry = man.value("organisms", nlohmann::json::object()).value(organism, nlohmann::json::object());
    if (entry.contains("init_from") && entry["init_from"].contains("organism"))
      return organism_text(entry["init_from"]["organism"].get<std::string>(), n_tokens, seed);
  }
  const zoo::Organism& o = zoo::find_organism(organism);
  if (!o.is_transformer()) fail("edit: organism '", organism, "' is not a transformer");
  const zoo::Recipe r = o.recipe(zoo::data_dir());
  EditText t;
  std::mt19937_64 rng(seed);
  int64_t got = 0;
  while (got < n_tokens) {
    const TrainBatch b = r.train_batches(rng);
    for (int64_t i = 0; i < b.batch.B && got < n_tokens; ++i) {
      std::vector<int32_t> row;
      for (int64_t j = 0; j < b.batch.T; ++j)
        if (b.batch.valid(i, j)) row.push_back(b.batch.tokens[size_t(i * b.batch.T + j)]);
      got += int64_t(row.size());
      t.covariance_rows.push_back(std::move(row));
    }
  }
  // Held-out text: a fine-tuned organism's base held-out text (what fluency
  // means for it); otherwise fresh draws of the training text.
  std::mt19937_64 rng2(seed + 1);
  if (!r.init_from.empty()) {
    const zoo::Recipe base = zoo::find_organism(r.init_from).recipe(zoo::data_dir());
    for (int i = 0; i < 4; ++i) t.heldout.push_back(base.eval_batches(rng2));
  } else {
    for (int i = 0; i < 4; ++i) t.heldout.push_back(r.train_batches(rng2));
  }
  // Generations start from each held-out row's first three tokens.
  for (const TrainBatch& b : t.heldout)
    for (int64_t i = 0; i < b.batch.B && t.generation_prompts.size() < 16; ++i)
      if (b.batch.T >= 3 && b.batch.valid(i, 2))
        t.generation_prompts.push_back({b.batch.tokens.begin() + i * b.batch.T, b.batch.tokens.begin() + i * b.batch.T + 3});
  return t;
}

}  // namespace glassbox::editing
