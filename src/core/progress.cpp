#include "glassbox/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <utility>

namespace glassbox {

namespace {

template <class... A>
std::string format(const char* f, A... a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, a...);
  return buf;
}

// "tok/s" (the trainer's word for throughput), otherwise "steps/s", "/s".
// (Appended piece by piece: GCC 12 warns of a false overlap, -Wrestrict, in "x" + s.)
std::string rate_unit(const std::string& unit) {
  if (unit == "tokens") return " tok/s";
  std::string r = unit.empty() ? "" : " ";
  r += unit;
  r += "/s";
  return r;
}

}  // namespace

std::string count_str(double n) {
  if (n >= 1e9) return format("%.2fG", n / 1e9);
  if (n >= 1e6) return format("%.2fM", n / 1e6);
  if (n >= 1e4) return format("%.1fK", n / 1e3);
  return format("%.0f", n);
}

std::string clock_str(double s) {
  if (!(s >= 0) || s > 1e7) return "?";
  const long t = long(s + 0.5);
  return t >= 3600 ? format("%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60) : format("%ld:%02ld", t / 60, t % 60);
}

ProgressBar::ProgressBar(std::string label, std::string unit, ProgressWhen when)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      on_(when != ProgressWhen::Never),
      tty_(isatty(STDERR_FILENO)),
      t0_(std::chrono::steady_clock::now()) {
  if (when == ProgressWhen::Terminal && !tty_) on_ = false;
}

void ProgressBar::update(int64_t done, int64_t total, const std::string& extra) {
  if (!on_ || total <= 0 || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  const bool finished = done >= total;
  finished_ = finished;
  if (tty_) {
    // Throttled: a bar redrawn thousands of times a second costs more than the work.
    if (!finished && last_draw_ != std::chrono::steady_clock::time_point{} &&
        now - last_draw_ < std::chrono::milliseconds(100))
      return;
  } else {
    const int64_t tenth = std::min<int64_t>(done, total) * 10 / total;
    if (tenth == last_tenth_) return;
    last_tenth_ = tenth;
  }
  last_draw_ = now;
  const double s = std::chrono::duration<double>(now - t0_).count();
  const double rate = s > 0 ? double(done - start_) / s : 0;
  const double eta = rate > 0 ? double(total - done) / rate : -1;
  const int width = 30, filled = int(double(std::min(done, total)) / double(total) * width);
  std::string bar(size_t(filled), '=');
  bar.resize(size_t(width), ' ');
  std::string unit = unit_.empty() ? "" : " ";
  unit += unit_;
  std::fprintf(stderr, "%s%s%s[%s] %s/%s%s  %s%s  ETA %s%s%s%s", tty_ ? "\r" : "", label_.c_str(),
               label_.empty() ? "" : " ", bar.c_str(), count_str(double(done)).c_str(),
               count_str(double(total)).c_str(), unit.c_str(), count_str(rate).c_str(), rate_unit(unit_).c_str(),
               finished ? "0:00" : clock_str(eta).c_str(), extra.empty() ? "" : "  ", extra.c_str(),
               tty_ ? (finished ? "   \n" : "   ") : "\n");
  std::fflush(stderr);
}

}  // namespace glassbox
