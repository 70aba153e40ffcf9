// Harvesting (`glassbox harvest`): a ModelActivationStream written to disk as
// sharded safetensors plus a manifest, resumable after any interruption.
//
// DIR/shard_00000.safetensors ...: one tensor per site, named by the site
// ("blocks.2.hook_resid_post", or "MODEL/blocks.2..." with several models),
// [rows, dim] in the harvest's dtype, and "tokens" (I32 [rows]): the token at
// each row. Rows run in corpus order; shard k holds rows [k*shard_rows, ...).
// DIR/manifest.json: what produced the shards (models and the sha256 of their
// weight and tokenizer files, corpus and its sha256, sites, dims, dtype, context, BOS
// handling, row counts) under "settings", and the shards completed so far
// (file, rows, bytes, sha256). Every file is written atomically, the manifest
// after its shard, so an interrupted run leaves complete shards only; a rerun
// with the same settings continues after the last shard listed and writes
// shards byte-identical to an uninterrupted run's.
//
// Under mpirun (HarvestOptions::ranks), the shards still to write are dealt out
// round by round: in each round rank r writes shard first + round * N + r,
// then rank 0 gathers what the round wrote and lists it in the manifest (the
// only file rank 0 alone writes). The output is the same files, byte for byte,
// as one process writes, and a rerun with any number of ranks resumes it.
// The directory must be one file system every rank sees.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/dist.h"
#include "glassbox/dtype.h"
#include "glassbox/features/model_stream.h"

namespace glassbox::features {

struct HarvestOptions {
  std::vector<std::string> models;  // checkpoint paths; several: a crosscoder's models, same tokens
  std::vector<std::string> hooks;   // names or globs
  std::string corpus;               // text file, or token file (is_token_file)
  ModelStreamOptions stream;        // context, batch, BOS handling, max_tokens
  DType dtype = DType::F32;         // F32, BF16 or F16 on disk
  int64_t shard_rows = 0;           // rows (tokens) per shard; 0: about 256 MiB per shard
  std::string out_dir;
  const dist::Comm* ranks = nullptr;  // the ranks sharing the work (dist::world()); null: this process alone
};

struct HarvestProgress {
  // Several ranks: rank 0's progress, counting every rank as fast as itself.
  int64_t rows_done = 0;      // in complete shards and the shard being filled, earlier runs included
  int64_t rows_total = 0;
  int64_t rows_this_run = 0;  // computed by this run (tokens/s and ETA come from these)
  int shards_done = 0, shards_total = 0;
  double seconds = 0;         // since this run started computing
};

struct HarvestResult {
  nlohmann::json manifest;
  int shards_total = 0;
  int shards_written = 0;  // by this run (all ranks)
  int shards_kept = 0;     // complete from an earlier run
  int64_t rows = 0;
  double seconds = 0;      // this run, setup included
};

// Runs (or resumes) a harvest into opt.out_dir. Error for a bad corpus or
// hook (before anything is written), for an out_dir holding a harvest made
// with other settings (naming the settings that differ) or other shard files,
// and for a failed write (full disk): that shard is not left behind and the
// manifest still lists every shard complete before it. progress() is called
// after every forward pass.
HarvestResult harvest(const HarvestOptions& opt,
                      const std::function<void(const HarvestProgress&)>& progress = {});

// "shard_00007.safetensors"
std::string shard_file_name(int64_t index);
// DIR/manifest.json, checked to describe a harvest; Error naming the file and field otherwise.
nlohmann::json read_harvest_manifest(const std::string& dir);
// The files a checkpoint path reads its weights from (model.safetensors, the
// shards of model.safetensors.index.json, a .gguf ...), for their sha256.
std::vector<std::string> model_weight_files(const std::string& model_path);

}  // namespace glassbox::features
