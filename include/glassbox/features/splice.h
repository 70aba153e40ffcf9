// How much of the model's behaviour a dictionary keeps: splice its
// reconstruction into the forward pass at its hook and compare next-token
// losses and distributions with the clean run and with the hook zero-ablated
// (SAELens' ce_loss_score and KL metrics, Anthropic's "loss recovered").
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/codec.h"
#include "glassbox/engine.h"

namespace glassbox::features {

struct SpliceMetrics {
  int64_t tokens = 0;                 // predictions compared (every position but each sequence's last)
  double ce_clean = 0;                // mean next-token cross-entropy, nats
  double ce_spliced = 0;              // the hook replaced by the reconstruction
  double ce_spliced_with_error = 0;   // reconstruction + error term (equals clean: checks the splice path)
  double ce_ablated = 0;              // the hook zero-ablated
  double ce_loss_recovered = 0;       // (ce_ablated - ce_spliced) / (ce_ablated - ce_clean)
  double kl_spliced = 0;              // mean KL(clean || spliced), nats
  double kl_spliced_with_error = 0;
  double kl_ablated = 0;
  nlohmann::json to_json() const;
};

// Runs `sequences` in batches of `batch` rows (equal lengths within a batch
// are not required: shorter rows are padded and their padding ignored).
// progress(done, total) after each batch. Error if no sequence has 2 tokens.
SpliceMetrics evaluate_splice(Engine& e, std::shared_ptr<const LatentCodec> codec, const std::string& hook,
                              const std::vector<std::vector<int32_t>>& sequences, int batch = 8,
                              const std::function<void(size_t, size_t)>& progress = {});

}  // namespace glassbox::features
