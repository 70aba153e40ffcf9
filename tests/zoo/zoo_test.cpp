// The model organisms: shipped weights meet their behavioural thresholds on
// held-out data, the manifest matches the files, and recipes are
// deterministic with disjoint held-out splits.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include <unistd.h>

#include "glassbox/model.h"
#include "glassbox/threads.h"
#include "glassbox/tokenizer.h"
#include "glassbox/trainable.h"
#include "glassbox/zoo.h"
#include "zoo/detail.h"

namespace fs = std::filesystem;
using namespace glassbox;
using nlohmann::json;

namespace {

// The recipes' corpora come from scripts/zoo-data.sh (scripts/test.sh runs it).
// Missing corpora fail under CI and skip loudly elsewhere.
bool have_corpora() {
  const fs::path d = zoo::data_dir();
  if (fs::exists(d / "names/male.json") && fs::exists(d / "names/female.json") && fs::exists(d / "wordnet/data.noun") &&
      fs::exists(d / "wordnet/index.noun"))
    return true;
  std::fprintf(stderr,
               "\n**********************************************************************\n"
               "*** zoo corpora missing in %s\n"
               "*** run scripts/zoo-data.sh; skipping the tests that need them\n"
               "**********************************************************************\n\n",
               d.c_str());
  return false;
}

#define REQUIRE_CORPORA(needs)                                                              \
  do {                                                                                      \
    if ((needs) && !have_corpora()) {                                                       \
      if (std::getenv("CI")) FAIL() << "zoo corpora missing under CI: run scripts/zoo-data.sh"; \
      GTEST_SKIP() << "zoo corpora missing: run scripts/zoo-data.sh";                       \
    }                                                                                       \
  } while (0)

// modadd builds its data from nothing; the others read the corpora.
bool needs_corpora(const std::string& name) { return name != "modadd"; }

fs::path organism_dir(const std::string& name) { return fs::path(zoo::models_dir()) / name; }

// The transformer organisms: the per-organism tests below read recipes,
// tokenizers and engine models (the toy superposition organism has its own
// tests in superposition_test.cpp).
std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const auto& o : zoo::organisms())
    if (o.is_transformer()) out.push_back(o.name);
  return out;
}

struct Threads {
  Threads() { set_num_threads(2); }
} const threads;

}  // namespace

