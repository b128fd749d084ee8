#pragma once
// The hook points a dump stores, chosen by full names or shell-style patterns ("blocks.*.hook_resid_post",
// "blocks.1?.attn.hook_z", "*"). Rows are per token, so attention scores and patterns ([head, query, key], which grow
// with the context) cannot be dumped: patterns skip them and naming one is an error.
#include <string>
#include <vector>

#include "hooks/hook_names.h"

namespace moulin {

// The selected points of a model with `layers` blocks, in forward order and without repeats. Throws ArgumentError
// for a name that is not a hook point (with a suggestion), an attention matrix, or a pattern that matches nothing.
std::vector<HookAddress> select_dump_hooks(const std::vector<std::string>& patterns, int layers);

// Shell-style matching: `*` any run of characters, `?` any one character.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace moulin
