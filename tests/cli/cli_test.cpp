// The glassbox command-line tool, run as a user runs it: the built binary in a
// shell, its stdout, stderr and exit code. Models: the golden fixtures (token
// ids only) and a tiny random GPT-2 with a byte-level tokenizer for text.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "common/browser.h"
#include "glassbox/cache.h"
#include "glassbox/engine.h"
#include "glassbox/model.h"
#include "glassbox/safetensors.h"
#include "make_tiny_model.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace glassbox::cli_test;

namespace {

std::string fixture(const std::string& name) { return std::string(GLASSBOX_FIXTURES) + "/" + name; }

class Cli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = fresh_temp_dir("cli-test");
    glassbox::cli::make_tiny_gpt2((tmp_ / "tiny").string());
  }
  static void TearDownTestSuite() { fs::remove_all(tmp_); }

  // Runs `glassbox <args>` in `cwd` (default: the temp dir); args are shell words.
  static CliRun glassbox(const std::string& args, const fs::path& cwd = {}) {
    // Hermetic by default: no shipped organisms, so the tour's checkpoint is the default model.
    const std::string models = models_dir_.empty() ? (tmp_ / "no-models").string() : models_dir_;
    return run_glassbox(args, cwd.empty() ? tmp_ : cwd, "env -u GLASSBOX_MODEL GLASSBOX_MODELS=" + quoted(models));
  }
  static std::string gpt2() { return "--model '" + fixture("gpt2") + "'"; }
  static std::string tiny() { return "--model '" + (tmp_ / "tiny").string() + "'"; }
  static std::string path(const std::string& name) { return (tmp_ / name).string(); }
  static std::string write_file(const std::string& name, const std::string& text) {
    std::ofstream(tmp_ / name, std::ios::binary) << text;
    return path(name);
  }

  static fs::path tmp_;
  static std::string models_dir_;  // GLASSBOX_MODELS for the next commands ("" = none shipped)
};
fs::path Cli::tmp_;
std::string Cli::models_dir_;

#define EXPECT_OK(r) EXPECT_EQ((r).code, 0) << "stderr: " << (r).err << "\nstdout: " << (r).out

// ------------------------------------------------------------------ help and usage

TEST_F(Cli, EveryCommandHasHelp) {
  EXPECT_OK(glassbox("--help"));
  for (const char* c : {"info", "tokenize", "hooks", "run", "generate", "cache", "tour", "lens", "dla", "heads", "patch",
                        "circuit", "tuned-lens train", "compare"}) {
    const CliRun r = glassbox(std::string(c) + " --help");
    EXPECT_OK(r);
    EXPECT_NE(r.out.find("--json"), std::string::npos) << c;
  }
}

TEST_F(Cli, UsageErrorsKeepCli11ExitCodes) {
  const CliRun r = glassbox("run --no-such-flag");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.code, 1);  // CLI11's own codes, not the error path
  EXPECT_NE(glassbox("").code, 0);  // a command is required
}

TEST_F(Cli, ThreadsFlagWorksBeforeAndAfterTheCommand) {
  EXPECT_OK(glassbox("--threads 1 run " + gpt2() + " --tokens 1,2,3"));
  EXPECT_OK(glassbox("run " + gpt2() + " --tokens 1,2,3 --threads 2"));
  EXPECT_NE(glassbox("--threads 0 run " + gpt2() + " --tokens 1,2,3").code, 0);
}

// ------------------------------------------------------------------ info

TEST_F(Cli, InfoJsonReportsConfigAndStorage) {
  const CliRun r = glassbox("info " + gpt2() + " --json");
  EXPECT_OK(r);
  const json j = r.js();
  const json& c = j["config"];
  EXPECT_EQ(c["family"], "gpt2");
  EXPECT_EQ(c["n_layers"], 2);
  EXPECT_EQ(c["d_model"], 32);
  EXPECT_EQ(c["n_heads"], 4);
  EXPECT_EQ(c["n_kv_heads"], 4);
  EXPECT_EQ(c["d_head"], 8);
  EXPECT_EQ(c["d_mlp"], 128);
  EXPECT_EQ(c["d_vocab"], 211);
  EXPECT_EQ(c["n_ctx"], 32);
  EXPECT_EQ(c["tied_embeddings"], true);
  EXPECT_EQ(c["gated_mlp"], false);
  EXPECT_EQ(c["parallel_residual"], false);
  for (const char* k : {"norm", "positional", "rotary_dim", "rope_theta", "act"}) EXPECT_TRUE(c.contains(k)) << k;
  const glassbox::Model m = glassbox::Model::load(fixture("gpt2"));
  EXPECT_EQ(j["n_params"], m.n_params());
  EXPECT_EQ(j["converted_bytes"], m.converted_bytes());
  EXPECT_GT(j["mapped_bytes"].get<size_t>() + j["converted_bytes"].get<size_t>(), 0u);
  EXPECT_EQ(j["tokenizer"]["present"], false);
  EXPECT_FALSE(j.contains("tensors"));
}