TEST(Zoo, Sha256MatchesFips180Vectors) {
  EXPECT_EQ(zoo::sha256_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(zoo::sha256_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(zoo::sha256_hex(two_blocks.data(), two_blocks.size()),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Zoo, UnknownOrganismListsTheKnownOnes) {
  try {
    zoo::find_organism("nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ioi"), std::string::npos) << e.what();
  }
}

TEST(Zoo, MalformedManifestIsAnErrorNamingIt) {
  const fs::path p = fs::temp_directory_path() / ("glassbox-manifest-" + std::to_string(::getpid()) + ".json");
  std::ofstream(p) << R"({"organisms": {"ioi": )";
  try {
    zoo::read_manifest(p.string());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
  }
  fs::remove(p);
}

// Every organism ships, passing its checks, and nothing else sits in models/.
TEST(Zoo, EveryOrganismIsShippedAndInTheManifest) {
  const json man = zoo::read_manifest();
  for (const zoo::Organism& o : zoo::organisms()) {
    EXPECT_TRUE(fs::exists(organism_dir(o.name) / "model.safetensors")) << o.name << " is not shipped";
    ASSERT_TRUE(man["organisms"].contains(o.name)) << o.name << " is not in the manifest";
    EXPECT_TRUE(man["organisms"][o.name]["passed"].get<bool>()) << o.name;
  }
  for (const auto& e : fs::directory_iterator(zoo::models_dir())) {
    // Every checkpoint directory is a listed organism; models/constitutions
    // (the shipped constitution's profiles) holds no checkpoint.
    if (!e.is_directory() || !fs::exists(e.path() / "config.json")) continue;
    EXPECT_TRUE(man["organisms"].contains(e.path().filename().string())) << e.path();
  }
}

TEST(Zoo, ShippedOrganismsFitTheSizeBudget) {
  uintmax_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(zoo::models_dir()))
    if (e.is_regular_file()) total += e.file_size();
  EXPECT_LE(total, 30u << 20) << "models/ holds " << total << " bytes";
}

TEST(Zoo, ManifestDigestsMatchTheFiles) {
  const json man = zoo::read_manifest();
  if (man["organisms"].empty()) GTEST_SKIP() << "no organism is shipped yet";
  for (const auto& [name, entry] : man["organisms"].items()) {
    const fs::path dir = fs::path(zoo::models_dir()) / entry.value("dir", name);
    for (const auto& [file, info] : entry["files"].items()) {
      SCOPED_TRACE(name + "/" + file);
      ASSERT_TRUE(fs::exists(dir / file));
      EXPECT_EQ(zoo::sha256_file((dir / file).string()), info["sha256"].get<std::string>());
      EXPECT_EQ(fs::file_size(dir / file), info["bytes"].get<uintmax_t>());
    }
    EXPECT_TRUE(entry["passed"].get<bool>()) << name << " was recorded as failing its checks";
  }
}

TEST(Zoo, DefaultModelIsTheIoiOrganismAndReadsWords) {
  if (!fs::exists(organism_dir("ioi") / "model.safetensors")) GTEST_SKIP() << "ioi is not shipped";
  EXPECT_EQ(fs::path(zoo::default_model()).filename(), "ioi");
  const Model m = Model::load(zoo::default_model());
  ASSERT_NE(m.tokenizer(), nullptr);
  const Tokenizer& tok = *m.tokenizer();
  const auto ids = tok.encode("When Mary and John went to the store, John gave a drink to");
  ASSERT_EQ(ids.size(), 15u);  // <|endoftext|> + 14 words and commas, one id each
  EXPECT_EQ(ids[0], tok.bos_id());
  EXPECT_EQ(tok.decode(std::span(ids).subspan(1)), " When Mary and John went to the store, John gave a drink to");
  Engine e(m);
  const Tensor logits = e.logits(Batch::single(ids));
  const int64_t V = m.config().d_vocab;
  const float* last = logits.f32() + (static_cast<int64_t>(ids.size()) - 1) * V;
  EXPECT_EQ(tok.token_to_bytes(zoo::detail::argmax(last, V)), " Mary");
}

// ------------------------------------------------------------------ per organism

class ZooOrganism : public testing::TestWithParam<std::string> {
 protected:
  const zoo::Organism& org() const { return zoo::find_organism(GetParam()); }
};

TEST_P(ZooOrganism, ShippedModelMeetsItsChecksOnHeldOutData) {
  if (!fs::exists(organism_dir(GetParam()) / "model.safetensors"))
    GTEST_SKIP() << GetParam() << " is not shipped (glassbox zoo train " << GetParam() << ")";
  REQUIRE_CORPORA(needs_corpora(GetParam()));
  const json report = zoo::evaluate_organism(org());
  for (const auto& c : report["checks"])
    EXPECT_TRUE(c["passed"].get<bool>()) << GetParam() << ": " << c.dump();
  // The recomputed metrics are the recorded ones.
  const json man = zoo::read_manifest();
  ASSERT_TRUE(man["organisms"].contains(GetParam()));
  for (const auto& c : org().checks)
    EXPECT_NEAR(report["metrics"][c.metric].get<double>(),
                man["organisms"][GetParam()]["metrics"][c.metric].get<double>(), 1e-4)
        << c.metric;
}

TEST_P(ZooOrganism, RecipeIsDeterministic) {
  REQUIRE_CORPORA(needs_corpora(GetParam()));
  const zoo::Recipe a = org().recipe(zoo::data_dir());
  const zoo::Recipe b = org().recipe(zoo::data_dir());
  EXPECT_EQ(a.config, b.config);
  EXPECT_EQ(a.tokenizer, b.tokenizer);
  EXPECT_EQ(a.train_items, b.train_items);
  EXPECT_EQ(a.heldout_items, b.heldout_items);
  std::mt19937_64 ra(42), rb(42);
  for (int i = 0; i < 3; ++i) {
    const TrainBatch x = a.train_batches(ra), y = b.train_batches(rb);
    EXPECT_EQ(x.batch.tokens, y.batch.tokens);
    EXPECT_EQ(x.batch.mask, y.batch.mask);
    EXPECT_EQ(x.targets, y.targets);
    EXPECT_GT(std::count_if(x.targets.begin(), x.targets.end(), [](int32_t t) { return t >= 0; }), 0);
  }
  std::mt19937_64 rc(43);
  EXPECT_NE(a.train_batches(rc).batch.tokens, b.train_batches(rb).batch.tokens) << "the seed is ignored";
}

// The tour and the ground-truth tests read the probes from the manifest.
TEST_P(ZooOrganism, ManifestProbesAreTheRecipesAndTokenizeAsPairs) {
  if (!fs::exists(organism_dir(GetParam()) / "model.safetensors")) GTEST_SKIP() << GetParam() << " is not shipped";
  REQUIRE_CORPORA(needs_corpora(GetParam()));
  const zoo::Recipe r = org().recipe(zoo::data_dir());
  const json probes = zoo::read_manifest()["organisms"][GetParam()].value("probes", json::array());
  EXPECT_EQ(probes, r.probes);
  const Model m = Model::load(organism_dir(GetParam()).string());
  for (const auto& p : probes) {
    const Tokenizer& tok = *m.tokenizer();
    EXPECT_EQ(tok.encode(p["clean"].get<std::string>()).size(), tok.encode(p["corrupt"].get<std::string>()).size())
        << p.dump();
    EXPECT_EQ(tok.encode(p["answer"].get<std::string>(), false).size(), 1u) << p.dump();
    EXPECT_EQ(tok.encode(p["wrong"].get<std::string>(), false).size(), 1u) << p.dump();
  }
}

TEST_P(ZooOrganism, HeldOutSplitIsDisjointFromTraining) {
  REQUIRE_CORPORA(needs_corpora(GetParam()));
  const zoo::Recipe r = org().recipe(zoo::data_dir());
  const std::set<std::string> train(r.train_items.begin(), r.train_items.end());
  for (const auto& h : r.heldout_items) EXPECT_FALSE(train.count(h)) << h << " is in both splits";
}

TEST_P(ZooOrganism, TokenizerJsonLoadsAndSplitsWords) {
  REQUIRE_CORPORA(needs_corpora(GetParam()));
  const zoo::Recipe r = org().recipe(zoo::data_dir());
  const fs::path p = fs::temp_directory_path() / ("glassbox_zoo_tok_" + GetParam() + ".json");
  std::ofstream(p) << r.tokenizer.dump();
  const Tokenizer tok = Tokenizer::from_hf_json(p.string());
  fs::remove(p);
  EXPECT_EQ(tok.vocab_size(), r.config.value("vocab_size", r.config.value("d_vocab", 0)));
  // Every training token decodes to a piece that encodes back to itself.
  std::mt19937_64 rng(1);
  const TrainBatch tb = r.train_batches(rng);
  for (int64_t b = 0; b < std::min<int64_t>(tb.batch.B, 4); ++b) {
    std::vector<int32_t> row;
    for (int64_t t = 0; t < tb.batch.T; ++t)
      if (tb.batch.valid(b, t) && tb.batch.tokens[static_cast<size_t>(b * tb.batch.T + t)] != tok.bos_id())
        row.push_back(tb.batch.tokens[static_cast<size_t>(b * tb.batch.T + t)]);
    EXPECT_EQ(tok.encode(tok.decode(row), /*add_special=*/false), row) << tok.decode(row);
  }
}

INSTANTIATE_TEST_SUITE_P(All, ZooOrganism, testing::ValuesIn(names()),
                         [](const testing::TestParamInfo<std::string>& i) {
                           std::string s = i.param;
                           for (char& c : s)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return s;
                         });

// ------------------------------------------------------------------ training

// A few steps of the ioi recipe already lower the loss (the whole run takes minutes).
TEST(Zoo, ShortIoiTrainingLowersTheLoss) {
  REQUIRE_CORPORA(true);
  const zoo::Organism& o = zoo::find_organism("ioi");
  zoo::Recipe r = o.recipe(zoo::data_dir());
  TrainConfig cfg = r.train;
  cfg.steps = 30;
  cfg.progress = false;
  cfg.eval_every = 0;
  cfg.log_every = 5;
  cfg.seed = o.seed;
  Trainable tr = Trainable::init(r.config, o.seed);
  const TrainResult res = train(tr, cfg, r.train_batches);
  ASSERT_GE(res.log.size(), 2u);
  EXPECT_LT(res.log.back().loss, res.log.front().loss - 0.05);
}

TEST(Zoo, TrainOrganismWritesFilesAndManifestEntry) {
  const fs::path out = fs::temp_directory_path() / "glassbox_zoo_train_test";
  fs::remove_all(out);
  zoo::TrainOptions opt;
  opt.out_dir = (out / "modadd").string();
  opt.steps = 3;
  opt.progress = false;
  const zoo::TrainOutcome res = zoo::train_organism(zoo::find_organism("modadd"), opt);
  const json man = zoo::read_manifest((out / "manifest.json").string());
  ASSERT_TRUE(man["organisms"].contains("modadd"));
  for (const char* f : {"model.safetensors", "config.json", "tokenizer.json", "train_log.json"}) {
    ASSERT_TRUE(fs::exists(out / "modadd" / f)) << f;
    EXPECT_EQ(man["organisms"]["modadd"]["files"][f]["sha256"], zoo::sha256_file((out / "modadd" / f).string()));
  }
  EXPECT_EQ(man["organisms"]["modadd"]["seed"], zoo::find_organism("modadd").seed);
  EXPECT_TRUE(res.metrics.contains("test_accuracy"));
  EXPECT_FALSE(res.entry["passed"].get<bool>());  // 3 steps do not grok
  fs::remove_all(out);
}
