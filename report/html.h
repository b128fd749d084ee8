#pragma once
// A report as one self-contained HTML page: figures inlined as SVG, a short style sheet inlined, nothing
// fetched from elsewhere, so the file can be mailed, archived or opened offline as it is.
#include <string>

#include "report/report.h"

namespace moulin::report {

// The page is also well-formed XML (void elements self-closed), so XML tools can check it.
std::string render_html(const Report& report);

}  // namespace moulin::report
