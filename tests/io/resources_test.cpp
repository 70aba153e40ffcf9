// Shipped resources are found beside the executable (share/glassbox), which a
// build tree provides as links into the source tree, unless the environment
// says otherwise.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "glassbox/resources.h"

namespace fs = std::filesystem;

namespace glassbox {
namespace {

struct ScopedEnv {
  const char* name;
  std::string old;
  bool had;
  ScopedEnv(const char* n, const char* value) : name(n), had(std::getenv(n) != nullptr) {
    if (had) old = std::getenv(n);
    if (value) setenv(n, value, 1);
    else unsetenv(n);
  }
  ~ScopedEnv() {
    if (had) setenv(name, old.c_str(), 1);
    else unsetenv(name);
  }
};

TEST(Resources, BuildTreeFindsTheSourceTreesModelsBesideTheExecutable) {
  ScopedEnv env("GLASSBOX_MODELS", nullptr);
  const std::string dir = resource_dir(kModelsResource);
  EXPECT_EQ(fs::path(dir), fs::path(GLASSBOX_BINARY_DIR) / "share" / "glassbox" / "models");
  EXPECT_TRUE(fs::equivalent(dir, fs::path(GLASSBOX_SOURCE_DIR) / "models"));
}

TEST(Resources, EnvironmentDecidesAloneEvenWhenItIsWrong) {
  ScopedEnv env("GLASSBOX_WEB_ASSETS", "/nonexistent/glassbox-web");
  EXPECT_EQ(resource_dirs(kWebAssetsResource), std::vector<std::string>{"/nonexistent/glassbox-web"});
  EXPECT_EQ(resource_dir(kWebAssetsResource), "/nonexistent/glassbox-web");
}

}  // namespace
}  // namespace glassbox
