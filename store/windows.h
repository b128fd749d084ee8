#pragma once
// Which tokens of a document a dump stores, and the forward windows that compute them. A document longer than the
// context is never cut: it is split into windows of at most `context_length` tokens. The first window stores all
// its tokens; each later window starts `overlap` tokens before the end of the previous one, so those tokens are
// context only and every token is stored exactly once (overlap 0: windows tile the document). Torch-free.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace moulin {

// Positions of a document to store: all of them, or a list (negative entries count from the end: -1 is the last
// token). List entries outside a shorter document are skipped for that document.
struct PositionSelection {
  bool all = true;
  std::vector<std::int64_t> list;

  // "all", "last" (= "-1"), or a comma-separated list "0,5,-1". Throws ArgumentError otherwise.
  static PositionSelection parse(std::string_view text);
  std::string to_string() const;
};

struct WindowOptions {
  std::int64_t context_length = 2048;
  std::int64_t overlap = 0;  // tokens of context carried into the next window, < context_length
};

// Throws ArgumentError unless 0 <= overlap < context_length.
void check_window_options(const WindowOptions& options);

// One forward pass over tokens [begin, end) of a document, storing positions kept[first_kept, first_kept + count)
// of the document's kept list. `end` stops right after the last stored token: later tokens cannot change earlier
// activations (attention is causal), so computing them would be wasted.
struct Window {
  std::int64_t begin = 0;
  std::int64_t end = 0;
  std::size_t first_kept = 0;
  std::size_t kept_count = 0;
};

// The stored positions of a document of `length` tokens, ascending and without repeats.
std::vector<std::int64_t> kept_positions(std::int64_t length, const PositionSelection& selection);

// The windows of a document of `length` tokens that store at least one of `kept` (ascending), in order.
std::vector<Window> plan_windows(std::int64_t length, const std::vector<std::int64_t>& kept, const WindowOptions& options);

}  // namespace moulin
