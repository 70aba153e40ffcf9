// Head detectors on the induction organism: previous-token and induction
// scores on repeated random tokens, the OV copying score, and the QK circuit
// of the induction head over a few tokens.
// ctest expects: induction: best L1H[0-3] 0\.9[0-9]+
#include <cstdio>
#include <glassbox/analysis/head_circuits.h>
#include <glassbox/analysis/head_detectors.h>
#include <glassbox/threads.h>
#include <glassbox/zoo.h>

using namespace glassbox;

int main(int, char** argv) {
  ensure_passive_openmp(argv);
  Model m = Model::load(zoo::models_dir() + "/induction");
  Engine e(m);

  // [bos] r r: 8 rows of 20 random tokens, each repeated once.
  Batch b = analysis::repeated_random_tokens(m, /*seq_len=*/20, /*rows=*/8, /*seed=*/0);
  analysis::HeadDetectorOptions o;
  o.matched_rows_only = true;                    // Olsson et al.'s score: only rows the pattern points from
  std::vector<analysis::HeadScores> scores = analysis::head_detection_scores(
      e, b, {analysis::HeadPattern::PreviousToken, analysis::HeadPattern::Induction}, o);
  scores.push_back(analysis::copying_scores(m));  // OV eigenvalue positivity

  for (const analysis::HeadScores& s : scores) {
    auto [l, h] = s.ranked().front();
    std::printf("%s: best L%dH%d %.3f\n", s.name.c_str(), l, h, s.at(l, h));
  }
  auto [il, ih] = scores[1].ranked().front();
  analysis::TokenMatrix qk = analysis::qk_circuit(m, il, ih, {5, 6, 7});
  std::printf("QK circuit of L%dH%d over tokens 5,6,7: %.2f %.2f %.2f\n", il, ih, qk.at(0, 0), qk.at(0, 1), qk.at(0, 2));
  return scores[0].ranked().front().first == 0 && il == 1 ? 0 : 1;  // previous-token in L0, induction in L1
}
