#include "apps/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace moulin::cli {
namespace {

// A terminal line is redrawn at most this often (redrawing per item would dominate fast loops); a log gets a
// line at most this often.
constexpr double kTerminalRedrawSeconds = 0.1;
constexpr double kLogLineSeconds = 10.0;
constexpr int kBarWidth = 30;

}  // namespace

std::string progress_duration(double seconds) {
  const auto total = static_cast<std::int64_t>(std::llround(std::max(0.0, seconds)));
  const auto hours = total / 3600, minutes = total / 60 % 60, secs = total % 60;
  return hours > 0 ? fmt::format("{}:{:02}:{:02}", hours, minutes, secs) : fmt::format("{}:{:02}", minutes, secs);
}

std::string progress_line(std::string_view label, std::int64_t done, std::int64_t total, double seconds,
                          std::string_view unit, int bar_width) {
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  std::string line(label);
  if (total > 0 && bar_width > 0) {
    const auto filled = static_cast<int>(std::min<std::int64_t>(done, total) * bar_width / total);
    line += fmt::format(" [{}{}]", std::string(static_cast<std::size_t>(filled), '#'),
                        std::string(static_cast<std::size_t>(bar_width - filled), '-'));
  }
  line += total > 0 ? fmt::format(" {}/{}", done, total) : fmt::format(" {}", done);
  line += fmt::format(" {} {:.1f} {}/s", unit, rate, unit);
  if (total > 0 && rate > 0 && done < total)
    line += " ETA " + progress_duration(static_cast<double>(total - done) / rate);
  return line;
}

Progress::Progress(std::string label, std::int64_t total, std::string unit, ProgressStyle style, std::FILE* out)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      out_(out),
      style_(style),
      terminal_(isatty(fileno(out)) != 0) {}

Progress::~Progress() {
  // Unfinished work (an error is on its way to the user): no summary, but leave the terminal on a fresh line.
  if (!finished_ && drawn_ && terminal_) std::fputs("\n", out_);
}

double Progress::elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

void Progress::advance(std::int64_t count) {
  done_ += count;
  report(false);
}

void Progress::report(bool force) {
  if (style_ == ProgressStyle::kSummaryOnly || finished_) return;
  const auto now = Clock::now();
  const double since_last = std::chrono::duration<double>(now - last_report_).count();
  if (!force && since_last < (terminal_ ? kTerminalRedrawSeconds : kLogLineSeconds)) return;
  last_report_ = now;
  drawn_ = true;
  if (terminal_)  // carriage return, the line, then erase whatever a longer previous line left
    fmt::print(out_, "\r{}\x1b[K", progress_line(label_, done_, total_, elapsed(), unit_, kBarWidth));
  else
    fmt::print(out_, "{}\n", progress_line(label_, done_, total_, elapsed(), unit_, 0));
  std::fflush(out_);
}

void Progress::finish(std::string_view note) {
  if (finished_) return;
  finished_ = true;
  const double seconds = elapsed();
  const double rate = seconds > 0 ? static_cast<double>(done_) / seconds : 0.0;
  const bool erase_bar = terminal_ && style_ == ProgressStyle::kAuto;
  fmt::print(out_, "{}{}: {} {} in {:.2f} s ({:.1f} {}/s){}\n", erase_bar ? "\r\x1b[K" : "", label_, done_, unit_,
             seconds, rate, unit_, note);
  std::fflush(out_);
}

void StageProgress::update(std::string_view stage, std::size_t done, std::size_t total, std::string_view unit) {
  if (!bar_ || stage != stage_) {
    finish();
    stage_ = std::string(stage);
    bar_ = std::make_unique<Progress>(stage_, static_cast<std::int64_t>(total), std::string(unit));
  }
  if (done > done_) bar_->advance(static_cast<std::int64_t>(done - done_));
  done_ = done;
}

void StageProgress::finish() {
  if (bar_) bar_->finish();
  bar_.reset();
  done_ = 0;
}

}  // namespace moulin::cli
