#pragma once
// Asserts that a call throws a given moulin error whose message contains every fragment (file, field, ...).
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

namespace moulin::test {

template <typename ExceptionType, typename Call>
void expect_error(Call call, std::initializer_list<const char*> fragments) {
  try {
    call();
    ADD_FAILURE() << "expected an exception, none was thrown";
  } catch (const ExceptionType& error) {
    for (const char* fragment : fragments)
      EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos)
          << "message: " << error.what() << "\nmissing: " << fragment;
  }
}

}  // namespace moulin::test
