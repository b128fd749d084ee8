// The store suite's entry point. The crash tests start this same binary as a child process that runs a real dump
// (fork + exec, so the child starts with a fresh LibTorch rather than a forked copy of the parent's thread pools).
#include <string>

#include <gtest/gtest.h>

#include "tests/store/store_support.h"

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--dump-child") return moulin::test::run_child_dump(argc, argv);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