TEST_F(Cli, InfoListsStoredTensors) {
  const CliRun r = glassbox("info " + gpt2() + " --tensors --json");
  EXPECT_OK(r);
  const json ts = r.js()["tensors"];
  ASSERT_TRUE(ts.is_array());
  bool found = false;
  for (const json& t : ts)
    if (t["name"] == "transformer.wte.weight" || t["name"] == "wte.weight") {
      found = true;
      EXPECT_EQ(t["shape"], json({211, 32}));
      EXPECT_EQ(t["dtype"], "F32");
      EXPECT_TRUE(t.contains("zero_copy"));
    }
  EXPECT_TRUE(found) << ts.dump();
  const CliRun human = glassbox("info " + gpt2() + " --tensors");
  EXPECT_OK(human);
  EXPECT_NE(human.out.find("wte.weight"), std::string::npos);
  EXPECT_NE(human.out.find("zero-copy"), std::string::npos);
}

TEST_F(Cli, InfoShowsTheTokenizerOfTheTinyModel) {
  const CliRun r = glassbox("info " + tiny() + " --json");
  EXPECT_OK(r);
  const json j = r.js();
  EXPECT_EQ(j["tokenizer"]["present"], true);
  EXPECT_EQ(j["tokenizer"]["vocab_size"], glassbox::cli::kTinyVocab);
  EXPECT_EQ(j["config"]["n_layers"], 4);
  EXPECT_EQ(j["config"]["d_model"], 128);
  EXPECT_EQ(j["config"]["n_ctx"], 256);
}

// ------------------------------------------------------------------ hooks

TEST_F(Cli, HooksListsEveryHookInForwardOrderWithShapes) {
  const CliRun r = glassbox("hooks " + gpt2() + " --batch 2 --seq 5 --json");
  EXPECT_OK(r);
  const json j = r.js();
  const glassbox::Model m = glassbox::Model::load(fixture("gpt2"));
  const auto points = glassbox::all_hook_points(m.config());
  ASSERT_EQ(j["hooks"].size(), points.size());
  EXPECT_EQ(j["count"], points.size());
  for (size_t i = 0; i < points.size(); ++i) {
    EXPECT_EQ(j["hooks"][i]["name"], points[i].name());
    EXPECT_EQ(j["hooks"][i]["shape"], json(glassbox::site_shape(points[i].site, m.config(), 2, 5, 5)));
  }
  EXPECT_EQ(j["hooks"][0]["name"], "hook_embed");
  EXPECT_EQ(j["hooks"][0]["shape"], json({2, 5, 32}));
}

TEST_F(Cli, HooksPatternSelectsMatchingHooks) {
  const CliRun r = glassbox("hooks " + gpt2() + " --pattern 'blocks.*.attn.hook_pattern' --seq 7 --json");
  EXPECT_OK(r);
  const json h = r.js()["hooks"];
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[1]["name"], "blocks.1.attn.hook_pattern");
  EXPECT_EQ(h[1]["shape"], json({1, 4, 7, 7}));
  const CliRun human = glassbox("hooks " + gpt2() + " -p 'blocks.1.*'");
  EXPECT_OK(human);
  EXPECT_NE(human.out.find("blocks.1.hook_resid_post"), std::string::npos);
  EXPECT_EQ(human.out.find("blocks.0."), std::string::npos);
}

TEST_F(Cli, HooksOfARotaryModelIncludeRotatedQueries) {
  const CliRun r = glassbox("hooks --model '" + fixture("llama") + "' --pattern 'blocks.0.attn.hook_rot_q' --json");
  EXPECT_OK(r);
  EXPECT_EQ(r.js()["hooks"].size(), 1u);
}

// ------------------------------------------------------------------ run

TEST_F(Cli, RunTopKMatchesTheEngine) {
  const CliRun r = glassbox("run " + gpt2() + " --tokens 5,17,42,3 -k 5 --json");
  EXPECT_OK(r);
  const json j = r.js();
  EXPECT_EQ(j["tokens"], json({5, 17, 42, 3}));
  const json& top = j["top"];
  ASSERT_EQ(top.size(), 5u);

  const glassbox::Model m = glassbox::Model::load(fixture("gpt2"));
  glassbox::Engine e(m);
  const glassbox::Tensor logits = e.logits(glassbox::Batch::single({5, 17, 42, 3}));
  const float* last = logits.f32() + 3 * m.config().d_vocab;
  const int64_t argmax = std::max_element(last, last + m.config().d_vocab) - last;
  EXPECT_EQ(top[0]["id"], argmax);
  double prev = 2;
  for (const json& t : top) {
    EXPECT_NEAR(t["logit"].get<double>(), last[t["id"].get<int>()], 1e-4);
    EXPECT_LE(t["prob"].get<double>(), prev);
    prev = t["prob"].get<double>();
  }
  EXPECT_GT(top[0]["prob"].get<double>(), 0.0);

  const CliRun human = glassbox("run " + gpt2() + " --tokens 5,17,42,3 -k 3");
  EXPECT_OK(human);
  EXPECT_NE(human.out.find("#" + std::to_string(argmax)), std::string::npos) << human.out;
}

TEST_F(Cli, RunInterventionChangesTheLogits) {
  const std::string iv = write_file(
      "ablate.json", R"([{"type": "zero_ablate", "hook": "blocks.*.hook_attn_out"},
                         {"type": "zero_ablate", "hook": "blocks.0.attn.hook_z", "heads": [1]}])");
  const json plain = glassbox("run " + gpt2() + " --tokens 5,17,42,3 -k 3 --json").js();
  const CliRun r = glassbox("run " + gpt2() + " --tokens 5,17,42,3 -k 3 --json --intervene '" + iv + "'");
  EXPECT_OK(r);
  const json ablated = r.js();
  EXPECT_NE(plain["top"][0]["logit"], ablated["top"][0]["logit"]);
  // The same file again gives the same answer.
  EXPECT_EQ(glassbox("run " + gpt2() + " --tokens 5,17,42,3 -k 3 --json --intervene '" + iv + "'").js(), ablated);
}

