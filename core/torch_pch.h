#pragma once
// The torch headers every LibTorch translation unit of moulin needs; precompiled once (MoulinTorch.cmake).
#include <ATen/ATen.h>
#include <torch/types.h>
#include <c10/util/Half.h>
#include <c10/util/BFloat16.h>
