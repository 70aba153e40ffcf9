// glassbox cache: run a prompt and save activations (plus logits and tokens)
// to a safetensors file under their hook names, streamed to the file as the
// forward produces them (memory: one layer's activations, not the cache).
#include <memory>

#include "common.h"
#include "glassbox/cache.h"
#include "glassbox/error.h"

namespace glassbox::cli {

Command add_cache_command(CLI::App& parent) {
  struct Opts {
    std::string model, prompt, tokens, out, positions, dtype = "f32", max_memory, intervene;
    std::vector<std::string> names;
    bool with_result = false, json = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand("cache", "Run a prompt and save its activations to a safetensors file");
  add_model_option(*cmd, o->model);
  auto* prompt = cmd->add_option("prompt", o->prompt, "Prompt text");
  auto* tokens = add_tokens_option(*cmd, o->tokens);
  prompt->excludes(tokens);
  cmd->add_option("--names", o->names,
                  "Hook names or globs to keep, e.g. 'blocks.*.attn.hook_pattern' (default: all); "
                  "several after one --names, comma-separated or repeated")
      ->expected(1, -1)
      ->delimiter(',');
  cmd->add_option("-o,--out", o->out, "Output .safetensors file")->required();
  cmd->add_option("--positions", o->positions, "Keep only these positions, e.g. -1,0 (negative: from the end)");
  cmd->add_option("--dtype", o->dtype, "Storage dtype")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}))
      ->capture_default_str();
  cmd->add_option("--max-memory", o->max_memory,
                  "Memory limit for the run, e.g. 512MiB, 2G: the writer's buffers shrink to fit; fails before "
                  "running if one layer's scratch and the logits alone need more");
  cmd->add_flag("--with-result", o->with_result, "Include attn.hook_result (per-head outputs) when --names is not given");
  cmd->add_option("--intervene", o->intervene, "Interventions JSON file applied during the run");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            CacheOptions co;
            co.names = o->names;
            if (!o->positions.empty()) co.positions = parse_int_list(o->positions, "--positions");
            co.dtype = from_string<DType>(o->dtype);
            if (!o->max_memory.empty()) {
              co.max_memory = parse_bytes(o->max_memory, "--max-memory");
              if (co.max_memory == 0) fail("--max-memory: must be above 0");
            }
            co.with_result = o->with_result;

            const Model m = load_model(o->model);
            const std::vector<int32_t> ids = input_tokens(m, o->prompt, o->tokens);
            Engine e(m);
            HookRegistry reg(m.config());
            const auto handles = attach_interventions_file(reg, o->intervene);
            const std::vector<TensorToWrite> rows = stream_cache_to_file(e, Batch::single(ids), co, o->out, &reg);
            size_t total = 0;
            for (const TensorToWrite& t : rows) total += t.nbytes;
            if (o->json) {
              nlohmann::json ts = nlohmann::json::array();
              for (const TensorToWrite& t : rows)
                ts.push_back({{"name", t.name},
                              {"shape", shape_json(t.shape)},
                              {"dtype", std::string(dtype_name(t.dtype))},
                              {"bytes", t.nbytes}});
              print_json({{"path", o->out}, {"n_tensors", rows.size()}, {"total_bytes", total}, {"tensors", ts}});
              return 0;
            }
            std::printf("wrote %s\n", o->out.c_str());
            std::printf("  %-36s %-22s %-5s %12s\n", "name", "shape", "dtype", "bytes");
            for (const TensorToWrite& t : rows)
              std::printf("  %-36s %-22s %-5s %12s\n", t.name.c_str(), shape_str(t.shape).c_str(),
                          std::string(dtype_name(t.dtype)).c_str(), human_bytes(t.nbytes).c_str());
            std::printf("  total: %zu tensors, %s (%zu bytes)\n", rows.size(), human_bytes(total).c_str(), total);
            return 0;
          }};
}

}  // namespace glassbox::cli
