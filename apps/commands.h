#pragma once
// Each subcommand registers its options on the app and runs when selected.
#include <CLI/CLI.hpp>

namespace moulin::cli {

void add_info_command(CLI::App& app);
void add_demo_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_dump_command(CLI::App& app);
void add_organism_command(CLI::App& app);
void add_invert_command(CLI::App& app);
void add_scan_command(CLI::App& app);
void add_patch_command(CLI::App& app);
void add_mitigate_command(CLI::App& app);
void add_probe_command(CLI::App& app);
void add_hunt_command(CLI::App& app);

}  // namespace moulin::cli
