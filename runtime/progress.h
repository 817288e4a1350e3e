// A progress line for long loops (epochs, batches, scoring): done/total, percent, rate, elapsed, ETA.
// On a terminal it redraws one line in place (\r), at most ~10 times a second; in a log file (stderr
// redirected) it prints a plain line at most every ~5 seconds, so logs stay readable, plus the final line.
//
//   ProgressBar bar("epoch 3", n_batches);
//   for (...) bar.update(i + 1, "loss=0.231");
//   bar.finish();
#pragma once
#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>

namespace ad {

// "0.4s", "42s", "1m05s", "2h03m", "3d04h"; "?" for a negative or non-finite value.
std::string format_duration(double seconds);

class ProgressBar {
 public:
  // total <= 0 means unknown: no percent and no ETA.
  explicit ProgressBar(std::string label, int64_t total, std::ostream& os = std::cerr);
  ~ProgressBar();  // on a terminal, ends a half-drawn line so the next output starts on its own line
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(int64_t done, const std::string& extra = "");
  void finish();  // prints the final line once (with the last done/extra); later calls do nothing

  // Detected from isatty() when `os` is std::cerr/std::clog (fd 2) or std::cout (fd 1); tests override it.
  void set_terminal(bool terminal) { terminal_ = terminal; }
  bool terminal() const { return terminal_; }
  std::string line() const;  // the text the next draw would show

 private:
  double elapsed() const;

  std::string label_;
  int64_t total_;
  std::ostream& os_;
  bool terminal_ = false, finished_ = false, drawn_ = false;
  int64_t done_ = 0;
  std::string extra_;
  std::chrono::steady_clock::time_point start_;
  double last_draw_ = -1e300;  // seconds since start_
  size_t last_width_ = 0;      // to blank out the rest of a longer previous line
};

}  // namespace ad
