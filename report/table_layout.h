#pragma once
// What the Markdown and HTML renderings of a table agree on. Internal to report/.
#include <vector>

#include "report/report.h"

namespace moulin::report {

// For each column, whether it holds numbers (every non-empty cell a number, at least one): such columns are
// right-aligned so that digits line up.
std::vector<bool> numeric_columns(const Table& table);

}  // namespace moulin::report
