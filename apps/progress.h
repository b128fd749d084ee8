#pragma once
// Progress of long work (generation, dumps, scans) on stderr. On a terminal: one line redrawn in place with a
// bar, the count, the rate and the ETA. Elsewhere (logs, pipes): a plain line every few seconds, so a log file
// shows progress without a line per item. Both end with a summary line.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace moulin::cli {

enum class ProgressStyle {
  kAuto,         // redrawn bar on a terminal, periodic plain lines otherwise
  kSummaryOnly,  // only the final summary (the terminal is busy with other output, e.g. streamed tokens)
};

class Progress {
 public:
  // `total` <= 0: unknown (no bar, no ETA). `unit` names what is counted ("tokens", "prompts").
  Progress(std::string label, std::int64_t total, std::string unit, ProgressStyle style = ProgressStyle::kAuto,
           std::FILE* out = stderr);
  // Without finish() (an error is being reported) no summary: only ends a bar line on a terminal.
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(std::int64_t count = 1);
  // The summary: "label: 12 tokens in 0.50 s (24.0 tokens/s)" followed by `note`. Later calls do nothing.
  void finish(std::string_view note = {});

 private:
  using Clock = std::chrono::steady_clock;
  double elapsed() const;
  void report(bool force);

  std::string label_;
  std::string unit_;
  std::int64_t total_;
  std::int64_t done_ = 0;
  std::FILE* out_;
  ProgressStyle style_;
  bool terminal_;
  bool finished_ = false;
  bool drawn_ = false;  // a report was printed (a terminal line may be left open)
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_report_ = start_;
};

// Work in named stages, each counted to its own total: one Progress per stage, finished when the next stage begins
// (or by finish()). Counts are cumulative within a stage.
class StageProgress {
 public:
  void update(std::string_view stage, std::size_t done, std::size_t total, std::string_view unit = "steps");
  void finish();

 private:
  std::string stage_;
  std::size_t done_ = 0;
  std::unique_ptr<Progress> bar_;
};

// The text of one progress report (no line ending): "label [#####-----] 30/100 tokens 12.3 tokens/s ETA 0:06" with a
// bar of `bar_width` cells (0: none); the bar and ETA are left out when `total` is unknown.
std::string progress_line(std::string_view label, std::int64_t done, std::int64_t total, double seconds,
                          std::string_view unit, int bar_width);
// "0:07", "12:34", "1:02:03".
std::string progress_duration(double seconds);

}  // namespace moulin::cli
