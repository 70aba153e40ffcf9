// Report sections of a model diff (analysis/model_diff.h): where in the
// response the two models diverge, which components carry it, how far each
// weight matrix moved and which tokens the difference promotes.
#pragma once
#include "glassbox/analysis/model_diff.h"
#include "glassbox/features/crosscoder_diff.h"
#include "glassbox/model.h"
#include "glassbox/report.h"

namespace glassbox::pages {

// `tuned` names the lens's tokens (through its tokenizer; "#id" without one).
// The summary sentence states the start / rest KL ratio in numbers.
void add_model_diff_sections(report::Page& page, const Model& tuned, const analysis::ModelDiff& d);

// A crosscoder's view of the same diff: the relative decoder norms as a
// histogram, where each group of latents fires (response start or after),
// and the tuned-only and base-only latents that fire most.
void add_crosscoder_diff_sections(report::Page& page, const Model& tuned, const features::CrosscoderDiff& d);

// One sentence: how many latents are exclusive to each model and the share of
// the tuned-only latents' activation at the response start.
std::string crosscoder_diff_summary(const features::CrosscoderDiff& d);

// "The difference concentrates at the response start: mean KL 4.66 nats over
// response positions 0-7 against 0.32 after them (14.4x); largest at position 5."
std::string model_diff_summary(const analysis::ModelDiff& d);

}  // namespace glassbox::pages