TEST_F(Cli, RunReportsLossAndPerplexityOverATextFile) {
  std::string text;
  for (int i = 0; i < 30; ++i) text += "The cat sat on the mat. ";  // 720 bytes: 3 windows of 256
  const std::string file = write_file("text.txt", text);
  // One thread: on a loaded machine OpenMP barriers make the 3 windows crawl.
  const CliRun r = glassbox("--threads 1 run " + tiny() + " --text-file '" + file + "' --json");
  EXPECT_OK(r);
  const json j = r.js();
  EXPECT_EQ(j["tokens"], text.size());  // one token per byte
  EXPECT_EQ(j["tokens_evaluated"], text.size() - 1);
  EXPECT_EQ(j["windows"], 3);
  const double loss = j["loss"].get<double>();
  EXPECT_NEAR(loss, std::log(257.0), 0.5);  // a random model is close to uniform
  EXPECT_NEAR(j["ppl"].get<double>(), std::exp(loss), 1e-6 * std::exp(loss));
  const CliRun human = glassbox("--threads 1 run " + tiny() + " --text-file '" + file + "'");
  EXPECT_OK(human);
  EXPECT_NE(human.out.find("ppl"), std::string::npos);
}

TEST_F(Cli, RunTakesTextThroughTheTokenizer) {
  const CliRun r = glassbox("run " + tiny() + " 'Hello' --json");
  EXPECT_OK(r);
  EXPECT_EQ(r.js()["tokens"], json({'H', 'e', 'l', 'l', 'o'}));
  EXPECT_EQ(r.js()["top"].size(), 10u);
}

// ------------------------------------------------------------------ cache

TEST_F(Cli, CacheSavesSelectedActivationsWithLogitsAndTokens) {
  const std::string out = path("patterns.safetensors");
  const CliRun r = glassbox("cache " + gpt2() + " --tokens 1,2,3,4,5 --names 'blocks.*.attn.hook_pattern' --out '" +
                            out + "'");
  EXPECT_OK(r);
  EXPECT_NE(r.out.find(out), std::string::npos);
  EXPECT_NE(r.out.find("total"), std::string::npos);
  const auto f = glassbox::SafetensorsFile::open(out);
  EXPECT_EQ(f.tensors().size(), 4u);
  for (const char* name : {"blocks.0.attn.hook_pattern", "blocks.1.attn.hook_pattern"}) {
    const glassbox::RawTensor* t = f.find(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->shape, (std::vector<int64_t>{1, 4, 5, 5}));
    EXPECT_EQ(t->dtype, glassbox::DType::F32);
  }
  const glassbox::RawTensor* tokens = f.find("tokens");
  ASSERT_NE(tokens, nullptr);
  EXPECT_EQ(tokens->dtype, glassbox::DType::I32);
  EXPECT_EQ(std::vector<int32_t>(static_cast<const int32_t*>(tokens->data), static_cast<const int32_t*>(tokens->data) + 5),
            (std::vector<int32_t>{1, 2, 3, 4, 5}));
  const glassbox::RawTensor* logits = f.find("logits");
  ASSERT_NE(logits, nullptr);
  EXPECT_EQ(logits->shape, (std::vector<int64_t>{1, 5, 211}));

  // The saved logits are the engine's.
  const glassbox::Model m = glassbox::Model::load(fixture("gpt2"));
  glassbox::Engine e(m);
  const glassbox::Tensor ref = e.logits(glassbox::Batch::single({1, 2, 3, 4, 5}));
  const float* got = static_cast<const float*>(logits->data);
  for (int64_t i = 0; i < ref.numel(); i += 97) EXPECT_NEAR(got[i], ref.f32()[i], 1e-5) << i;
}

TEST_F(Cli, CacheJsonSummarisesEveryTensor) {
  const std::string out = path("all.safetensors");
  const CliRun r = glassbox("cache " + gpt2() + " --tokens 1,2,3 --out '" + out + "' --json");
  EXPECT_OK(r);
  const json j = r.js();
  EXPECT_EQ(j["path"], out);
  size_t total = 0;
  for (const json& t : j["tensors"]) total += t["bytes"].get<size_t>();
  EXPECT_EQ(j["total_bytes"], total);
  EXPECT_EQ(j["n_tensors"], glassbox::SafetensorsFile::open(out).tensors().size());
}

TEST_F(Cli, CacheStoresBf16) {
  const std::string out = path("bf16.safetensors");
  EXPECT_OK(glassbox("cache " + gpt2() + " --tokens 1,2,3 --names blocks.0.hook_resid_post --dtype bf16 --out '" +
                     out + "'"));
  const auto f = glassbox::SafetensorsFile::open(out);
  const glassbox::RawTensor* t = f.find("blocks.0.hook_resid_post");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dtype, glassbox::DType::BF16);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{1, 3, 32}));
  EXPECT_NE(glassbox("cache " + gpt2() + " --tokens 1,2,3 --dtype f64 --out '" + out + "'").code, 0);
}

