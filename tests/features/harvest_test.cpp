// harvest(): shards and manifest, reading them back, resuming, refusing other
// settings, and a write that fails (file-size limit) leaving nothing half-written.
// The CLI test (tests/cli/harvest_test.cpp) kills a real run with SIGKILL.
#include "glassbox/features/harvest.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>

#include "glassbox/error.h"
#include "glassbox/features/shards.h"
#include "glassbox/safetensors.h"
#include "glassbox/tokenizer.h"
#include "glassbox/zoo.h"
#include "harvest_test_util.h"

namespace fs = std::filesystem;

namespace glassbox::features {
namespace {

struct Harvest : ::testing::Test {
  testing::TempDir tmp{"harvest"};
  HarvestOptions opt;
  void SetUp() override {
    testing::write_file(tmp / "corpus.txt", testing::corpus_text());
    opt.models = {testing::model_dir("tiny-lm")};
    opt.hooks = {"blocks.1.hook_resid_post", "blocks.0.mlp.hook_post"};
    opt.corpus = tmp / "corpus.txt";
    opt.stream.context = 16;
    opt.stream.batch = 3;
    opt.shard_rows = 50;
    opt.out_dir = tmp / "out";
  }
  std::vector<std::string> files(const std::string& dir) const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

TEST_F(Harvest, WritesShardsWhoseRowsAreTheStreamsRows) {
  const HarvestResult r = harvest(opt);
  ModelActivationStream live(opt.models, opt.hooks, opt.corpus, opt.stream);
  EXPECT_EQ(r.rows, live.total_rows());
  EXPECT_EQ(r.shards_total, (live.total_rows() + 49) / 50);
  EXPECT_EQ(r.shards_written, r.shards_total);
  const nlohmann::json m = read_harvest_manifest(opt.out_dir);
  EXPECT_TRUE(m["complete"].get<bool>());
  EXPECT_EQ(m["hooks"], nlohmann::json(opt.hooks));
  EXPECT_EQ(m["dims"], nlohmann::json({128, 512}));
  EXPECT_EQ(m["dtype"], "F32");
  EXPECT_EQ(m["context_size"], 16);
  EXPECT_EQ(m["prepend_bos"], true);
  EXPECT_EQ(m["tokens"], live.sequences() * 16);
  EXPECT_EQ(m["models"][0]["weights"][0]["sha256"], zoo::sha256_file(testing::model_dir("tiny-lm") + "/model.safetensors"));
  ASSERT_EQ(m["shards"].size(), size_t(r.shards_total));
  for (const auto& s : m["shards"])
    EXPECT_EQ(s["sha256"], zoo::sha256_file(opt.out_dir + "/" + s["file"].get<std::string>()));
  const SafetensorsFile f = SafetensorsFile::open(opt.out_dir + "/shard_00000.safetensors");
  EXPECT_EQ(f.find("blocks.0.mlp.hook_post")->shape, (std::vector<int64_t>{50, 512}));
  EXPECT_EQ(f.find("tokens")->dtype, DType::I32);

  ShardStream shards(opt.out_dir);
  EXPECT_EQ(shards.site_names(), live.site_names());
  const testing::AllRows a = testing::read_all(shards, 33), b = testing::read_all(live, 33);
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.sites, b.sites);  // f32 on disk: bit for bit
  EXPECT_EQ(a.tokens, b.tokens);
  ShardStream one(opt.out_dir, {"blocks.0.mlp.hook_post"});
  EXPECT_EQ(testing::read_all(one, 1000).sites[0], b.sites[1]);
  EXPECT_THROW(ShardStream(opt.out_dir, {"blocks.3.hook_resid_post"}), Error);
}

TEST_F(Harvest, Bf16ShardsReadBackAsTheRoundedRows) {
  opt.dtype = DType::BF16;
  harvest(opt);
  ShardStream shards(opt.out_dir);
  ModelActivationStream live(opt.models, opt.hooks, opt.corpus, opt.stream);
  const testing::AllRows a = testing::read_all(shards, 1000), b = testing::read_all(live, 1000);
  for (size_t s = 0; s < 2; ++s) {
    ASSERT_EQ(a.sites[s].size(), b.sites[s].size());
    for (size_t i = 0; i < a.sites[s].size(); ++i)
      ASSERT_EQ(a.sites[s][i], bf16_to_f32(f32_to_bf16(b.sites[s][i]))) << i;
  }
}

TEST_F(Harvest, ResumingAfterAnInterruptionWritesIdenticalShards) {
  const std::string full = tmp / "full";
  opt.out_dir = full;
  harvest(opt);
  // An interrupted run: the manifest lists the first 2 shards, a later shard
  // exists (written before the manifest update), a temp file was left mid-write.
  opt.out_dir = tmp / "cut";
  fs::create_directories(opt.out_dir);
  for (const std::string& f : files(full)) fs::copy_file(full + "/" + f, opt.out_dir + "/" + f);
  nlohmann::json m = read_harvest_manifest(opt.out_dir);
  const size_t n = m["shards"].size();
  ASSERT_GE(n, 4u);
  m["shards"].erase(m["shards"].begin() + 2, m["shards"].end());
  m["complete"] = false;
  testing::write_file(opt.out_dir + "/manifest.json", m.dump(2));
  fs::remove(opt.out_dir + "/" + shard_file_name(3));
  testing::write_file(opt.out_dir + "/" + shard_file_name(3) + ".tmp.Ab12Cd", "half a shard");
  EXPECT_THROW(ShardStream{opt.out_dir}, Error);  // incomplete
  ShardStreamOptions so;
  so.allow_incomplete = true;
  EXPECT_EQ(ShardStream(opt.out_dir, {}, so).total_rows(), 100);

  const HarvestResult r = harvest(opt);
  EXPECT_EQ(r.shards_kept, 2);
  EXPECT_EQ(r.shards_written, int(n) - 2);
  EXPECT_EQ(files(opt.out_dir), files(full));
  for (const std::string& f : files(full)) EXPECT_EQ(testing::slurp(opt.out_dir + "/" + f), testing::slurp(full + "/" + f)) << f;

  // A finished harvest reruns as a no-op.
  EXPECT_EQ(harvest(opt).shards_written, 0);
}

TEST_F(Harvest, OtherSettingsOnAnExistingHarvestAreRefused) {
  harvest(opt);
  opt.stream.context = 24;
  try {
    harvest(opt);
    FAIL() << "no Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("context_size"), std::string::npos) << e.what();
  }
  opt.stream.context = 16;
  opt.hooks = {"blocks.2.hook_resid_post"};
  EXPECT_THROW(harvest(opt), Error);
  opt.hooks = {"blocks.1.hook_resid_post", "blocks.0.mlp.hook_post"};
  testing::write_file(opt.corpus, testing::corpus_text() + "more text");
  EXPECT_THROW(harvest(opt), Error);  // the corpus changed: its sha256 differs
}

TEST_F(Harvest, BadInputsFailBeforeAnythingIsWritten) {
  opt.hooks = {"blocks.1.hook_resid_pots"};
  EXPECT_THROW(harvest(opt), Error);
  opt.hooks = {"blocks.1.hook_resid_post"};
  opt.corpus = tmp / "missing.txt";
  EXPECT_THROW(harvest(opt), Error);
  EXPECT_FALSE(fs::exists(opt.out_dir));
  fs::create_directories(opt.out_dir);
  testing::write_file(opt.out_dir + "/shard_00000.safetensors", "x");
  opt.corpus = tmp / "corpus.txt";
  EXPECT_THROW(harvest(opt), Error);  // shards but no manifest: not ours to overwrite
}

// A file-size limit makes the shard write fail with EFBIG, as a full disk
// fails it with ENOSPC: the same path through the atomic writer.
TEST_F(Harvest, AFailedShardWriteLeavesNoPartialShardAndResumes) {
  opt.shard_rows = 100;  // ~256 KB shards
  const std::string full = tmp / "full";
  {
    HarvestOptions o = opt;
    o.out_dir = full;
    harvest(o);
  }
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  getrlimit(RLIMIT_FSIZE, &old);
  rlimit lim = old;
  lim.rlim_cur = 100 * 1024;  // a manifest fits, a shard does not
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
  std::string msg;
  try {
    harvest(opt);
  } catch (const Error& e) {
    msg = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_NE(msg.find("shard 0 of"), std::string::npos) << msg;
  EXPECT_NE(msg.find("was not written"), std::string::npos) << msg;
  EXPECT_EQ(files(opt.out_dir), std::vector<std::string>{"manifest.json"});
  EXPECT_EQ(read_harvest_manifest(opt.out_dir)["shards"].size(), 0u);
  harvest(opt);
  EXPECT_EQ(files(opt.out_dir), files(full));
  for (const std::string& f : files(full)) EXPECT_EQ(testing::slurp(opt.out_dir + "/" + f), testing::slurp(full + "/" + f)) << f;
}

TEST_F(Harvest, CorruptedOrTruncatedShardsAreCaughtWhenRead) {
  harvest(opt);
  const std::string shard = opt.out_dir + "/" + shard_file_name(1);
  const std::string good = testing::slurp(shard);
  std::string bad = good;
  bad[bad.size() - 5] ^= 0x40;
  testing::write_file(shard, bad);
  ShardStream s(opt.out_dir);
  ActivationBatch b;
  EXPECT_EQ(s.next(b, 1000), 50);  // shard 0 is fine
  try {
    s.next(b, 1000);
    FAIL() << "no Error for a corrupted shard";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("corrupted"), std::string::npos) << e.what();
  }
  testing::write_file(shard, good.substr(0, good.size() - 100));
  ShardStreamOptions no_hash;
  no_hash.verify_sha256 = false;
  ShardStream t(opt.out_dir, {}, no_hash);
  t.next(b, 1000);
  EXPECT_THROW(t.next(b, 1000), Error);  // truncated: the safetensors reader's range checks
  fs::remove(shard);
  ShardStream u(opt.out_dir, {}, no_hash);
  u.next(b, 1000);
  EXPECT_THROW(u.next(b, 1000), Error);  // missing
  testing::write_file(opt.out_dir + "/manifest.json", "{\"format\": \"glassbox-harvest\"");
  EXPECT_THROW(ShardStream{opt.out_dir}, Error);
}

TEST(ModelWeightFiles, ListsTheCheckpointsFiles) {
  EXPECT_EQ(model_weight_files(testing::model_dir("tiny-lm")),
            std::vector<std::string>{testing::model_dir("tiny-lm") + "/model.safetensors"});
  EXPECT_THROW(model_weight_files("/nonexistent/model"), Error);
  EXPECT_EQ(shard_file_name(12), "shard_00012.safetensors");
}

}  // namespace
}  // namespace glassbox::features
