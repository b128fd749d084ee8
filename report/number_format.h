#pragma once
// How numbers read in tables, tick labels and heatmap cells.
#include <string>

namespace moulin::report {

// `value` with `decimals` digits after the point; scientific notation (with `decimals` digits of mantissa) when
// fixed notation would hide it (a nonzero value that rounds to 0) or be too long (magnitude 1e6 and above).
// Never "-0"; NaN reads "NaN", infinities "inf" and "-inf". Throws ArgumentError for decimals outside 0..17.
std::string format_number(double value, int decimals);

// `value` in fixed notation with `decimals` digits after the point, where space is short and an approximate
// zero is fine (values printed in heatmap cells, whose colour carries the value anyway). Never "-0"; NaN,
// infinities and magnitudes from 1e6 up as format_number. Throws ArgumentError for decimals outside 0..17.
std::string format_fixed(double value, int decimals);

}  // namespace moulin::report