TEST_F(Cli, CachePositionsKeepOnlyThoseQueryPositions) {
  const std::string out = path("last.safetensors");
  EXPECT_OK(glassbox("cache " + gpt2() +
                     " --tokens 1,2,3,4 --names 'blocks.1.attn.hook_pattern' blocks.1.hook_resid_post --positions -1 "
                     "--out '" + out + "'"));
  auto f = glassbox::SafetensorsFile::open(out);
  EXPECT_EQ(f.find("blocks.1.attn.hook_pattern")->shape, (std::vector<int64_t>{1, 4, 1, 4}));
  EXPECT_EQ(f.find("blocks.1.hook_resid_post")->shape, (std::vector<int64_t>{1, 1, 32}));

  EXPECT_OK(glassbox("cache " + gpt2() +
                     " --tokens 1,2,3,4 --names blocks.0.hook_resid_pre,hook_embed --positions=-1,0 --out '" + out +
                     "'"));
  f = glassbox::SafetensorsFile::open(out);
  EXPECT_EQ(f.find("blocks.0.hook_resid_pre")->shape, (std::vector<int64_t>{1, 2, 32}));
  EXPECT_EQ(f.find("hook_embed")->shape, (std::vector<int64_t>{1, 2, 32}));
  EXPECT_EQ(f.tensors().size(), 4u);
}

TEST_F(Cli, CacheMaxMemoryIsCheckedBeforeRunning) {
  const std::string out = path("never.safetensors");
  const CliRun r = glassbox("cache " + gpt2() + " --tokens 1,2,3 --max-memory 1KiB --out '" + out + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("glassbox: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("max-memory"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_OK(glassbox("cache " + gpt2() + " --tokens 1,2,3 --max-memory 512MiB --out '" + out + "'"));
  EXPECT_OK(glassbox("cache " + gpt2() + " --tokens 1,2,3 --max-memory 100000000 --out '" + out + "'"));
  const CliRun bad = glassbox("cache " + gpt2() + " --tokens 1,2,3 --max-memory lots --out '" + out + "'");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("--max-memory"), std::string::npos) << bad.err;
}

// The cache streams to its file: a limit the whole in-memory cache would
// exceed is met by shrinking the writer's buffers, and the file is the same.
TEST_F(Cli, CacheMaxMemoryIsHonouredByStreaming) {
  const glassbox::StreamWriterOptions kSmallestPool{size_t(4) << 10, 2};  // cache.cpp, kMinChunkBytes
  const glassbox::Model m = glassbox::Model::load(fixture("gpt2"));
  glassbox::Engine e(m);
  const glassbox::Batch b = glassbox::Batch::single({1, 2, 3, 4, 5, 6});
  const size_t least = glassbox::estimate_stream_cache_bytes(e, b, {}, kSmallestPool);
  ASSERT_LT(least, glassbox::estimate_cache_run_bytes(e, b, {}));
  const std::string limited = path("limited.safetensors"), free = path("free.safetensors");
  EXPECT_OK(glassbox("cache " + gpt2() + " --tokens 1,2,3,4,5,6 --max-memory " + std::to_string(least) + " --out '" +
                     limited + "'"));
  EXPECT_OK(glassbox("cache " + gpt2() + " --tokens 1,2,3,4,5,6 --out '" + free + "'"));
  auto bytes = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  };
  EXPECT_EQ(bytes(limited), bytes(free));

  const CliRun r = glassbox("cache " + gpt2() + " --tokens 1,2,3,4,5,6 --max-memory " + std::to_string(least - 1) +
                            " --out '" + path("refused.safetensors") + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("needs at least " + glassbox::human_bytes(least)), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("refused.safetensors")));
}

TEST_F(Cli, CacheToMissingDirectoryNamesThePath) {
  const std::string out = path("no/such/dir/c.safetensors");
  const CliRun r = glassbox("cache " + gpt2() + " --tokens 1,2,3 --out '" + out + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(out), std::string::npos) << r.err;
}

// ------------------------------------------------------------------ generate

TEST_F(Cli, GenerateGreedyIsDeterministic) {
  const std::string args = "generate " + tiny() + " 'Once upon a time' -n 12 --greedy --ignore-eos --json";
  const CliRun a = glassbox(args), b = glassbox(args);
  EXPECT_OK(a);
  EXPECT_EQ(a.js()["tokens"].size(), 12u);
  EXPECT_EQ(a.js(), b.js());
  const CliRun human = glassbox("generate " + tiny() + " 'Once upon a time' -n 4 --greedy");
  EXPECT_OK(human);
  EXPECT_FALSE(human.out.empty());
}

TEST_F(Cli, GenerateSameSeedSameSample) {
  const std::string base = "generate " + tiny() + " 'Once' -n 24 --temperature 0.8 --top-k 40 --top-p 0.95 --ignore-eos --json";
  const json a = glassbox(base + " --seed 1").js(), b = glassbox(base + " --seed 1").js();
  const json c = glassbox(base + " --seed 2").js();
  EXPECT_EQ(a["tokens"], b["tokens"]);
  EXPECT_NE(a["tokens"], c["tokens"]);
}

TEST_F(Cli, GenerateWithTokensPrintsIds) {
  const CliRun r = glassbox("generate " + gpt2() + " --tokens 1,2,3 -n 5 --greedy");
  EXPECT_OK(r);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), ','), 4) << r.out;
}

