#!/usr/bin/python3
"""Runs the user guides (docs/guides/*.md) as a user would, so they cannot rot.

For each guide, in a fresh scratch folder that has links to the repository's
models/ and examples/ (a user runs the guides from the repository root):
  * every ```sh block whose commands all start with `glassbox` runs in bash
    (set -euo pipefail) with the built CLI first on PATH;
  * every ```python block runs with /usr/bin/python3 and PYTHONPATH at the
    built module (skipped, and said so, when no module was built);
  * every ```cpp block must follow a line `<!-- example: examples/NAME.cpp -->`
    and equal that file byte for byte (ctest builds and runs the file itself);
  * every `<!-- screenshot: PAGE.html img/NAME.png -->` needs the page to
    have been written by the blocks above it and img/NAME.png to exist.
Blocks of one guide share the folder, in order. The index (README.md) must
link every guide. A failure names the guide, the block's line and its output.

    run_guides.py --glassbox build/glassbox --pythonpath build/python [GUIDE ...]
    run_guides.py ... --screenshots      # also (re)take the PNGs with headless Chromium
    run_guides.py --sync                 # only paste each examples/ file into its guide's cpp block
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDES = ROOT / "docs" / "guides"
FENCE = re.compile(r"^```(\w*)\s*$")
EXAMPLE = re.compile(r"^<!-- example: (\S+) -->\s*$")
SHOT = re.compile(r"^<!-- screenshot: (\S+) (\S+)(?: (\d+)x(\d+))? -->\s*$")


class GuideError(Exception):
    pass


def blocks(text):
    """(kind, language or None, first line number, body, marker) for each fenced
    block and each screenshot marker, in order."""
    lines = text.split("\n")
    i, out = 0, []
    while i < len(lines):
        shot = SHOT.match(lines[i])
        if shot:
            out.append(("shot", None, i + 1, None, shot.groups()))
            i += 1
            continue
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        lang, start = m.group(1), i + 1
        marker = None
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        if j >= 0 and EXAMPLE.match(lines[j]):
            marker = EXAMPLE.match(lines[j]).group(1)
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise GuideError(f"line {start}: ``` block never closed")
        out.append(("code", lang, start, "\n".join(body) + "\n", marker))
        i += 1
    return out


def commands(sh):
    """The first word of every command of a shell block (continuations joined,
    comments and blank lines skipped)."""
    firsts, cont = [], False
    for line in sh.split("\n"):
        s = line.strip()
        if not cont and s and not s.startswith("#"):
            firsts.append(s.split()[0])
        cont = s.endswith("\\")
    return firsts


def screenshot(html, png, width, height, scratch):
    chromium = os.environ.get("GLASSBOX_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise GuideError("--screenshots needs chromium (Debian 'chromium')")
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={scratch}/chromium-profile", "--virtual-time-budget=10000",
           "--force-device-scale-factor=1", f"--window-size={width},{height}", f"--screenshot={png}",
           html.resolve().as_uri()]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if r.returncode != 0 or not png.exists():
        raise GuideError(f"chromium failed on {html}: {r.stderr[-2000:]}")


def sync(path):
    """Rewrites every cpp block that follows an example marker with the file."""
    lines = path.read_text().split("\n")
    out, i = [], 0
    while i < len(lines):
        out.append(lines[i])
        m = EXAMPLE.match(lines[i])
        if m and i + 1 < len(lines) and lines[i + 1].startswith("```cpp"):
            out.append(lines[i + 1])
            i += 2
            while i < len(lines) and not lines[i].startswith("```"):
                i += 1
            out.extend((ROOT / m.group(1)).read_text().rstrip("\n").split("\n"))
            continue
        i += 1
    path.write_text("\n".join(out))


def run_guide(path, args, env):
    text = path.read_text()
    scratch = Path(tempfile.mkdtemp(prefix=f"guide-{path.stem}-"))
    counts = {"sh": 0, "python": 0, "cpp": 0, "shot": 0}
    try:
        for link in ("models", "examples"):
            (scratch / link).symlink_to(ROOT / link)
        for kind, lang, line, body, marker in blocks(text):
            where = f"{path.name}:{line}"
            if kind == "shot":
                html, png, w, h = marker
                page = scratch / html
                if not page.exists():
                    raise GuideError(f"{where}: screenshot of {html}, which no block above wrote")
                target = path.parent / png
                if args.screenshots:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    screenshot(page, target, int(w or 1000), int(h or 700), scratch)
                    print(f"  {png}: {target.stat().st_size // 1024} KiB")
                if not target.exists():
                    raise GuideError(f"{where}: {png} is missing (run with --screenshots)")
                counts["shot"] += 1
                continue
            if lang == "cpp":
                if not marker:
                    raise GuideError(f"{where}: a cpp block must follow <!-- example: examples/NAME.cpp -->")
                src = ROOT / marker
                if not src.exists():
                    raise GuideError(f"{where}: {marker} does not exist")
                if src.read_text() != body:
                    raise GuideError(f"{where}: the block differs from {marker}; paste the file verbatim")
                counts["cpp"] += 1
                continue
            if lang == "sh":
                firsts = commands(body)
                if "glassbox" not in firsts:
                    continue  # setup a user runs once (build, source ...), not a glassbox example
                if any(f != "glassbox" for f in firsts):
                    raise GuideError(f"{where}: a sh block mixes glassbox commands with others ({', '.join(firsts)}); "
                                     "keep glassbox commands in blocks of their own")
                cmd = ["bash", "-euo", "pipefail", "-c", body]
            elif lang == "python":
                if not args.pythonpath:
                    print(f"  {where}: python block skipped (no module built)")
                    continue
                cmd = [args.python, "-c", body]
            else:
                continue
            t0 = time.time()
            r = subprocess.run(cmd, cwd=scratch, env=env, capture_output=True, text=True, timeout=args.timeout)
            if r.returncode != 0:
                raise GuideError(f"{where}: ```{lang} block failed (exit {r.returncode}):\n{body}\n"
                                 f"--- stdout ---\n{r.stdout[-3000:]}\n--- stderr ---\n{r.stderr[-3000:]}")
            if args.verbose:
                print(f"  {where} {lang} {time.time() - t0:.1f}s\n{r.stdout}")
            counts[lang] += 1
    finally:
        if args.keep:
            print(f"  kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--glassbox", help="the built CLI")
    ap.add_argument("--sync", action="store_true", help="paste the examples/ files into the guides and stop")
    ap.add_argument("--pythonpath", default="", help="the built module's folder (build/python)")
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--screenshots", action="store_true", help="retake docs/guides/img/*.png")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folders")
    ap.add_argument("--verbose", action="store_true", help="print every block's output")
    ap.add_argument("--timeout", type=float, default=120, help="seconds per block")
    ap.add_argument("guides", nargs="*", help="guide names (default: all)")
    args = ap.parse_args()
    if args.sync:
        for p in sorted(GUIDES.glob("*.md")):
            sync(p)
        return
    if not args.glassbox:
        sys.exit("run_guides: --glassbox is required")

    cli = Path(args.glassbox).resolve()
    if not cli.exists():
        sys.exit(f"run_guides: {cli} does not exist; build the glassbox_cli target")
    bindir = Path(tempfile.mkdtemp(prefix="guide-bin-"))
    (bindir / "glassbox").symlink_to(cli)
    env = dict(os.environ, PATH=f"{bindir}:{os.environ.get('PATH', '')}", PYTHONDONTWRITEBYTECODE="1",
               OMP_WAIT_POLICY="passive", OPENBLAS_THREAD_TIMEOUT="4")
    if args.pythonpath:
        env["PYTHONPATH"] = str(Path(args.pythonpath).resolve())

    paths = sorted(p for p in GUIDES.glob("*.md") if p.name != "README.md")
    index = (GUIDES / "README.md").read_text()
    unlisted = [p.name for p in paths if f"({p.name})" not in index]
    failures = [f"docs/guides/README.md does not link {', '.join(unlisted)}"] if unlisted else []
    if args.guides:
        paths = [p for p in paths if p.stem in args.guides]
    for p in paths:
        t0 = time.time()
        try:
            c = run_guide(p, args, env)
            print(f"{p.name}: {c['sh']} sh, {c['python']} python, {c['cpp']} cpp checked, "
                  f"{c['shot']} screenshots, {time.time() - t0:.1f}s", flush=True)
        except (GuideError, subprocess.TimeoutExpired) as e:
            failures.append(f"{p.name}: {e}")
            print(f"{p.name}: FAILED", flush=True)
    shutil.rmtree(bindir, ignore_errors=True)
    if failures:
        print("\n\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
