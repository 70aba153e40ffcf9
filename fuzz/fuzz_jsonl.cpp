// JSON Lines files (for_each_jsonl_line): probe label files
// (features::read_label_jsonl) and contrastive pairs
// (steering::read_pairs_jsonl), both tokenized with a small organism's
// tokenizer, loaded once.
#include <cstdlib>
#include <memory>

#include "fuzz_common.h"
#include "glassbox/features/labels.h"
#include "glassbox/model.h"
#include "glassbox/steering/contrastive.h"

using namespace glassbox;

namespace {
std::unique_ptr<Model> g_model;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("GLASSBOX_FUZZ_MODEL");
  g_model = std::make_unique<Model>(Model::load(dir ? dir : GLASSBOX_SOURCE_DIR "/models/induction"));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_temp("data.jsonl", data, size);
  fuzz::accept_errors([&] {
    const features::LabelSet s = features::read_label_jsonl(path, *g_model);
    volatile size_t sink = s.examples.size();
    (void)sink;
  });
  fuzz::accept_errors([&] {
    volatile size_t sink = steering::read_pairs_jsonl(path, *g_model).size();
    (void)sink;
  });
  return 0;
}
