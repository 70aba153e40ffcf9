// Headless Chromium for report tests (Debian 'chromium'; CI installs it).
#pragma once
#include <cstdlib>
#include <string>

namespace gbtest {

// "" when no browser is installed; GLASSBOX_CHROMIUM overrides.
inline std::string find_chromium() {
  if (const char* env = std::getenv("GLASSBOX_CHROMIUM"); env && *env) return env;
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    std::string cmd = std::string("command -v ") + name + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return name;
  }
  return {};
}

// One headless launch with a fresh profile under dir; stdout and stderr to
// dir/<name>.out / .err. `action` is e.g. "--dump-dom" or "--screenshot=PATH".
inline int run_chromium(const std::string& chromium, const std::string& dir, const std::string& name,
                        const std::string& action, const std::string& url) {
  const std::string profile = dir + "/profile-" + name;
  const std::string out = dir + "/" + name + ".out";
  const std::string err = dir + "/" + name + ".err";
  // timeout: a browser that hangs fails the test instead of the CI job.
  const std::string cmd = "timeout 120 " + chromium +
                          " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                          " --disable-background-networking --disable-component-update --disable-sync"
                          " --user-data-dir='" + profile + "' --virtual-time-budget=10000 " + action + " '" + url +
                          "' >'" + out + "' 2>'" + err + "'";
  return std::system(cmd.c_str());
}

}  // namespace gbtest
