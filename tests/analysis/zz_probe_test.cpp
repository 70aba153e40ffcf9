#include <gtest/gtest.h>
#include <chrono>
#include <iostream>
#include "analysis_test_util.h"
#include "glassbox/analysis/head_detectors.h"
#include "glassbox/engine.h"
using namespace glassbox;
TEST(Probe, Train) {
  int steps = std::atoi(getenv("STEPS")); float lr = std::atof(getenv("LR"));
  auto t0 = std::chrono::steady_clock::now();
  glassbox::Trainable tr = glassbox::Trainable::init(antest::induction_config(), 3);
  glassbox::TrainConfig c;
  c.steps = steps; c.optimizer.lr = lr; c.schedule.warmup_steps = 20; c.progress = false; c.eval_every = 0; c.log_every = 50; c.seed = 5;
  auto r = glassbox::train(tr, c, antest::induction_batch);
  for (auto& l : r.log) std::cout << l.step << " " << l.loss << "\n";
  std::cout << "train s " << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << "\n";
  Engine e(tr.model());
  Batch b = analysis::repeated_random_tokens(antest::kIndVocab, antest::kIndHalf, 8, 1);
  analysis::HeadDetectorOptions o; o.matched_rows_only = true;
  auto s = analysis::head_detection_scores(e, b, {analysis::HeadPattern::PreviousToken, analysis::HeadPattern::Induction}, o);
  for (auto& hs : s) { std::cout << hs.name << ":"; for (float x : hs.scores) std::cout << " " << x; std::cout << "\n"; }
}