TEST_F(Cli, GenerateAppliesInterventionsToEveryToken) {
  const std::string iv = write_file("ablate_gen.json", R"({"type": "zero_ablate", "hook": "blocks.*.hook_mlp_out"})");
  const std::string base = "generate " + gpt2() + " --tokens 5,17,42 -n 10 --greedy --json";
  const json plain = glassbox(base).js();
  const CliRun r = glassbox(base + " --intervene '" + iv + "'");
  EXPECT_OK(r);
  EXPECT_NE(plain["tokens"], r.js()["tokens"]);
  // With the same intervention, run's prediction is generate's first token.
  const json run = glassbox("run " + gpt2() + " --tokens 5,17,42 --json --intervene '" + iv + "'").js();
  EXPECT_EQ(run["top"][0]["id"], r.js()["tokens"][0]);
}

// ------------------------------------------------------------------ tokenize

TEST_F(Cli, TokenizeRoundTrips) {
  const std::string text = "Hello, world! <|endoftext|> caf\xC3\xA9";
  const CliRun r = glassbox("tokenize " + tiny() + " '" + text + "' --json");
  EXPECT_OK(r);
  const json j = r.js();
  ASSERT_TRUE(j["ids"].is_array());
  EXPECT_EQ(j["ids"].size(), j["pieces"].size());
  EXPECT_NE(std::find(j["ids"].begin(), j["ids"].end(), json(glassbox::cli::kTinyEndOfText)), j["ids"].end());
  std::string csv;
  for (const json& id : j["ids"]) csv += std::to_string(id.get<int>()) + ",";
  const CliRun back = glassbox("tokenize " + tiny() + " --decode " + csv);
  EXPECT_OK(back);
  EXPECT_EQ(back.out, text + "\n");
  EXPECT_EQ(glassbox("tokenize " + tiny() + " --decode " + csv + " --json").js()["text"], text);
}

TEST_F(Cli, TokenizeNoSpecialReadsSpecialTextAsBytes) {
  const json j = glassbox("tokenize " + tiny() + " '<|endoftext|>' --no-special --json").js();
  EXPECT_EQ(j["ids"].size(), 13u);
  const std::string file = write_file("tok.txt", "ab");
  EXPECT_EQ(glassbox("tokenize " + tiny() + " --file '" + file + "' --json").js()["ids"], json({'a', 'b'}));
  const CliRun human = glassbox("tokenize " + tiny() + " 'ab'");
  EXPECT_OK(human);
  EXPECT_NE(human.out.find("97,98"), std::string::npos) << human.out;
}

TEST_F(Cli, TokenizeWithoutTokenizerSuggestsTokens) {
  const CliRun r = glassbox("tokenize " + gpt2() + " 'hello'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--tokens"), std::string::npos) << r.err;
}

// ------------------------------------------------------------------ errors

