// The guided tour behind `glassbox tour`: make (or reuse) a small checkpoint,
// then walk through what glassbox does with it. Demo logic of the CLI, not
// library code.
#pragma once
#include <string>

namespace glassbox::cli {

struct TourOptions {
  // The model is the shipped ioi organism; without one, random weights are
  // written to <out>/tiny-gpt2. The cache goes to <out>/cache.safetensors.
  std::string out = "out/tour";
  std::string prompt;  // empty: an IOI sentence for the organism, a pangram for random weights
  int new_tokens = 16;
  bool json = false;
};

int run_tour(const TourOptions& o);

}  // namespace glassbox::cli
