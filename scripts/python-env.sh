#!/usr/bin/env bash
# The one line that makes `import glassbox` work from a build tree, no pip step:
#   source scripts/python-env.sh            # this shell (build dir: $GLASSBOX_BUILD_DIR, else build)
#   eval "$(scripts/python-env.sh build-dev)"  # or print the line for another build dir
# Use Debian's /usr/bin/python3 (numpy, pybind11 and pytest are Debian packages there).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-${GLASSBOX_BUILD_DIR:-$ROOT/build}}"
[[ "$BUILD" = /* ]] || BUILD="$ROOT/$BUILD"
if [[ ! -d "$BUILD/python/glassbox" ]]; then
  echo "python-env: $BUILD/python/glassbox does not exist; build the _glassbox target first" >&2
  return 1 2>/dev/null || exit 1
fi
line="export PYTHONPATH=\"$BUILD/python\${PYTHONPATH:+:\$PYTHONPATH}\""
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then eval "$line"; else echo "$line"; fi
