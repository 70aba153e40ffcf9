// Where glassbox finds the files it ships at run time: the trained model
// organisms, the zoo's corpora and the JavaScript inlined into reports.
//
// Nothing is compiled in, so a build works wherever it is moved or installed:
//   1. the resource's environment variable, when set, decides alone (a wrong
//      path is then an error, not a silent fallback to another copy);
//   2. otherwise <d>/share/glassbox/<subdir> for d = the running executable's
//      directory and each directory above it, nearest first. An installed
//      glassbox has <prefix>/bin/glassbox beside <prefix>/share/glassbox; a
//      build tree gets a share/glassbox of links into the source tree at
//      configure time, so executables built there (CLI, tests) find the
//      source tree's copies.
#pragma once
#include <string>
#include <vector>

namespace glassbox {

struct Resource {
  const char* env;     // overriding environment variable
  const char* subdir;  // folder under share/glassbox
};
inline constexpr Resource kModelsResource{"GLASSBOX_MODELS", "models"};          // shipped organisms
inline constexpr Resource kZooDataResource{"GLASSBOX_ZOO_DATA", "zoo-src"};      // scripts/zoo-data.sh
inline constexpr Resource kLabelDataResource{"GLASSBOX_LABEL_DATA", "labels"};  // scripts/label-data.sh
inline constexpr Resource kWebAssetsResource{"GLASSBOX_WEB_ASSETS", "web"};      // scripts/fetch-web-assets.sh

// The existing directories to look in, most preferred first (the env value
// alone, existing or not, when it is set).
std::vector<std::string> resource_dirs(const Resource& r);
// The first of resource_dirs(r); when there is none, where an installed
// glassbox would keep it (<exe dir>/../share/glassbox/<subdir>), so that
// messages and writers name a sensible place.
std::string resource_dir(const Resource& r);

}  // namespace glassbox
