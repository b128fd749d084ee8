#include "report/table_layout.h"

namespace moulin::report {

std::vector<bool> numeric_columns(const Table& table) {
  std::vector<bool> numeric(table.header.size(), false);
  for (std::size_t column = 0; column < table.header.size(); ++column) {
    bool any_number = false;
    bool only_numbers = true;
    for (const auto& row : table.rows) {
      if (column >= row.size() || row[column].is_empty()) continue;
      any_number = any_number || row[column].is_number();
      only_numbers = only_numbers && row[column].is_number();
    }
    numeric[column] = any_number && only_numbers;
  }
  return numeric;
}

}  // namespace moulin::report
