// llama.cpp control-vector files (GGUF), both ways.
//
// The format, as llama.cpp reads and applies it (checked against
// common/common.cpp common_control_vector_load_one and src/llama-adapter.cpp
// llama_adapter_cvec, and tools/cvector-generator's export_gguf):
//   * metadata: general.architecture = "controlvector",
//     controlvector.model_hint (a string), controlvector.layer_count (the
//     number of direction tensors; cvector-generator writes INT32, repeng's
//     export_gguf UINT32). llama.cpp's loader reads neither of the last two.
//   * tensors "direction.{l}", F32, one dimension of n_embd. l is the 0-based
//     index of the block whose OUTPUT the vector is added to (build_cvec after
//     the block's residual add: TransformerLens blocks.{l}.hook_resid_post),
//     at every position. There is none for block 0: a "direction.0" tensor
//     makes llama.cpp reject the whole file ("invalid (zero) direction tensor
//     layer index"), so l runs from 1 to n_layer-1; a direction.{l} with
//     l >= n_layer is loaded but never applied. Several files (and several
//     tensors of one layer) add up, each times its --control-vector-scaled
//     strength.
//   * model_hint: repeng writes the Hugging Face config's model_type
//     ("llama", "mistral", "gpt2"), cvector-generator the GGUF
//     general.architecture; glassbox writes the model's family (Config::family,
//     which is the model_type for HF checkpoints) and accepts either spelling.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "glassbox/config.h"
#include "glassbox/interventions.h"
#include "glassbox/steering/direction.h"

namespace glassbox::steering {

struct ControlVector {
  std::string model_hint;
  int64_t n_embd = 0;
  std::map<int, std::vector<float>> directions;  // block index (>= 1) -> [n_embd]
};

// The hint glassbox writes for a model of config c (its family).
std::string control_vector_model_hint(const Config& c);

// Reads a control-vector file. Error naming the file and the field or tensor:
// another general.architecture, a tensor not named direction.{l} or with
// l = 0 (llama.cpp refuses it), not F32, not one-dimensional, widths that differ.
ControlVector read_control_vector(const std::string& path);
// Writes it (atomic). Error for direction.0, an empty vector, or widths that differ.
void write_control_vector(const ControlVector& cv, const std::string& path);

// A steering direction as a control vector: coefficient x vector per layer.
// Error unless the direction sits at resid_post (where llama.cpp adds it) and
// has no layer 0 (llama.cpp has no slot for it): pass `layers` to choose
// (empty: all the direction has).
ControlVector to_control_vector(const SteeringVector& v, float coefficient, const std::string& model_hint,
                                const std::vector<int>& layers = {});
// The other way (method control-vector, site resid_post); `path` goes in the provenance.
SteeringVector to_steering_vector(const ControlVector& cv, const std::string& path);

// A direction file as `steer sweep -d` and glassbox's direction arguments read
// it: a llama.cpp control vector (.gguf) or glassbox's JSON. A direction
// without a name is named by its file, so sweeps and pages can say which it was.
SteeringVector load_direction_file(const std::string& path);

// Checks the file fits the model (Error naming `path` and the field: an
// n_embd other than d_model, a direction.{l} with l >= n_layers, a
// model_hint naming another family unless check_hint is false) and returns
// one add_vector intervention per direction, alpha = scale, at
// blocks.{l}.hook_resid_post, every position: what llama.cpp's
// --control-vector-scaled FILE SCALE does.
std::vector<Intervention> control_vector_interventions(const ControlVector& cv, const Config& c, float scale,
                                                       const std::string& path, bool check_hint = true);

}  // namespace glassbox::steering
