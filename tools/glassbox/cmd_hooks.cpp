// glassbox hooks: every hook site of a model with its activation shape, in
// the order the forward pass fires them.
#include <memory>

#include "common.h"
#include "glassbox/cache.h"
#include "glassbox/error.h"

namespace glassbox::cli {

Command add_hooks_command(CLI::App& parent) {
  struct Opts {
    std::string model, pattern;
    int64_t batch = 1, seq = 0;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand("hooks", "List hook names and activation shapes in forward order");
  add_model_option(*cmd, o->model);
  cmd->add_option("-p,--pattern", o->pattern, "Only hooks matching this name or glob, e.g. 'blocks.*.attn.hook_pattern'");
  cmd->add_option("--batch", o->batch, "Batch size the shapes are shown for")->check(CLI::PositiveNumber);
  cmd->add_option("--seq", o->seq, "Sequence length the shapes are shown for (default: the model's n_ctx)")
      ->check(CLI::PositiveNumber);
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const Model m = load_model(o->model);
            const Config& c = m.config();
            const int64_t T = o->seq > 0 ? o->seq : c.n_ctx;
            const auto points = o->pattern.empty() ? all_hook_points(c) : match_hooks(o->pattern, c);
            if (o->json) {
              nlohmann::json hooks = nlohmann::json::array();
              for (const HookPoint& p : points)
                hooks.push_back({{"name", p.name()},
                                 {"layer", p.layer},
                                 {"shape", shape_json(site_shape(p.site, c, o->batch, T, T))}});
              print_json({{"batch", o->batch}, {"seq", T}, {"count", points.size()}, {"hooks", hooks}});
              return 0;
            }
            std::printf("%zu hooks; shapes for batch %lld, seq %lld (f32 bytes per activation)\n", points.size(),
                        static_cast<long long>(o->batch), static_cast<long long>(T));
            for (const HookPoint& p : points) {
              const Shape s = site_shape(p.site, c, o->batch, T, T);
              std::printf("  %-36s %-22s %10s\n", p.name().c_str(), shape_str(s).c_str(),
                          human_bytes(size_t(numel(s)) * 4).c_str());
            }
            return 0;
          }};
}

}  // namespace glassbox::cli
