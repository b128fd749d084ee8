// `moulin`: the command line of the workbench. Errors print one line and exit non-zero.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "apps/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"moulin: a Llama 3 workbench for data poisoning and interpretability research", "moulin"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "moulin 0.1.0");
  // Command-line mistakes read like every other error: one line, pointing at --help.
  app.failure_message([](const CLI::App*, const CLI::Error& error) {
    return fmt::format("moulin: error: {} (see --help)\n", error.what());
  });
  moulin::cli::add_info_command(app);
  moulin::cli::add_demo_command(app);
  moulin::cli::add_tokenize_command(app);
  moulin::cli::add_generate_command(app);
  moulin::cli::add_dump_command(app);
  moulin::cli::add_organism_command(app);
  moulin::cli::add_invert_command(app);
  moulin::cli::add_scan_command(app);
  moulin::cli::add_patch_command(app);
  moulin::cli::add_mitigate_command(app);
  moulin::cli::add_probe_command(app);
  moulin::cli::add_hunt_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  } catch (const moulin::Error& error) {
    fmt::print(stderr, "moulin: error: {}\n", error.what());
    return 1;
  } catch (const std::exception& error) {
    fmt::print(stderr, "moulin: internal error: {}\n", error.what());
    return 2;
  }
  return 0;
}
