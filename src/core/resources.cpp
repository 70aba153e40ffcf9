#include "glassbox/resources.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace glassbox {
namespace {

namespace fs = std::filesystem;

// The running executable's directory (Linux: /proc/self/exe); the current
// directory if that cannot be read.
fs::path exe_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec || exe.empty() ? fs::current_path(ec) : exe.parent_path();
}

}  // namespace

std::vector<std::string> resource_dirs(const Resource& r) {
  if (const char* env = std::getenv(r.env); env && *env) return {env};
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::path d = exe_dir();; d = d.parent_path()) {
    const fs::path c = d / "share" / "glassbox" / r.subdir;
    if (fs::is_directory(c, ec)) out.push_back(c.string());
    if (d == d.parent_path()) break;
  }
  return out;
}

std::string resource_dir(const Resource& r) {
  const std::vector<std::string> dirs = resource_dirs(r);
  if (!dirs.empty()) return dirs.front();
  return (exe_dir().parent_path() / "share" / "glassbox" / r.subdir).string();
}

}  // namespace glassbox
