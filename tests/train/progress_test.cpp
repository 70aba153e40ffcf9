// The shared progress bar (glassbox/progress.h) as a log sees it: stderr is
// captured (a file, not a terminal), so it draws a line per tenth of the work
// when asked and nothing otherwise.
#include "glassbox/progress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

using namespace glassbox;

namespace {

std::string drawn(ProgressWhen when, int64_t total, int64_t start = 0) {
  ::testing::internal::CaptureStderr();
  ProgressBar bar("train", "steps", when);
  bar.set_start(start);
  for (int64_t i = start + 1; i <= total; ++i) bar.update(i, total, "loss 1.5");
  bar.update(total, total, "again");  // after the end: nothing more
  return ::testing::internal::GetCapturedStderr();
}

TEST(Progress, ALogGetsALinePerTenthAndTheEnd) {
  const std::string s = drawn(ProgressWhen::Always, 100);
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 11) << s;  // the start, then 10%, 20%, ..., 100%
  EXPECT_EQ(s.find('\r'), std::string::npos) << "no in-place redraw in a log";
  const std::string last = s.substr(s.rfind('\n', s.size() - 2) + 1);
  EXPECT_EQ(last.rfind("train [==============================] 100/100 steps  ", 0), 0u) << last;
  EXPECT_NE(last.find("steps/s  ETA 0:00  loss 1.5\n"), std::string::npos) << last;
  EXPECT_EQ(s.find("again"), std::string::npos);
}

TEST(Progress, AResumedRunStartsPartWay) {
  const std::string s = drawn(ProgressWhen::Always, 100, 60);
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 5) << s;  // 61 (where it resumed), 70%, 80%, 90%, 100%
}

TEST(Progress, QuietOrTerminalOnlyDrawNothingInALog) {
  EXPECT_EQ(drawn(ProgressWhen::Never, 50), "");
  EXPECT_EQ(drawn(ProgressWhen::Terminal, 50), "");
}

TEST(Progress, CountsAndClocksReadAtAGlance) {
  EXPECT_EQ(count_str(412), "412");
  EXPECT_EQ(count_str(9999), "9999");
  EXPECT_EQ(count_str(12345), "12.3K");
  EXPECT_EQ(count_str(1e6), "1.00M");
  EXPECT_EQ(count_str(2.5e9), "2.50G");
  EXPECT_EQ(clock_str(64), "1:04");
  EXPECT_EQ(clock_str(7384), "2:03:04");
  EXPECT_EQ(clock_str(-1), "?");
}

}  // namespace
