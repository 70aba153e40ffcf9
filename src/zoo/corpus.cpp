// The corpora the recipes read (scripts/zoo-data.sh puts them in data/zoo-src):
// WordNet 3.0's noun index and data files (Debian wordnet-base) and the
// @stdlib first-name lists (npm). Formats: wndb(5WN) and a JSON array of strings.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <unordered_map>

#include "glassbox/error.h"
#include "glassbox/json_file.h"
#include "zoo/detail.h"

namespace fs = std::filesystem;

namespace glassbox::zoo::detail {

std::string corpus_file(const std::string& data_dir, const std::string& rel) {
  const fs::path p = fs::path(data_dir) / rel;
  if (!fs::exists(p))
    fail("zoo: corpus file ", p.string(), " is missing; run scripts/zoo-data.sh to fetch the organisms' corpora ",
         "(or point GLASSBOX_ZOO_DATA at a directory holding them)");
  return p.string();
}

namespace {

bool plain_name(const std::string& s) {
  if (s.size() < 3 || s.size() > 7 || !std::isupper(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin() + 1, s.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

bool single_word(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct Synset {
  std::vector<std::string> words;
  std::vector<uint32_t> hyponyms;  // "~" and "~i" pointers to nouns
};

// Parsed once per data_dir: the files are 20 MB and several recipes use them.
struct WordNet {
  std::unordered_map<uint32_t, Synset> synsets;
  std::unordered_map<std::string, std::pair<int, uint32_t>> index;  // lemma -> (tagsense_cnt, first synset)
  std::vector<std::string> lemmas;
};

const WordNet& wordnet(const std::string& data_dir) {
  static std::mutex mu;
  static std::map<std::string, WordNet> cache;
  std::lock_guard lock(mu);
  if (auto it = cache.find(data_dir); it != cache.end()) return it->second;
  WordNet wn;
  {
    const std::string path = corpus_file(data_dir, "wordnet/index.noun");
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == ' ') continue;  // license header
      std::istringstream ls(line);
      std::string lemma, pos;
      int synset_cnt = 0, p_cnt = 0, sense_cnt = 0, tagsense_cnt = 0;
      ls >> lemma >> pos >> synset_cnt >> p_cnt;
      std::string sym;
      for (int i = 0; i < p_cnt; ++i) ls >> sym;
      uint32_t first = 0;
      ls >> sense_cnt >> tagsense_cnt >> first;
      if (!ls) fail(path, ": malformed line '", line.substr(0, 60), "'");
      wn.index[lemma] = {tagsense_cnt, first};
      wn.lemmas.push_back(lemma);
    }
  }
  {
    const std::string path = corpus_file(data_dir, "wordnet/data.noun");
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == ' ') continue;
      std::istringstream ls(line);
      uint32_t offset = 0;
      std::string lexfile, ss_type, w_cnt_hex;
      ls >> offset >> lexfile >> ss_type >> w_cnt_hex;
      Synset s;
      const int w_cnt = std::stoi(w_cnt_hex, nullptr, 16);
      for (int i = 0; i < w_cnt; ++i) {
        std::string word, lex_id;
        ls >> word >> lex_id;
        s.words.push_back(word);
      }
      int p_cnt = 0;
      ls >> p_cnt;
      for (int i = 0; i < p_cnt; ++i) {
        std::string sym, pos, st;
        uint32_t target = 0;
        ls >> sym >> target >> pos >> st;
        if ((sym == "~" || sym == "~i") && pos == "n") s.hyponyms.push_back(target);
      }
      if (!ls) fail(path, ": malformed synset at offset ", offset);
      wn.synsets[offset] = std::move(s);
    }
  }
  return cache.emplace(data_dir, std::move(wn)).first->second;
}

int tag_count(const WordNet& wn, const std::string& word) {
  const auto it = wn.index.find(lower(word));
  return it == wn.index.end() ? 0 : it->second.first;
}

std::vector<std::string> by_frequency(const WordNet& wn, std::set<std::string> words) {
  std::vector<std::string> out(words.begin(), words.end());
  std::stable_sort(out.begin(), out.end(),
                   [&](const std::string& a, const std::string& b) { return tag_count(wn, a) > tag_count(wn, b); });
  return out;
}

}  // namespace

std::vector<std::string> first_names(const std::string& data_dir) {
  std::set<std::string> names;
  for (const char* sex : {"male", "female"}) {
    const std::string path = corpus_file(data_dir, std::string("names/") + sex + ".json");
    nlohmann::json j;
    try {
      j = read_json_file(path);
    } catch (const Error& e) {
      fail(e.what(), "; delete it and run scripts/zoo-data.sh again");
    }
    if (!j.is_array()) fail(path, ": expected a JSON array of names");
    for (const auto& n : j)
      if (n.is_string() && plain_name(n.get<std::string>())) names.insert(n.get<std::string>());
  }
  return {names.begin(), names.end()};
}

std::vector<std::string> wordnet_hyponyms(const std::string& data_dir, const std::string& root) {
  const WordNet& wn = wordnet(data_dir);
  const auto it = wn.index.find(root);
  if (it == wn.index.end()) fail("zoo: WordNet has no noun '", root, "'");
  std::set<std::string> words;
  std::set<uint32_t> seen;
  std::vector<uint32_t> todo{it->second.second};
  while (!todo.empty()) {
    const uint32_t off = todo.back();
    todo.pop_back();
    if (!seen.insert(off).second) continue;
    const auto s = wn.synsets.find(off);
    if (s == wn.synsets.end()) continue;
    if (off != it->second.second)
      for (const auto& w : s->second.words)
        if (single_word(w)) words.insert(w);
    for (uint32_t h : s->second.hyponyms) todo.push_back(h);
  }
  return by_frequency(wn, std::move(words));
}

std::vector<std::string> wordnet_common_nouns(const std::string& data_dir, size_t n) {
  const WordNet& wn = wordnet(data_dir);
  std::set<std::string> words;
  for (const auto& l : wn.lemmas)
    if (single_word(l) && l.size() >= 3 && l.size() <= 8 && lower(l) == l && tag_count(wn, l) > 0) words.insert(l);
  auto out = by_frequency(wn, std::move(words));
  if (out.size() > n) out.resize(n);
  return out;
}

}  // namespace glassbox::zoo::detail
