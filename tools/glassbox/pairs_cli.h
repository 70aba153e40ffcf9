// --pairs FILE for patch and circuit: a sweep over many prompt pairs, split
// across the ranks of an mpirun run (glassbox/dist.h) and gathered on rank 0
// in file order; one process runs them all. Same results either way: each
// pair is computed exactly as a single-pair run computes it.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "analysis_cli.h"

namespace glassbox::cli {

// Adds --pairs; --clean/--corrupt/--answer/--wrong then come from each line.
void add_pairs_flag(CLI::App& cmd, std::string& path);

// JSON Lines, one pair per line: {"clean": TEXT, "corrupt": TEXT, "answer":
// " Mary", "wrong": " John"} ("clean_tokens" / "corrupt_tokens" as ids
// instead of text). Error naming the file and line otherwise.
std::vector<PairFlags> read_pairs_file(const std::string& path);

// run(pair) -> its JSON for every pair of the file, over the ranks; rank 0
// prints {"pairs": [...]} (json) or summary(result) per line.
int run_pairs(const std::string& path, bool json, const std::function<nlohmann::json(const PairFlags&)>& run,
              const std::function<std::string(const nlohmann::json&)>& summary);

}  // namespace glassbox::cli
