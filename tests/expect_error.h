#pragma once
// EXPECT_ERROR-style helper: f must throw statetune::Error whose message is one line and
// contains `part` (what a user relies on: the file, the key, what was expected).
#include <gtest/gtest.h>

#include <string>

#include "statetune/common/error.h"

namespace statetune::testing {

template <typename F>
void expect_error(F&& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing: " << part;
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(part), std::string::npos) << "message: " << what << "\nexpected to contain: " << part;
    EXPECT_EQ(what.find('\n'), std::string::npos) << "message is not one line: " << what;
  }
}

}  // namespace statetune::testing