TEST_F(Cli, UnknownHookNameNamesTheClosest) {
  const CliRun r = glassbox("cache " + gpt2() + " --tokens 1,2 --names blocks.0.attn.hook_patern --out '" +
                            path("x.safetensors") + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("glassbox: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("closest"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("blocks.0.attn.hook_pattern"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;  // one line
  EXPECT_EQ(glassbox("hooks " + gpt2() + " --pattern 'blocks.9.*'").code, 1);
}

TEST_F(Cli, PromptLongerThanTheContextFails) {
  std::string ids;
  for (int i = 0; i < 40; ++i) ids += std::to_string(i) + ",";  // n_ctx is 32
  for (const char* cmd : {"run", "cache --out x.safetensors"}) {
    const CliRun r = glassbox(std::string(cmd) + " " + gpt2() + " --tokens " + ids);
    EXPECT_EQ(r.code, 1) << cmd;
    EXPECT_NE(r.err.find("context"), std::string::npos) << r.err;
  }
  const CliRun g = glassbox("generate " + gpt2() + " --tokens 1,2,3 -n 40");
  EXPECT_EQ(g.code, 1);
  EXPECT_NE(g.err.find("context"), std::string::npos) << g.err;
}

TEST_F(Cli, TokenOutsideTheVocabularyFails) {
  const CliRun r = glassbox("run " + gpt2() + " --tokens 1,2,5000");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("5000"), std::string::npos) << r.err;
  EXPECT_EQ(glassbox("run " + gpt2() + " --tokens 1,x").code, 1);
}

TEST_F(Cli, NonexistentModelPathIsNamed) {
  const CliRun r = glassbox("info --model /no/such/model-dir");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("glassbox: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("/no/such/model-dir"), std::string::npos) << r.err;
}

TEST_F(Cli, MissingDefaultModelSaysToRunTheTour) {
  const fs::path empty = tmp_ / "empty-cwd";
  fs::create_directories(empty);
  const CliRun r = glassbox("run 'Hello'", empty);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("glassbox tour"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--model"), std::string::npos) << r.err;
}

TEST_F(Cli, TextAndTokensTogetherAreRejected) {
  EXPECT_NE(glassbox("run " + tiny() + " 'Hi' --tokens 1,2").code, 0);
}

// ------------------------------------------------------------------ tour

TEST_F(Cli, TourWritesItsCheckpointAndCacheAndIsTheDefaultModel) {
  const fs::path cwd = tmp_ / "tour-cwd";
  fs::create_directories(cwd);
  const CliRun r = glassbox("tour --json", cwd);
  EXPECT_OK(r);
  const json j = r.js();
  EXPECT_EQ(j["created"], true);
  EXPECT_TRUE(fs::exists(cwd / "out/tour/tiny-gpt2/config.json"));
  EXPECT_TRUE(fs::exists(cwd / "out/tour/tiny-gpt2/model.safetensors"));
  EXPECT_TRUE(fs::exists(cwd / "out/tour/tiny-gpt2/tokenizer.json"));
  EXPECT_TRUE(fs::exists(cwd / "out/tour/cache.safetensors"));
  EXPECT_EQ(j["top"].size(), 5u);
  EXPECT_EQ(j["generation"]["tokens"].size(), 16u);
  EXPECT_EQ(j["cache"]["attention_entropy"].size(), 4u);
  EXPECT_GT(j["cache"]["n_tensors"].get<int>(), 0);
  EXPECT_EQ(glassbox::SafetensorsFile::open((cwd / "out/tour/cache.safetensors").string()).tensors().size(),
            j["cache"]["n_tensors"].get<size_t>() + 2);  // + logits, tokens

  // Second run reuses the checkpoint; human output walks through every step.
  const CliRun again = glassbox("tour", cwd);
  EXPECT_OK(again);
  EXPECT_NE(again.out.find("using existing"), std::string::npos);
  EXPECT_NE(again.out.find("attention entropy"), std::string::npos);

  // Without --model, commands use the tour's checkpoint.
  const CliRun run = glassbox("run 'Hi' --json", cwd);
  EXPECT_OK(run);
  EXPECT_EQ(run.js()["tokens"], json({'H', 'i'}));

  // A custom --out directory.
  EXPECT_OK(glassbox("tour --out '" + path("elsewhere") + "'"));
  EXPECT_TRUE(fs::exists(tmp_ / "elsewhere/cache.safetensors"));
}

}  // namespace

// ------------------------------------------------------------------ training

namespace {
class CliTrain : public Cli {};
}  // namespace

TEST_F(CliTrain, TokenizerTrainThenTrainThenLoadTheResult) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "the quick brown fox jumps over the lazy dog " + std::to_string(i % 7) + "\n";
  write_file("corpus.txt", text);
  CliRun r = glassbox("tokenizer train corpus.txt --vocab-size 300 -o tok.json --json");
  EXPECT_OK(r);
  EXPECT_LE(r.js()["vocab_size"].get<int>(), 300);  // fewer when no pair is left to merge
  EXPECT_GT(r.js()["vocab_size"].get<int>(), 257);
  write_file("train.json", R"({
    "model": {"model_type": "gpt2", "n_embd": 32, "n_layer": 1, "n_head": 2, "n_positions": 32, "vocab_size": 300},
    "tokenizer": "tok.json",
    "data": {"text": "corpus.txt", "batch_size": 4, "seq_len": 16, "val_fraction": 0.1},
    "train": {"steps": 40, "optimizer": {"lr": 0.01}, "eval_every": 20, "out_dir": "trained", "progress": false}})");
  r = glassbox("--threads 1 train train.json --json");
  EXPECT_OK(r);
  const json j = r.js();
  EXPECT_EQ(j["steps"], 40);
  EXPECT_LT(j["final_eval_loss"].get<double>(), j["unigram_eval_loss"].get<double>());  // it learned more than unigrams
  // The result is an ordinary HF GPT-2 checkpoint with its tokenizer.
  r = glassbox("--threads 1 run --model trained 'the quick brown' --json");
  EXPECT_OK(r);
}

TEST_F(CliTrain, BadTrainConfigNamesTheField) {
  write_file("bad.json", R"({"tokenizer": "tok.json", "data": {"text": "corpus.txt"}, "train": {"steps": "many"}})");
  const CliRun r = glassbox("train bad.json");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("wrong type"), std::string::npos) << r.err;
}

TEST_F(CliTrain, MalformedOrMistypedTrainConfigNamesTheFile) {
  write_file("broken.json", R"({"tokenizer": "tok.json", "data": )");
  CliRun r = glassbox("train broken.json");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("broken.json"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("malformed JSON"), std::string::npos) << r.err;
  write_file("mistyped.json", R"({"tokenizer": 5, "data": {"text": "corpus.txt"}, "train": {"out_dir": "x"}})");
  r = glassbox("train mistyped.json");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("mistyped.json"), std::string::npos) << r.err;
}

// ------------------------------------------------------------------ analysis commands

TEST_F(Cli, LensJsonHasEveryLayerAndPositionAndWritesHtml) {
  const CliRun r = glassbox("lens " + gpt2() + " --tokens 1,2,3,4 --target '#5' --json --html lens.html");
  EXPECT_OK(r);
  const auto j = r.js();
  EXPECT_EQ(j["layers"].size(), 3u);  // 2 layers' resid_pre + the final resid_post
  EXPECT_EQ(j["cells"][0].size(), 4u);
  EXPECT_EQ(j["cells"][0][0]["target"], 5);
  EXPECT_TRUE(fs::exists(tmp_ / "lens.html"));
}

