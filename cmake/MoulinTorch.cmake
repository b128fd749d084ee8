# LibTorch: Debian's libtorch-dev 1.13 by default, or a PyTorch install's LibTorch 2.x through
# -DCMAKE_PREFIX_PATH=$(python -c 'import torch;print(torch.utils.cmake_prefix_path)').
find_package(Torch REQUIRED)
# LibTorch's CPU parallelism is OpenMP; moulin's own kernels use it through at::parallel_for (core/CMakeLists.txt).
find_package(OpenMP REQUIRED COMPONENTS CXX)
message(STATUS "moulin: LibTorch ${Torch_VERSION} from ${Torch_DIR}")

# TorchConfig exports its flags in TORCH_CXX_FLAGS (the _GLIBCXX_USE_CXX11_ABI choice of PyTorch wheels).
separate_arguments(MOULIN_TORCH_CXX_FLAGS UNIX_COMMAND "${TORCH_CXX_FLAGS}")

# One interface target carrying torch, its flags and the shared precompiled header.
add_library(moulin_torch INTERFACE)
target_link_libraries(moulin_torch INTERFACE ${TORCH_LIBRARIES})
target_compile_options(moulin_torch INTERFACE ${MOULIN_TORCH_CXX_FLAGS})

# Every torch translation unit shares a precompiled header of <ATen/ATen.h> and <torch/types.h> (code needing
# torch::nn includes it itself). GCC only accepts a PCH compiled with the same -fPIC/-fPIE flavour, and CMake
# gives libraries -fPIC but executables -fPIE, so there is one anchor target of each kind.
add_library(moulin_torch_pch STATIC "${PROJECT_SOURCE_DIR}/cmake/torch_pch.cpp")
target_link_libraries(moulin_torch_pch PUBLIC moulin_torch)
target_precompile_headers(moulin_torch_pch PRIVATE "${PROJECT_SOURCE_DIR}/core/torch_pch.h")

add_executable(moulin_torch_pch_executable "${PROJECT_SOURCE_DIR}/cmake/torch_pch_main.cpp")
target_link_libraries(moulin_torch_pch_executable PRIVATE moulin_torch)
target_precompile_headers(moulin_torch_pch_executable PRIVATE "${PROJECT_SOURCE_DIR}/core/torch_pch.h")

function(moulin_use_torch target)
  target_link_libraries(${target} PRIVATE moulin_torch)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "EXECUTABLE")
    target_precompile_headers(${target} REUSE_FROM moulin_torch_pch_executable)
  else()
    target_precompile_headers(${target} REUSE_FROM moulin_torch_pch)
  endif()
endfunction()
