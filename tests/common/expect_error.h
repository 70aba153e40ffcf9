// The one check for "bad input gets a clear error": f must throw a
// glassbox::Error whose message contains every needle.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "glassbox/error.h"

namespace gbtest {

inline void expect_error(const std::function<void()>& f, const std::vector<std::string>& needles) {
  try {
    f();
    ADD_FAILURE() << "no glassbox::Error thrown";
  } catch (const glassbox::Error& e) {
    const std::string msg = e.what();
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
  }
}

}  // namespace gbtest
