// glassbox harvest: activations of one or several hook sites over a corpus,
// written as sharded safetensors plus a manifest (glassbox/features/harvest.h).
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <memory>

#include "common.h"
#include "glassbox/dist.h"
#include "glassbox/error.h"
#include "glassbox/features/harvest.h"
#include "glassbox/progress.h"

namespace glassbox::cli {

namespace {

// The shared bar, counting this run's tokens for the rate (a resumed harvest
// starts part way), with the shard count after it. The bar ends at its total,
// so it is held one row short until the last shard is on disk.
void draw(ProgressBar& bar, const features::HarvestProgress& p) {
  bar.set_start(p.rows_done - p.rows_this_run);
  const bool written = p.shards_done == p.shards_total;
  bar.update(written ? p.rows_total : std::min(p.rows_done, p.rows_total - 1), p.rows_total,
             strf("shard %d/%d", p.shards_done, p.shards_total));
}

}  // namespace

Command add_harvest_command(CLI::App& parent) {
  struct Opts {
    std::vector<std::string> models, hooks;
    std::string corpus, tokens, out, dtype = "f32";
    int context = 128, batch = 8, bos_id = -1;
    int64_t max_tokens = 0, shard_tokens = 0;
    bool no_bos = false, exclude_bos = false, json = false, quiet = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand(
      "harvest", "Write activations of hook sites over a corpus to sharded safetensors (resumable)");
  cmd->add_option("-m,--model", o->models,
                  "Model checkpoint; repeat for several models over the same tokens (a crosscoder's): "
                  "sites are then named MODEL/hook")
      ->required();
  cmd->add_option("--hooks", o->hooks,
                  "Hook names or globs, e.g. 'blocks.*.hook_resid_post'; comma-separated or repeated")
      ->required()
      ->expected(1, -1)
      ->delimiter(',');
  auto* corpus = cmd->add_option("--corpus", o->corpus, "Text file, tokenised with the (first) model's tokenizer");
  auto* tokens = cmd->add_option("--tokens", o->tokens,
                                 "Token file: .bin (nanoGPT uint16, or llm.c with its header) or .safetensors "
                                 "(one integer tensor)");
  corpus->excludes(tokens);
  cmd->add_option("--context", o->context, "Tokens per sequence, BOS included")->capture_default_str();
  cmd->add_option("--batch", o->batch, "Sequences per forward pass")->capture_default_str();
  cmd->add_option("--max-tokens", o->max_tokens, "Stop after this many tokens (whole sequences; 0: the whole corpus)")
      ->capture_default_str();
  cmd->add_option("--dtype", o->dtype, "Storage dtype of the activations")
      ->check(CLI::IsMember({"f32", "bf16", "f16"}))
      ->capture_default_str();
  cmd->add_option("--shard-tokens", o->shard_tokens, "Rows (tokens) per shard (0: about 256 MiB per shard)")
      ->capture_default_str();
  cmd->add_flag("--no-bos", o->no_bos, "Do not start every sequence with BOS (default: prepend it, as SAELens does)");
  cmd->add_flag("--exclude-bos", o->exclude_bos, "Write no rows for the BOS positions (outlier activations)");
  cmd->add_option("--bos-id", o->bos_id, "BOS token id (default: the tokenizer's)");
  cmd->add_option("-o,--out", o->out, "Output directory (rerun with the same arguments to resume)")->required();
  cmd->add_flag("-q,--quiet", o->quiet, "No progress bar");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            if (o->corpus.empty() && o->tokens.empty()) fail("give --corpus FILE (text) or --tokens FILE (token ids)");
            // A file-size limit (ulimit -f) then fails the write, which harvest reports and
            // cleans up after, instead of killing the process with SIGXFSZ mid-shard.
            std::signal(SIGXFSZ, SIG_IGN);
            features::HarvestOptions ho;
            for (const std::string& m : o->models) ho.models.push_back(resolve_model_path(m));
            ho.hooks = o->hooks;
            ho.corpus = o->corpus.empty() ? o->tokens : o->corpus;
            if (!o->tokens.empty() && !features::is_token_file(o->tokens))
              fail("--tokens ", o->tokens, ": expected a .bin or .safetensors token file (text goes to --corpus)");
            if (!o->corpus.empty() && features::is_token_file(o->corpus))
              fail("--corpus ", o->corpus, ": looks like a token file; pass it as --tokens");
            ho.stream.context = o->context;
            ho.stream.batch = o->batch;
            ho.stream.max_tokens = o->max_tokens;
            ho.stream.prepend_bos = !o->no_bos;
            ho.stream.exclude_bos = o->exclude_bos;
            ho.stream.bos_id = o->bos_id;
            ho.dtype = from_string<DType>(o->dtype);
            ho.shard_rows = o->shard_tokens;
            ho.out_dir = o->out;
            ho.ranks = &dist::world();  // under mpirun: this rank's share of the shards
            const bool show = !o->quiet && !o->json && ho.ranks->root();
            ProgressBar bar("harvest", "tokens", show ? ProgressWhen::Always : ProgressWhen::Never);
            const features::HarvestResult r =
                features::harvest(ho, [&bar](const features::HarvestProgress& p) { draw(bar, p); });
            if (!ho.ranks->root()) return 0;  // rank 0 reports for all
            const nlohmann::json& m = r.manifest;
            if (o->json) {
              print_json({{"out", o->out},
                          {"rows", r.rows},
                          {"shards", r.shards_total},
                          {"shards_written", r.shards_written},
                          {"shards_kept", r.shards_kept},
                          {"seconds", r.seconds},
                          {"manifest", m}});
              return 0;
            }
            std::printf("%s: %s rows of %zu site(s) in %d shard(s), %s", o->out.c_str(), count_str(double(r.rows)).c_str(),
                        m["hooks"].size(), r.shards_total, std::string(m["dtype"]).c_str());
            if (r.shards_kept) std::printf(" (%d shard(s) kept from an earlier run)", r.shards_kept);
            std::printf(", %.1f s\n", r.seconds);
            for (size_t s = 0; s < m["hooks"].size(); ++s)
              std::printf("  %-40s [%lld, %lld]\n", std::string(m["hooks"][s]).c_str(), (long long)r.rows,
                          (long long)m["dims"][s].get<int64_t>());
            return 0;
          }};
}

}  // namespace glassbox::cli
