#!/usr/bin/env python3
"""CTest: report.html opened from the file system in headless Chromium renders its figures.

    python3 tests/plots/report_in_browser.py OUT_DIR

Takes the report.html of the tiny TraceDAE run that the Plots.tracedae test left in OUT_DIR/tracedae/runs/,
screenshots it with headless Chromium into OUT_DIR/report_screenshot.png, and checks that the screenshot is a
real page with the plots drawn: a valid PNG of the window size, and enough coloured (non-grey) pixels, which
only the figures have (the page itself is black text on white; a broken image shows grey alt text).
Exit 77 (CTest: skipped) without Chromium, or when that run has no report.html (no matplotlib there).
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
WIDTH, HEIGHT = 1400, 2200


def numpy_python():
    """Re-run this script under a Python that has numpy and matplotlib (to read the screenshot)."""
    try:
        import matplotlib.image  # noqa: F401
        import numpy  # noqa: F401
        return
    except ImportError:
        pass
    for py in (os.environ.get("AD_PYTHON"), "/usr/bin/python3"):
        if py and os.path.realpath(py) != os.path.realpath(sys.executable) and shutil.which(py):
            if subprocess.run([py, "-c", "import matplotlib, numpy"], capture_output=True).returncode == 0:
                os.execv(shutil.which(py), [py] + sys.argv)
    print("SKIPPED: no Python with matplotlib and numpy to read the screenshot")
    sys.exit(SKIP)


def main():
    out = os.path.abspath(sys.argv[1])
    browser = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    if not browser:
        print("SKIPPED: no headless Chromium (apt-get install chromium); report.html not checked in a browser")
        return SKIP
    reports = sorted(p for p in glob.glob(os.path.join(out, "tracedae", "runs", "*", "report.html")) if ".partial-" not in p)
    if not reports:
        print(f"SKIPPED: no report.html under {out}/tracedae/runs (Plots.tracedae skipped or not run)")
        return SKIP
    numpy_python()
    import matplotlib.image as mpimg
    import numpy as np

    report = reports[-1]
    shot = os.path.join(out, "report_screenshot.png")
    if os.path.exists(shot):
        os.remove(shot)
    with tempfile.TemporaryDirectory() as profile:  # a fresh profile: no state from other runs
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={profile}",
               f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}", "file://" + report]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and os.path.exists(shot), f"chromium failed ({p.returncode}): {p.stderr[-2000:]}"
    img = mpimg.imread(shot)[..., :3]
    assert img.shape[:2] == (HEIGHT, WIDTH), f"screenshot is {img.shape}, expected {HEIGHT}x{WIDTH}"
    spread = img.max(axis=2) - img.min(axis=2)  # 0 for white, black and greys
    coloured = float(np.mean(spread > 0.15))
    print(f"screenshot {shot}: {WIDTH}x{HEIGHT}, {coloured:.1%} coloured pixels, of {report}")
    assert coloured > 0.005, "almost no coloured pixels: the figures did not render"
    return 0


if __name__ == "__main__":
    sys.exit(main())
