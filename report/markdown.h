#pragma once
// A report as Markdown (CommonMark with GitHub tables). Figures are not embedded: each is linked as an .svg
// file that write_report writes next to the Markdown file.
#include <string>

#include "report/report.h"

namespace moulin::report {

// Figure i is linked as `figure_link_prefix + figure_file_stems(report)[i] + ".svg"`, relative to the Markdown
// file. Throws ArgumentError when the prefix holds whitespace, parentheses or angle brackets (a link
// destination cannot hold them unescaped).
std::string render_markdown(const Report& report, const std::string& figure_link_prefix = "figures/");

}  // namespace moulin::report