// `--model NAME` takes a shipped model's name as glassbox.load(NAME) does
// (zoo::resolve_model): a directory in GLASSBOX_MODELS, here one holding the tiny model.
TEST_F(Cli, ModelFlagAcceptsAShippedModelsName) {
  const fs::path models = tmp_ / "named-models";
  fs::create_directories(models);
  fs::create_symlink(tmp_ / "tiny", models / "mytiny");
  models_dir_ = models.string();
  const CliRun r = glassbox("lens --model mytiny --tokens 1,2,3 --json");
  const CliRun bad = glassbox("lens --model nosuch --tokens 1,2,3 --json");
  models_dir_.clear();
  EXPECT_OK(r);
  EXPECT_EQ(r.js()["cells"][0].size(), 3u);
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("nosuch: no such file or directory, and not a shipped organism (mytiny)"), std::string::npos)
      << bad.err;
}

TEST_F(Cli, DlaComponentsSumToTheLogitDifference) {
  const CliRun r = glassbox("dla " + gpt2() + " --tokens 1,2,3,4 --answer '#5' --wrong '#6' --json");
  EXPECT_OK(r);
  const auto j = r.js();  // not r.js()["by_layer"] in the loop: that would iterate a destroyed temporary
  double sum = 0;
  for (const auto& c : j["by_layer"]) sum += c["value"].get<double>();
  EXPECT_NEAR(sum, j["logit"].get<double>(), 1e-3);
}

TEST_F(Cli, DlaRejectsAnAnswerOfSeveralTokens) {
  const CliRun r = glassbox("dla " + tiny() + " 'Hello there' --answer ' two words'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--answer"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("exactly one"), std::string::npos) << r.err;
}

TEST_F(Cli, HeadsScoresEveryHeadForEachDetector) {
  const CliRun r = glassbox("heads " + gpt2() + " --seq 6 --rows 2 --json --circuit 1.0");
  EXPECT_OK(r);
  const auto j = r.js();
  ASSERT_EQ(j["scores"].size(), 4u);  // previous, duplicate, induction, copying
  for (const auto& s : j["scores"]) EXPECT_EQ(s["scores"].size(), 2u * 4u) << s["name"];
  EXPECT_EQ(j["circuit"]["layer"], 1);
  EXPECT_NE(glassbox("heads " + gpt2() + " --circuit 9.0").err.find("--circuit: layer 9"), std::string::npos);
}

TEST_F(Cli, PatchBothMethodsAgreeOnTheShapeAndReportTheirCorrelation) {
  const CliRun r = glassbox("patch " + gpt2() +
                            " --clean-tokens 1,2,3,4 --corrupt-tokens 1,9,3,4 --answer '#5' --wrong '#6' "
                            "--sites resid_pre,z --method both --json --html patch.html");
  EXPECT_OK(r);
  const auto j = r.js();
  ASSERT_EQ(j["grids"].size(), 4u);
  EXPECT_EQ(j["grids"][0]["technique"], "activation_patching");
  EXPECT_EQ(j["grids"][2]["technique"], "attribution_patching");
  EXPECT_EQ(j["grids"][0]["values"].size(), 2u * 4u);  // layers x positions
  // Patching the whole residual stream at the corrupted position restores the clean run.
  EXPECT_NEAR(j["grids"][0]["values"][1].get<double>(), 1.0, 1e-4);
  EXPECT_TRUE(j["correlation"].contains("hook_resid_pre"));
  EXPECT_TRUE(fs::exists(tmp_ / "patch.html"));
}

TEST_F(Cli, PatchPathToTheLogitsIsAGridOverSenderHeads) {
  const CliRun r = glassbox("patch " + gpt2() +
                            " --clean-tokens 1,2,3,4 --corrupt-tokens 1,9,3,4 --answer '#5' --wrong '#6' "
                            "--method path --receivers logits --json");
  EXPECT_OK(r);
  EXPECT_EQ(r.js()["grids"][0]["technique"], "path_patching");
  EXPECT_EQ(r.js()["grids"][0]["values"].size(), 2u * 4u);
  EXPECT_NE(glassbox("patch " + gpt2() + " --clean-tokens 1,2 --corrupt-tokens 1,9 --answer '#5' --wrong '#6' "
                     "--method path --receivers 1.0.x").err.find("--receivers"),
            std::string::npos);
}

