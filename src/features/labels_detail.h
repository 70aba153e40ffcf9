// Internal: what the label-set builders share.
#pragma once
#include <string>

#include "glassbox/features/labels.h"
#include "glassbox/tokenizer.h"

namespace glassbox::features::detail {

// The model's tokenizer; Error naming `what` when it has none.
const Tokenizer& label_tokenizer(const Model& m, const std::string& what);
// Sets every example's tokens from its text (with the tokenizer's special
// tokens), cut to the model's context.
void tokenize_examples(LabelSet& s, const Model& m);
// data_dir/rel; Error telling the user to run scripts/label-data.sh when absent.
std::string data_file(const LabelSetOptions& opt, const std::string& rel, const char* what);

}  // namespace glassbox::features::detail
