#include "pairs_cli.h"

#include <cstdio>

#include "common.h"
#include "glassbox/dist_map.h"
#include "glassbox/error.h"
#include "glassbox/json_file.h"

namespace glassbox::cli {

void add_pairs_flag(CLI::App& cmd, std::string& path) {
  cmd.add_option("--pairs", path,
                 "JSON Lines of prompt pairs ({\"clean\", \"corrupt\", \"answer\", \"wrong\"} per line) instead of "
                 "--clean/--corrupt/--answer/--wrong; under mpirun the pairs are split across the ranks");
  // Each line carries its own answer: the flag is required only without --pairs (checked when run).
  cmd.get_option("--answer")->required(false);
  if (CLI::Option* w = cmd.get_option("--wrong")) w->required(false);
}

std::vector<PairFlags> read_pairs_file(const std::string& path) {
  std::vector<PairFlags> pairs;
  for_each_jsonl_line(path, [&](const nlohmann::json& j, const std::string& where) {
    if (!j.is_object()) fail(where, ": expected an object {\"clean\", \"corrupt\", \"answer\", \"wrong\"}");
    PairFlags p;
    auto get = [&](const char* key, std::string& field) {
      if (!j.contains(key)) return;
      if (j[key].is_string()) {
        field = j[key].get<std::string>();
      } else if (j[key].is_array()) {  // token ids: [1, 2, 3] -> "1,2,3", as the flags take them
        for (const nlohmann::json& id : j[key]) {
          if (!id.is_number_integer()) fail(where, ": \"", key, "\" must hold integer token ids");
          field += (field.empty() ? "" : ",") + std::to_string(id.get<int64_t>());
        }
      } else {
        fail(where, ": \"", key, "\" must be a string (or an array of token ids)");
      }
    };
    get("clean", p.clean);
    get("corrupt", p.corrupt);
    get("clean_tokens", p.clean_tokens);
    get("corrupt_tokens", p.corrupt_tokens);
    get("answer", p.answer);
    get("wrong", p.wrong);
    if ((p.clean.empty() && p.clean_tokens.empty()) || (p.corrupt.empty() && p.corrupt_tokens.empty()))
      fail(where, ": needs \"clean\" (or \"clean_tokens\") and \"corrupt\" (or \"corrupt_tokens\")");
    if (p.answer.empty()) fail(where, ": needs \"answer\"");
    pairs.push_back(p);
  });
  if (pairs.empty()) fail(path, ": no prompt pairs");
  return pairs;
}

int run_pairs(const std::string& path, bool json, const std::function<nlohmann::json(const PairFlags&)>& run,
              const std::function<std::string(const nlohmann::json&)>& summary) {
  const std::vector<PairFlags> pairs = read_pairs_file(path);
  const dist::Comm& comm = dist::world();
  const std::vector<std::string> results = dist::map_gather(
      comm, int64_t(pairs.size()), [&](int64_t i) { return run(pairs[size_t(i)]).dump(); });
  if (!comm.root()) return 0;  // rank 0 reports for all
  nlohmann::json all = nlohmann::json::array();
  for (const std::string& r : results) all.push_back(nlohmann::json::parse(r));
  if (json) {
    print_json({{"pairs", all}, {"ranks", comm.size()}});
    return 0;
  }
  for (size_t i = 0; i < all.size(); ++i) std::printf("pair %zu: %s\n", i, summary(all[i]).c_str());
  return 0;
}

}  // namespace glassbox::cli