TEST_F(Cli, PatchRejectsPromptsOfDifferentLengths) {
  const CliRun r = glassbox("patch " + gpt2() + " --clean-tokens 1,2,3 --corrupt-tokens 1,2 --answer '#5' --wrong '#6'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("same length"), std::string::npos) << r.err;
}

TEST_F(Cli, CircuitKeepsEdgesAndWritesTheGraphPage) {
  const CliRun r = glassbox("circuit " + gpt2() +
                            " --clean-tokens 1,2,3,4 --corrupt-tokens 1,9,3,4 --answer '#5' --wrong '#6' "
                            "--method eap --json --html circuit.html");
  EXPECT_OK(r);
  const auto j = r.js();
  EXPECT_EQ(j["method"], "eap");
  EXPECT_GT(j["n_edges"].get<int>(), 0);
  EXPECT_GE(j["circuit_faithfulness"].get<double>(), 0.9);  // the default target
  EXPECT_TRUE(fs::exists(tmp_ / "circuit.html"));
  EXPECT_NE(glassbox("circuit " + gpt2() + " --clean-tokens 1,2 --corrupt-tokens 1,9 --answer '#5' --wrong '#6' "
                     "--method nope").err.find("--method"),
            std::string::npos);
}

// Grouped-query attention (llama: 4 query heads, 2 kv heads) and a parallel
// residual (neox): the graph names kv-head receivers and joins no head of
// layer l to MLP l.
TEST_F(Cli, CircuitRunsOnGroupedQueryAndParallelResidualModels) {
  for (const char* f : {"llama", "neox"}) {
    const CliRun r = glassbox("circuit --model '" + fixture(f) +
                              "' --clean-tokens 1,2,3,4,5 --corrupt-tokens 1,9,3,8,5 --answer '#5' --wrong '#6' "
                              "--method eap --json");
    EXPECT_OK(r);
    const auto j = r.js();
    std::set<std::string> to;
    for (const auto& e : j["edges"]) to.insert(e["to"].get<std::string>() + "|" + e["from"].get<std::string>());
    if (std::string(f) == "llama") {
      EXPECT_TRUE(to.count("a1.kv1<k>|a0.h3")) << f;
      EXPECT_TRUE(to.count("a1.h3<q>|a0.h3")) << f;
      EXPECT_FALSE(to.count("a1.h3<k>|a0.h3")) << f;  // h3 shares kv head 1 with h2
    } else {
      EXPECT_TRUE(to.count("m0|input")) << f;
      EXPECT_FALSE(to.count("m0|a0.h0")) << f;
      EXPECT_TRUE(to.count("m1|a0.h0")) << f;
    }
  }
}

TEST_F(Cli, TunedLensTrainSavesALensThatLensApplies) {
  const CliRun t = glassbox("tuned-lens train " + tiny() + " --sample 600 --steps 5 -o lens --json");
  EXPECT_OK(t);
  EXPECT_TRUE(fs::exists(tmp_ / "lens" / "params.safetensors"));
  EXPECT_EQ(t.js()["comparison"]["layers"].size(), t.js()["comparison"]["tuned_lens_kl"].size());
  EXPECT_OK(glassbox("lens " + tiny() + " 'Hello' --tuned lens"));
  EXPECT_NE(glassbox("lens " + gpt2() + " --tokens 1,2 --tuned lens").code, 0);  // a lens for another model
}

TEST_F(Cli, CompareAModelWithItselfHasTheSameRolesAndFullCircuitOverlap) {
  const std::string models = "--models '" + fixture("gpt2") + "," + fixture("gpt2") + "'";
  const CliRun r = glassbox("compare " + models +
                            " --seq 6 --rows 2 --clean-tokens 1,2,3,4 --corrupt-tokens 1,9,3,4 --answer '#5' "
                            "--wrong '#6' --method eap --json --html compare.html");
  EXPECT_OK(r);
  const auto j = r.js();
  ASSERT_EQ(j["roles"]["models"].size(), 2u);
  EXPECT_EQ(j["roles"]["models"][1]["name"], "gpt2#2");
  EXPECT_EQ(j["roles"]["models"][0]["best"], j["roles"]["models"][1]["best"]);
  EXPECT_EQ(j["roles"]["models"][0]["scores"].size(), 4u);  // previous, duplicate, induction, copying
  EXPECT_EQ(j["circuits"]["edges"]["jaccard"][0][1], 1.0);
  EXPECT_TRUE(fs::exists(tmp_ / "compare.html"));
  const CliRun one = glassbox("compare --models '" + fixture("gpt2") + "'");
  EXPECT_EQ(one.code, 1);
  EXPECT_NE(one.err.find("at least two"), std::string::npos) << one.err;
}

// ------------------------------------------------------------------ tour report in a real browser

TEST_F(Cli, TourReportRendersEveryChartInChromium) {
  models_dir_ = std::string(GLASSBOX_SOURCE_DIR) + "/models";  // the shipped organisms
  const CliRun r = glassbox("tour --out tour-html --json");
  models_dir_.clear();
  EXPECT_OK(r);
  const std::string index = r.js()["report"];
  ASSERT_TRUE(fs::exists(tmp_ / index)) << index;
  // The Features page, with tiny-lm's SAE dashboards beside it (they need the held-out fortunes).
  EXPECT_TRUE(fs::exists(tmp_ / "tour-html" / "features.html"));
  if (fs::exists(source_path("data/zoo-src/fortunes"))) {
    EXPECT_TRUE(fs::exists(tmp_ / "tour-html" / "dashboards" / "index.html"));
  }
  const std::string chromium = gbtest::find_chromium();
  if (chromium.empty()) GTEST_SKIP() << "chromium not installed (Debian 'chromium', scripts/install-deps.sh)";
  // Every page of the site: charts drawn as SVG by vega-embed, no error boxes.
  int pages = 0;
  for (const auto& f : fs::directory_iterator(tmp_ / "tour-html")) {
    if (f.path().extension() != ".html") continue;
    const std::string html = slurp(f.path());
    size_t charts = 0;
    for (size_t p = html.find("class=\"chart\""); p != std::string::npos; p = html.find("class=\"chart\"", p + 1)) ++charts;
    const std::string name = "page" + std::to_string(pages++);
    ASSERT_EQ(gbtest::run_chromium(chromium, tmp_.string(), name, "--dump-dom", "file://" + f.path().string()), 0);
    const std::string dom = slurp(tmp_ / (name + ".out"));
    size_t svgs = 0;
    for (size_t p = dom.find("class=\"marks\""); p != std::string::npos; p = dom.find("class=\"marks\"", p + 1)) ++svgs;
    EXPECT_EQ(svgs, charts) << f.path();
    EXPECT_EQ(dom.find("class=\"chart chart-failed\""), std::string::npos) << f.path();
  }
  EXPECT_GE(pages, 1);
}
