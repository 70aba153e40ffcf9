// Does the model know this? Subjects the facts organism was trained on
// against subjects it never saw, asked in the same prompt templates, and
// signals read from the model's internals that tell them apart, each scored
// by its AUROC on held-out subjects:
//
//  * a linear probe on the residual stream at the last subject token (and at
//    the final token), per layer (probe_sweep.h, split by subject);
//  * the entropy of the answer distribution (low: known) and its top
//    probability (high: known);
//  * the logit-lens layer where the answer settles: the first resid_post
//    from which every later layer's top token is the final answer (early:
//    known);
//  * the subject's mean answer entropy over all its prompts (what a monitor
//    that has seen several answers about one subject can use);
//  * given a sparse autoencoder at some site: its single most telling latent
//    (chosen on the training subjects, scored on the held-out ones) and a
//    probe on the whole latent code, at the subject and the final token. The
//    code is a nonlinear read of the stream, so it can see what a linear
//    probe on the stream cannot.
//
// The unseen subjects of `facts` (a word-level vocabulary holding only the
// names it was trained on) are new pairings of its own first and last names:
// each token is familiar, the person is not. A probe saved from here is the
// probe JSON `glassbox probe --json --with-probes` writes for a cell, plus
// where it reads: a monitor scores generation with it (score > 0: known).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/engine.h"
#include "glassbox/features/labels.h"
#include "glassbox/features/probe_sweep.h"
#include "glassbox/features/sae.h"

namespace glassbox::features {

// "facts-known": for every trained subject and as many unseen ones, its
// canonical prompt of each relation; label 1 (known) or 0 (unseen), group the
// subject, positions "subject" (its last token) and "end". Needs the zoo's
// corpora (to rebuild the recipe) and a model with facts' vocabulary.
LabelSet facts_known_labels(const Model& m, const LabelSetOptions& opt = {});
// "facts-lm-known": facts-lm's 120 people (the heldout.json beside the model,
// else the shipped one) against as many it never saw (one of its first names
// with a surname from the corpus's name list that no one has), the same
// prompts, each read as <|endoftext|> + text as facts-lm was trained.
LabelSet facts_lm_known_labels(const Model& m, const LabelSetOptions& opt = {});
// `spec` "facts-known", "facts-lm-known" (above) or a user's JSONL file whose labels are
// "known" and "unknown" (positions "subject" and "end"), returned with the
// classes ordered {unknown, known}. Error naming the file otherwise.
LabelSet known_label_set(const Model& m, const std::string& spec, const LabelSetOptions& opt = {});

struct KnowledgeOptions {
  double test_fraction = 0.25;  // of the subjects, held out
  uint64_t seed = 0;
  ProbeOptions probe;
  // Where the saved best probe may read: "" (either), "subject" or "end". A
  // generation monitor reads the prompt's last token first, then each new
  // one: a probe for it is fitted at "end".
  std::string probe_position;
  const Sae* sae = nullptr;  // also score this autoencoder's latents (at its hook); null: none
  std::function<void(const char*, int64_t, int64_t)> progress;  // (stage, done, total)
};

struct KnowledgeSignal {
  std::string name;     // "probe subject blocks.1.hook_resid_post", "entropy", "top_prob", "settle_layer",
                        // "entropy (subject mean)", "sae latent 17 subject", "sae probe end"
  std::string kind;     // "probe", "output" or "sae"
  double auroc = 0;     // held-out subjects' prompts, known as the positive class
  double accuracy = NAN;  // probes only: held-out accuracy
};

struct KnowledgeReport {
  std::string label_set, model;
  int64_t n_examples = 0, n_known = 0, n_unknown = 0, n_test = 0;
  std::vector<KnowledgeSignal> signals;  // probes by position and layer, then the output signals
  size_t best = 0;                       // the signal of highest AUROC
  // The best probe (at either position, or at KnowledgeOptions::probe_position) and where it reads.
  LinearProbe best_probe;
  std::string best_probe_hook, best_probe_position;
  double best_probe_auroc = 0;
  // Mean of each output signal over known / unseen subjects (all prompts).
  double entropy_known = 0, entropy_unknown = 0, settle_known = 0, settle_unknown = 0;
  // With an SAE: its hook, and the latent of highest held-out AUROC among the
  // ones chosen per position on the training subjects (-1: no SAE).
  std::string sae_hook;
  int64_t sae_latent = -1;
  std::string sae_latent_position;
  // Fields: technique ("knowledge"), label_set, model, n_examples, n_known,
  // n_unknown, n_test, signals [{name, kind, auroc, accuracy}], best (its
  // name and auroc), means {entropy_known, ...}, sae {hook, latent,
  // position} (null without an SAE).
  nlohmann::json to_json() const;
  // What a monitor loads: {format ("glassbox-probe"), label_set, classes
  // ["unknown", "known"], hook, position, auroc, probe (LinearProbe::to_json)}.
  nlohmann::json probe_json() const;
};

// Error for a label set without both classes or without the named positions,
// and for an SAE that is not an autoencoder or reads a site of another width.
KnowledgeReport knowledge_signals(Engine& e, const LabelSet& labels, const KnowledgeOptions& opt = {});

}  // namespace glassbox::features
