#include "report/number_format.h"

#include <cmath>

#include <fmt/format.h>

#include "core/error.h"

namespace moulin::report {

namespace {

void check_decimals(int decimals, const char* function) {
  if (decimals < 0 || decimals > 17)
    throw ArgumentError(fmt::format("{}: decimals {} is outside 0..17", function, decimals));
}

// Fixed notation, but never "-0.00": a value that rounds to zero has no sign worth showing.
std::string fixed_notation(double value, int decimals) {
  std::string text = fmt::format("{:.{}f}", value, decimals);
  if (text[0] == '-' && text.find_first_not_of("0.", 1) == std::string::npos) text.erase(0, 1);
  return text;
}

}  // namespace

std::string format_number(double value, int decimals) {
  check_decimals(decimals, "format_number");
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  const double magnitude = std::fabs(value);
  const double smallest_shown = 0.5 * std::pow(10.0, -decimals);
  if (magnitude >= 1e6 || (magnitude > 0 && magnitude < smallest_shown)) return fmt::format("{:.{}e}", value, decimals);
  return fixed_notation(value, decimals);
}

std::string format_fixed(double value, int decimals) {
  check_decimals(decimals, "format_fixed");
  if (!std::isfinite(value) || std::fabs(value) >= 1e6) return format_number(value, decimals);
  return fixed_notation(value, decimals);
}

}  // namespace moulin::report
