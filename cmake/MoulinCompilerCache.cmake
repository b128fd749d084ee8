# Compile time dominates this project (a TU with torch headers costs 10-20 s), so use ccache when present.
find_program(MOULIN_CCACHE ccache)
if(MOULIN_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${MOULIN_CCACHE}")
  # Precompiled headers and ccache cooperate only when ccache ignores the PCH timestamps.
  set(ENV{CCACHE_SLOPPINESS} "pch_defines,time_macros,include_file_mtime,include_file_ctime")
endif()
