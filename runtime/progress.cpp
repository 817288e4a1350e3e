#include "runtime/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace ad {

namespace {
constexpr double kTerminalInterval = 0.1;  // seconds between redraws on a terminal
constexpr double kLogInterval = 5.0;       // seconds between lines in a log

std::string format_rate(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, r >= 100 ? "%.0f" : r >= 10 ? "%.1f" : "%.2f", r);
  return buf;
}
}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  char buf[32];
  if (seconds < 9.95) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
    return buf;
  }
  const long long s = std::llround(seconds);
  if (s < 60) std::snprintf(buf, sizeof buf, "%llds", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  else if (s < 86400) std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, s % 3600 / 60);
  else std::snprintf(buf, sizeof buf, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
  return buf;
}

ProgressBar::ProgressBar(std::string label, int64_t total, std::ostream& os)
    : label_(std::move(label)), total_(total), os_(os), start_(std::chrono::steady_clock::now()) {
  if (&os == &std::cerr || &os == &std::clog) terminal_ = ::isatty(2);
  else if (&os == &std::cout) terminal_ = ::isatty(1);
}

ProgressBar::~ProgressBar() {
  if (terminal_ && drawn_ && !finished_) os_ << '\n' << std::flush;
}

double ProgressBar::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string ProgressBar::line() const {
  const double t = elapsed();
  const double rate = t > 0 ? double(done_) / t : 0;
  std::string s = label_;
  s.append(" ").append(std::to_string(done_));
  if (total_ > 0) {
    char pct[16];
    std::snprintf(pct, sizeof pct, " (%.0f%%)", 100.0 * double(done_) / double(total_));
    s.append("/").append(std::to_string(total_)).append(pct);
  }
  s.append(" ").append(format_rate(rate)).append("/s elapsed ").append(format_duration(t));
  if (total_ > 0 && !finished_)
    s.append(" eta ").append(rate > 0 ? format_duration(double(total_ - done_) / rate) : std::string("?"));
  if (!extra_.empty()) s.append(" ").append(extra_);
  return s;
}

void ProgressBar::update(int64_t done, const std::string& extra) {
  if (finished_) return;
  done_ = done;
  extra_ = extra;
  const double t = elapsed();
  if (t - last_draw_ < (terminal_ ? kTerminalInterval : kLogInterval)) return;
  if (!terminal_ && !drawn_ && t < kLogInterval) return;  // short jobs log only their final line
  last_draw_ = t;
  drawn_ = true;
  const std::string s = line();
  if (terminal_) {
    os_ << '\r' << s << std::string(last_width_ > s.size() ? last_width_ - s.size() : 0, ' ') << std::flush;
    last_width_ = s.size();
  } else {
    os_ << s << '\n' << std::flush;
  }
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  const std::string s = line();
  if (terminal_) os_ << '\r' << s << std::string(last_width_ > s.size() ? last_width_ - s.size() : 0, ' ');
  else os_ << s;
  os_ << '\n' << std::flush;
}

}  // namespace ad
