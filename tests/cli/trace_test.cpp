// glassbox trace: one prompt and a facts file, text / --json / --html, and the
// errors a user meets (subject not in the prompt, an answer of several tokens,
// a malformed facts file).
#include <gtest/gtest.h>

#include "cli_util.h"

namespace glassbox {
namespace {

using namespace cli_test;

TEST(CliTrace, OnePromptAsJsonAndHtml) {
  const fs::path dir = fresh_temp_dir("trace");
  const std::string model = "--model " + quoted(source_path("models/tiny-lm"));
  const CliRun r = run_glassbox("trace " + model +
                                    " 'Mina Selia lives in the city of' --subject 'Mina Selia' --samples 2 --json "
                                    "--html t.html",
                                dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = r.js();
  ASSERT_EQ(j["prompts"].size(), 1u);
  const nlohmann::json& p = j["prompts"][0];
  EXPECT_EQ(p["subject"], "Mina Selia");
  const int64_t T = int64_t(p["tokens"].size());
  ASSERT_EQ(p["effect"]["mlp"].size(), 4u);      // tiny-lm's layers
  EXPECT_EQ(int64_t(p["effect"]["mlp"][0].size()), T);
  EXPECT_GT(p["p_clean"].get<double>(), p["p_corrupt"].get<double>());
  // The last layer's residual at the last token restores the clean run.
  EXPECT_NEAR(p["effect"]["resid"][3][size_t(T - 1)].get<double>(),
              p["p_clean"].get<double>() - p["p_corrupt"].get<double>(), 1e-6);
  EXPECT_EQ(j["averages"]["attn"]["last token"]["prompts"], 1);
  const std::string html = slurp(dir / "t.html");
  EXPECT_NE(html.find("last subject token"), std::string::npos);
  EXPECT_NE(html.find("vega"), std::string::npos);

  const CliRun text = run_glassbox("trace " + model + " 'Mina Selia lives in the city of' --subject 'Mina Selia' "
                                                      "--samples 2 --sites mlp --window 2 --quiet",
                                   dir);
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("indirect effect, mlp"), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find("indirect effect, attn"), std::string::npos) << text.out;
}

TEST(CliTrace, FactsFileAveragesByRole) {
  const fs::path dir = fresh_temp_dir("trace-facts");
  std::ofstream(dir / "facts.json") << R"([{"prompt": "Mina Selia lives in", "subject": "Mina Selia"},
                                          {"prompt": "The home of Bob Marley is in", "subject": "Bob Marley"}])";
  const CliRun r = run_glassbox("trace --model " + quoted(source_path("models/tiny-lm")) +
                                    " --facts facts.json --samples 2 --sites mlp,attn --json",
                                dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = r.js();
  EXPECT_EQ(j["n_prompts"], 2);
  EXPECT_EQ(j["averages"]["mlp"]["last subject token"]["prompts"], 2);
  EXPECT_EQ(j["averages"]["mlp"]["last subject token"]["effect"].size(), 4u);
  EXPECT_FALSE(j["averages"].contains("resid"));
  const CliRun text = run_glassbox("trace --model " + quoted(source_path("models/tiny-lm")) +
                                       " --facts facts.json --samples 2 --quiet",
                                   dir);
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("first subsequent token"), std::string::npos) << text.out;
  // --skip and --limit take a slice of the file.
  const CliRun slice = run_glassbox("trace --model " + quoted(source_path("models/tiny-lm")) +
                                        " --facts facts.json --skip 1 --limit 1 --samples 1 --sites mlp --json",
                                    dir);
  ASSERT_EQ(slice.code, 0) << slice.err;
  EXPECT_EQ(slice.js()["n_prompts"], 1);
  EXPECT_EQ(slice.js()["prompts"][0]["subject"], "Bob Marley");
}

TEST(CliTrace, ClearErrors) {
  const fs::path dir = fresh_temp_dir("trace-errors");
  const std::string model = "trace --model " + quoted(source_path("models/tiny-lm"));
  CliRun r = run_glassbox(model + " 'Mina Selia lives in' --subject 'Bob Smith'", dir);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("subject 'Bob Smith' is not in the prompt"), std::string::npos) << r.err;
  r = run_glassbox(model + " 'Mina Selia lives in' --subject 'Mina Selia' --answer ' Jerusalem'", dir);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("not one"), std::string::npos) << r.err;
  r = run_glassbox(model + " 'Mina Selia lives in'", dir);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--subject is required"), std::string::npos) << r.err;
  r = run_glassbox(model + " 'Mina Selia lives in' --subject Mina --sites resid,bogus", dir);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("bogus"), std::string::npos) << r.err;
  std::ofstream(dir / "bad.json") << R"([{"prompt": "Mina Selia lives in"}])";
  r = run_glassbox(model + " --facts bad.json", dir);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("bad.json: fact 0: needs a \"subject\""), std::string::npos) << r.err;
  std::ofstream(dir / "two.json") << R"([{"prompt": "Mina Selia lives in", "subject": "Mina Selia"},
                                          {"prompt": "Bob Marley lives in", "subject": "Bob Marley"}])";
  r = run_glassbox(model + " --facts two.json --skip 2", dir);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("two.json: --skip 2 leaves none of its 2 facts"), std::string::npos) << r.err;
  r = run_glassbox("trace --help", dir);
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--window"), std::string::npos);
}

}  // namespace
}  // namespace glassbox
