// glassbox sae train|eval|info: sparse dictionaries (SAEs, transcoders,
// crosscoders) in SAELens' directory layout.
//
//   glassbox sae train --activations acts.safetensors --hook blocks.2.hook_resid_post
//                      --arch topk --k 32 --expansion 16 --tokens 2M --out DIR
//   glassbox sae train --model models/tiny-lm --hook blocks.2.hook_resid_post --corpus text.txt
//                      --arch topk --k 32 --tokens 2M --out DIR
//   glassbox sae eval DIR --activations acts.safetensors
//   glassbox sae eval DIR --model models/tiny-lm --corpus heldout.txt --max-tokens 16K
//   glassbox sae info DIR
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>

#include "common.h"
#include "glassbox/dist.h"
#include "glassbox/error.h"
#include "glassbox/features/dictionary_eval.h"
#include "glassbox/features/dictionary_train.h"
#include "glassbox/features/memory_stream.h"
#include "glassbox/features/model_stream.h"
#include "glassbox/features/saelens.h"
#include "glassbox/features/shards.h"
#include "glassbox/features/shuffle.h"
#include "glassbox/features/splice.h"
#include "glassbox/features/superposition.h"
#include "glassbox/json_file.h"

namespace fs = std::filesystem;

namespace glassbox::cli {

namespace {

using namespace glassbox::features;

// Where activations come from: a safetensors file (one tensor per site, named
// by its hook), a harvest directory (glassbox harvest), or the model itself run
// over a corpus. Training reads harvests and live streams through a shuffling
// buffer: both come in corpus order, and neighbouring tokens are correlated.
struct StreamFlags {
  std::string activations, harvest, model, corpus, corpus_tokens;
  int64_t context = 128, shuffle_rows = 65536, seed = 0;
  bool exclude_bos = false;
};

void add_stream_flags(CLI::App& cmd, StreamFlags& s, bool training) {
  cmd.add_option("--activations", s.activations,
                 "Activations file (safetensors; one [N, d] tensor per site, named by its hook)");
  cmd.add_option("--harvest", s.harvest, "Harvest directory (glassbox harvest) to read activations from");
  cmd.add_option("--model", s.model, "Model to stream activations from (with --corpus; models/superposition draws its own samples)");
  cmd.add_option("--corpus", s.corpus, "Text or token file (.bin, .safetensors) for --model");
  cmd.add_option("--context", s.context, "Tokens per sequence for --model, BOS included")
      ->capture_default_str()
      ->check(CLI::Range(2, 1 << 20));
  cmd.add_flag("--exclude-bos", s.exclude_bos, "--model: no rows for the BOS positions");
  // --max-tokens as in glassbox harvest (--tokens already means training tokens).
  cmd.add_option("--max-tokens", s.corpus_tokens,
                 training ? "--model: read at most this many corpus tokens, then start over (e.g. 500K)"
                          : "--model: evaluate on at most this many corpus tokens (e.g. 16K); superposition: "
                            "samples (default 100K)");
  if (training) {
    cmd.add_option("--shuffle-rows", s.shuffle_rows, "Shuffling buffer for --model and --harvest (rows; 0: none)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
  }
}

int64_t parse_count(const std::string& s, const char* flag);

bool is_superposition(const std::string& model_dir) {
  const fs::path cfg = fs::path(model_dir) / "config.json";
  if (!fs::exists(cfg)) return false;
  const nlohmann::json j = read_json_file(cfg.string());
  return j.is_object() && j.value("model_type", "") == "toy_superposition";
}

// `sites`: the hooks the dictionaries read (the model stream runs just these).
std::unique_ptr<ActivationStream> open_stream(const StreamFlags& s, const std::vector<std::string>& sites,
                                              bool shuffle) {
  const int given = int(!s.activations.empty()) + int(!s.harvest.empty()) + int(!s.model.empty());
  if (given > 1) fail("sae: give one of --activations FILE, --harvest DIR or --model M --corpus FILE");
  if (s.model.empty() && !s.corpus.empty()) fail("sae: --corpus needs --model");
  if (!s.activations.empty()) return std::make_unique<MemoryStream>(load_activation_file(s.activations, sites));
  std::unique_ptr<ActivationStream> src;
  if (!s.harvest.empty()) {
    src = std::make_unique<ShardStream>(s.harvest, sites);
  } else if (!s.model.empty() && is_superposition(s.model)) {
    // The toy organism has no tokens: its stream draws fresh samples (already in random order).
    if (!s.corpus.empty()) fail("sae: ", s.model, " is the superposition organism; it takes no --corpus");
    for (const auto& h : sites)
      if (h != "hook_hidden") fail("sae: ", s.model, " has one site, hook_hidden, not '", h, "'");
    // Endless for training; evaluation reads --tokens samples (default 100K) from another seed.
    const int64_t rows = !s.corpus_tokens.empty() ? parse_count(s.corpus_tokens, "--max-tokens") : shuffle ? 0 : 100'000;
    return std::make_unique<SuperpositionStream>(zoo::SuperpositionModel::load(s.model),
                                                 shuffle ? uint64_t(s.seed) : uint64_t(s.seed) + 1000003, rows);
  } else if (!s.model.empty()) {
    if (s.corpus.empty()) fail("sae: --model needs --corpus FILE (text or tokens)");
    if (sites.empty()) fail("sae: --model needs --hook (which site to stream)");
    ModelStreamOptions mo;
    mo.context = int(s.context);
    mo.exclude_bos = s.exclude_bos;
    mo.max_tokens = s.corpus_tokens.empty() ? 0 : parse_count(s.corpus_tokens, "--max-tokens");
    src = std::make_unique<ModelActivationStream>(s.model, sites, s.corpus, mo);
  } else {
    fail("sae: no activations: pass --activations FILE, --harvest DIR or --model M --corpus FILE");
  }
  if (!shuffle || s.shuffle_rows == 0) return src;
  return std::make_unique<ShuffleBuffer>(std::move(src), s.shuffle_rows, uint64_t(s.seed));
}

// "2M" = 2,000,000 tokens; K, M, G are powers of 1000.
int64_t parse_count(const std::string& s, const char* flag) {
  if (s.empty()) fail(flag, ": empty");
  double mult = 1;
  std::string num = s;
  const char last = char(std::toupper(static_cast<unsigned char>(s.back())));
  if (last == 'K' || last == 'M' || last == 'G') {
    mult = last == 'K' ? 1e3 : last == 'M' ? 1e6 : 1e9;
    num.pop_back();
  }
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(num, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != num.size() || !(v > 0)) fail(flag, ": expected a positive count like 4096, 500K or 2M, got '", s, "'");
  return int64_t(std::llround(v * mult));
}

Command add_train(CLI::App& sae) {
  struct Opts {
    StreamFlags stream;
    std::vector<std::string> hooks, sources;
    std::string target, arch = "topk", tokens = "2M", out, decay = "constant", b_dec_init = "geometric_median";
    int64_t k = 32, expansion = 16, d_sae = 0, batch = 4096, aux_k = 0, checkpoint_every = 0, stop_at = 0;
    int64_t warmup = 0, seed = 0;
    std::string dead_after = "10M";
    float lr = 4e-4f, l1 = 5.f, l0 = 1e-3f, bandwidth = 1e-3f, threshold_init = 1e-3f, min_lr_ratio = 0.f;
    bool normalize = false, no_resume = false, json = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = sae.add_subcommand("train", "Train SAEs, transcoders or crosscoders on activations");
  cmd->footer(
      "One dictionary per --hook (several train from the same batches); --target makes a transcoder "
      "(reads --hook, predicts --target); --sources A,B makes a crosscoder over those sites. Writes "
      "OUT (one dictionary) or OUT/<hook>/ in SAELens' layout; OUT/checkpoint holds the training state, "
      "and a rerun resumes from it.");
  add_stream_flags(*cmd, o->stream, true);
  cmd->add_option("--hook", o->hooks, "Input site(s): one dictionary each (default: the file's only tensor)");
  cmd->add_option("--target", o->target, "Transcoder target site (e.g. blocks.0.hook_mlp_out)");
  cmd->add_option("--sources", o->sources, "Crosscoder source sites")->delimiter(',');
  cmd->add_option("--arch", o->arch, "relu | topk | batchtopk | jumprelu")->capture_default_str();
  cmd->add_option("--k", o->k, "Latents per token (topk, batchtopk)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--expansion", o->expansion, "d_sae = expansion * d_in")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--d-sae", o->d_sae, "Number of latents (overrides --expansion)")->check(CLI::PositiveNumber);
  cmd->add_option("--tokens", o->tokens, "Training tokens (e.g. 500K, 2M)")->capture_default_str();
  cmd->add_option("--batch", o->batch, "Tokens per step")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--lr", o->lr, "Adam learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--warmup-steps", o->warmup, "Linear lr warmup steps")->capture_default_str();
  cmd->add_option("--decay", o->decay, "lr decay after warmup: constant | linear | cosine")->capture_default_str();
  cmd->add_option("--min-lr-ratio", o->min_lr_ratio, "Final lr / lr for linear and cosine decay")->capture_default_str();
  cmd->add_option("--l1", o->l1, "relu: L1 coefficient (weighted by decoder norms)")->capture_default_str();
  cmd->add_option("--l0", o->l0, "jumprelu: L0 coefficient")->capture_default_str();
  cmd->add_option("--bandwidth", o->bandwidth, "jumprelu: straight-through kernel width")->capture_default_str();
  // The threshold trains in log space, so Adam moves it by ~lr per step: short runs need a sensible start.
  cmd->add_option("--threshold-init", o->threshold_init, "jumprelu: initial threshold (Gemma Scope: 1e-3)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--aux-k", o->aux_k, "Auxiliary-k loss on dead latents (0: off; Gao et al. use 512)")->capture_default_str();
  cmd->add_option("--dead-after", o->dead_after, "A latent silent for this many tokens is dead")->capture_default_str();
  cmd->add_option("--b-dec-init", o->b_dec_init, "geometric_median | mean | zeros")->capture_default_str();
  cmd->add_flag("--normalize", o->normalize, "Scale inputs to E|x| = sqrt(d_in) (folded into the saved weights)");
  cmd->add_option("--seed", o->seed, "Initialisation seed")->capture_default_str();
  cmd->add_option("--out", o->out, "Output directory")->required();
  cmd->add_option("--checkpoint-every", o->checkpoint_every, "Checkpoint every N steps (0: at the end)");
  cmd->add_option("--stop-at", o->stop_at, "Pause after this step (checkpointed; rerun to resume)");
  cmd->add_flag("--no-resume", o->no_resume, "Start afresh even if OUT/checkpoint exists");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            std::vector<std::string> sites = o->sources.empty() ? o->hooks : o->sources;
            if (!o->target.empty()) sites.push_back(o->target);
            if (!o->sources.empty() && (!o->hooks.empty() || !o->target.empty()))
              fail("sae train: --sources (a crosscoder) takes no --hook or --target");
            if (!o->target.empty() && o->hooks.size() != 1) fail("sae train: --target needs exactly one --hook");
            o->stream.seed = o->seed;
            std::unique_ptr<ActivationStream> stream = open_stream(o->stream, sites, true);
            std::vector<std::string> hooks = o->hooks;
            if (hooks.empty() && o->sources.empty()) {
              if (stream->site_names().size() != 1)
                fail("sae train: the activations hold several sites; pick one or more with --hook");
              hooks = stream->site_names();
            }
            auto site_dim = [&](const std::string& h) {
              const auto& n = stream->site_names();
              for (size_t i = 0; i < n.size(); ++i)
                if (n[i] == h) return stream->dims()[i];
              fail("sae train: site '", h, "' is not in the activations");
            };
            DictionarySpec base;
            base.sae.arch = from_string<SaeArch>(o->arch);
            base.sae.k = o->k;
            base.loss.l1_coefficient = o->l1;
            base.loss.l0_coefficient = o->l0;
            base.loss.jumprelu_bandwidth = o->bandwidth;
            base.jumprelu_init_threshold = o->threshold_init;
            base.loss.aux_k = o->aux_k;
            base.optimizer.lr = o->lr;
            base.schedule = {int(o->warmup), o->min_lr_ratio, from_string<Decay>(o->decay)};
            base.dead_after_tokens = parse_count(o->dead_after, "--dead-after");
            base.b_dec_init = from_string<BDecInit>(o->b_dec_init);
            base.normalize_activations = o->normalize;
            base.seed = uint64_t(o->seed);
            if (!o->stream.model.empty()) {  // provenance, as SAELens records it in cfg.json
              base.sae.model_name = fs::path(o->stream.model).lexically_normal().filename().string();
              if (base.sae.model_name.empty()) base.sae.model_name = fs::path(o->stream.model).parent_path().filename().string();
              base.sae.context_size = o->stream.context;
              base.sae.dataset_path = o->stream.corpus;
              base.sae.prepend_bos = true;
            }
            std::vector<DictionarySpec> specs;
            auto finish = [&](DictionarySpec s, const std::string& name) {
              s.sae.d_sae = o->d_sae > 0 ? o->d_sae : o->expansion * s.sae.d_in;
              s.name = name;
              specs.push_back(s);
            };
            if (!o->sources.empty()) {
              DictionarySpec s = base;
              s.sae.n_sources = int64_t(o->sources.size());
              s.sae.source_names = o->sources;
              s.sae.hook_name = o->sources[0];
              s.sae.d_in = site_dim(o->sources[0]);
              finish(s, "");
            } else {
              for (const auto& h : hooks) {
                DictionarySpec s = base;
                s.sae.hook_name = h;
                if (h.rfind("blocks.", 0) == 0) s.sae.hook_layer = std::atoll(h.c_str() + 7);  // blocks.N.*
                s.sae.d_in = site_dim(h);
                if (!o->target.empty()) s.sae.hook_name_out = o->target, s.sae.d_out = site_dim(o->target);
                finish(s, hooks.size() > 1 ? h : "");
              }
            }
            TrainDictionariesOptions topt;
            topt.batch_rows = o->batch;
            topt.total_tokens = parse_count(o->tokens, "--tokens");
            topt.out_dir = o->out;
            topt.checkpoint_every = o->checkpoint_every;
            topt.stop_at_step = o->stop_at;
            topt.resume = !o->no_resume;
            topt.ranks = &dist::world();  // under mpirun: data-parallel, gradients summed across ranks
            topt.progress = topt.ranks->root();
            const TrainDictionariesResult r = train_dictionaries(*stream, specs, topt);
            if (!topt.ranks->root()) return 0;  // rank 0 reports for all
            nlohmann::json out = r.to_json();
            out["out_dir"] = o->out;
            out["finished"] = r.steps_done == topt.steps();
            if (o->json) {
              print_json(out);
              return 0;
            }
            std::printf("%s %lld/%lld steps (%.0f tokens/s)%s\n", out["finished"].get<bool>() ? "trained" : "paused at",
                        (long long)r.steps_done, (long long)topt.steps(), r.tokens_per_s, r.resumed ? ", resumed" : "");
            for (const auto& d : r.dictionaries) {
              const DictionaryLogEntry e = d.log.empty() ? DictionaryLogEntry{} : d.log.back();
              std::printf("  %-32s %-9s d_sae %-6lld mse %.4g  l0 %.1f  dead %.1f%%\n",
                          (d.name.empty() ? d.sae.cfg.hook_name : d.name).c_str(), to_string(d.sae.cfg.arch),
                          (long long)d.sae.cfg.d_sae, e.mse, e.l0, 100 * e.dead_fraction);
            }
            std::printf("%s %s\n", out["finished"].get<bool>() ? "saved" : "checkpoint in", o->out.c_str());
            return 0;
          }};
}

Command add_eval(CLI::App& sae) {
  struct Opts {
    std::string dir, rows = "0";
    StreamFlags stream;
    bool json = false, frequency = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = sae.add_subcommand("eval", "Stream metrics of a dictionary: L0, MSE, explained variance, dead / dense latents");
  cmd->footer(
      "With --model and --corpus, also splices the reconstruction into the forward pass at the "
      "dictionary's hook: cross-entropy loss recovered and KL against the clean and zero-ablated runs, "
      "with and without the error term.");
  cmd->add_option("dir", o->dir, "SAELens directory (cfg.json + sae_weights.safetensors)")->required();
  add_stream_flags(*cmd, o->stream, false);
  cmd->add_option("--rows", o->rows, "Evaluate at most this many tokens (0: all)");
  cmd->add_flag("--frequency", o->frequency, "With --json: every latent's firing frequency");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const Sae s = load_saelens(o->dir);
            std::vector<std::string> sites = s.cfg.n_sources > 1 ? s.cfg.source_names : std::vector<std::string>{s.cfg.hook_name};
            if (!s.cfg.hook_name_out.empty()) sites.push_back(s.cfg.hook_name_out);
            std::unique_ptr<ActivationStream> stream = open_stream(o->stream, sites, false);
            DictionaryEvalOptions eo;
            eo.max_rows = o->rows == "0" ? 0 : parse_count(o->rows, "--rows");
            const DictionaryMetrics m = evaluate_dictionary(s, *stream, eo);
            // The splice needs the model and its token sequences: only a live stream has them, and
            // only an autoencoder's reconstruction replaces the site it reads.
            std::optional<SpliceMetrics> splice;
            if (const auto* live = dynamic_cast<const ModelActivationStream*>(stream.get());
                live && s.cfg.autoencoder() && s.cfg.n_sources == 1) {
              std::vector<std::vector<int32_t>> seqs;
              for (int64_t q = 0; q < live->sequences(); ++q) seqs.push_back(live->sequence(q));
              Engine e(*live->models().front());
              splice = evaluate_splice(e, load_sae_codec(o->dir), s.cfg.hook_name, seqs);
            }
            if (o->json) {
              nlohmann::json j = m.to_json(o->frequency);
              if (splice) j["splice"] = splice->to_json();
              print_json(j);
              return 0;
            }
            std::printf("%s (%s, d_sae %lld) over %lld tokens\n", o->dir.c_str(), to_string(s.cfg.arch),
                        (long long)s.cfg.d_sae, (long long)m.rows);
            std::printf("  L0 %.2f  MSE %.5g  explained variance %.4f  (FVU %.4f)\n", m.l0, m.mse, m.explained_variance, m.fvu);
            std::printf("  dead latents %.2f%%  dense (> %.0f%% of tokens) %.2f%%\n", 100 * m.dead_fraction,
                        100 * eo.dense_frequency, 100 * m.dense_fraction);
            if (splice)
              std::printf("  spliced at %s over %lld predictions: CE loss recovered %.4f  (clean %.4f, spliced %.4f, "
                          "zero-ablated %.4f nats; with the error term %.4f)\n  KL(clean || spliced) %.4f  with the "
                          "error term %.2g  zero-ablated %.4f\n",
                          s.cfg.hook_name.c_str(), (long long)splice->tokens, splice->ce_loss_recovered, splice->ce_clean,
                          splice->ce_spliced, splice->ce_ablated, splice->ce_spliced_with_error, splice->kl_spliced,
                          splice->kl_spliced_with_error, splice->kl_ablated);
            std::printf("  feature density (log10 frequency):\n");
            int64_t top = 1;
            for (int64_t c : m.hist_counts) top = std::max(top, c);
            for (size_t b = 0; b < m.hist_counts.size(); ++b) {
              if (m.hist_counts[b] == 0) continue;
              std::printf("    [%5.1f, %5.1f) %6lld %s\n", m.hist_edges[b], m.hist_edges[b + 1], (long long)m.hist_counts[b],
                          std::string(size_t(40 * m.hist_counts[b] / top), '#').c_str());
            }
            return 0;
          }};
}

Command add_info(CLI::App& sae) {
  struct Opts {
    std::string dir;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = sae.add_subcommand("info", "Show a dictionary's configuration and decoder statistics");
  cmd->add_option("dir", o->dir, "SAELens directory (cfg.json + sae_weights.safetensors)")->required();
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const nlohmann::json j = sae_info_json(load_saelens(o->dir), o->dir);
            if (o->json) {
              print_json(j);
              return 0;
            }
            for (const auto& [k, v] : j.items()) std::printf("%-28s %s\n", k.c_str(), v.is_string() ? v.get<std::string>().c_str() : v.dump().c_str());
            return 0;
          }};
}

}  // namespace

Command add_sae_command(CLI::App& parent) {
  CLI::App* cmd =
      parent.add_subcommand("sae", "Sparse dictionaries: train | eval | info | dashboard (SAELens layout)");
  // `sae dashboard --sae DIR` is `glassbox dashboard --sae DIR`: one command, two places a user looks.
  return command_group(cmd, {add_train(*cmd), add_eval(*cmd), add_info(*cmd), add_dashboard_command(*cmd)});
}

}  // namespace glassbox::cli
