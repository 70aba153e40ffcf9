#pragma once
// The one progress bar every long job draws (training, harvesting, dictionary
// training, dashboards, probes, autointerp):
//
//   harvest [=========                     ] 412K/1.00M tokens  9.2K tok/s  ETA 1:04  shard 2/5
//
// It writes to stderr only: redrawn in place on a terminal (at most 10 times a
// second, and always the last update), a line per tenth of the work when
// stderr is a log and the caller asked for that (ProgressWhen::Always), and
// nothing otherwise, so that stdout stays clean for --json.

#include <chrono>
#include <cstdint>
#include <string>

namespace glassbox {

enum class ProgressWhen {
  Never,     // draw nothing (--quiet, --json)
  Terminal,  // only when stderr is a terminal
  Always,    // in place on a terminal, a line per tenth of the work elsewhere
};

class ProgressBar {
 public:
  // label: what runs ("harvest"); unit: what `done` counts ("tokens", "steps").
  explicit ProgressBar(std::string label, std::string unit = "", ProgressWhen when = ProgressWhen::Terminal);

  // `done` of `total` units; `extra` follows the ETA (loss, shard, ...).
  void update(int64_t done, int64_t total, const std::string& extra = {});

  // Work already done before this run (a resumed job): the rate and ETA count
  // only what this run did.
  void set_start(int64_t done_before) { start_ = done_before; }

  bool enabled() const { return on_; }

 private:
  std::string label_, unit_;
  bool on_, tty_, finished_ = false;
  int64_t start_ = 0, last_tenth_ = -1;
  std::chrono::steady_clock::time_point t0_, last_draw_{};
};

// "412", "9.2K", "1.00M": counts and rates at a glance.
std::string count_str(double n);
// "1:04", "2:03:04", or "?" for an unknown (negative or huge) duration.
std::string clock_str(double seconds);

}  // namespace glassbox
