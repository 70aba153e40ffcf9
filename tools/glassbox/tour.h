// The guided tour behind `glassbox tour`: make (or reuse) a small checkpoint,
// then walk through what glassbox does with it. Demo logic of the CLI, not
// library code.
#pragma once
#include <string>

namespace glassbox::cli {

struct TourOptions {
  std::string out = "out/tour";  // the checkpoint goes to <out>/tiny-gpt2, the cache to <out>/cache.safetensors
  std::string prompt = "The quick brown fox jumps over the lazy dog";
  int new_tokens = 16;
  bool json = false;
};

int run_tour(const TourOptions& o);

}  // namespace glassbox::cli
