// The end-of-run plot hook: runs `python3 tools/plot_run.py <model> <run_dir>`, which finds
// tools/plot_<model>.py by name, writes the PNGs into <run_dir>/plots/ and <run_dir>/report.html.
// A new detector only adds tools/plot_<model>.py; nothing here changes.
//
// Plots never cost a run: without a Python that imports matplotlib and numpy, or when the script fails,
// one "plots: ..." line says so on `log` and the function returns normally.
//
// Python: $AD_PYTHON if set, else the first of `python3` (PATH) and /usr/bin/python3 that imports
// matplotlib and numpy (a pyenv or venv python3 on PATH often lacks them; Debian's python3-matplotlib,
// installed by tools/setup.sh, is for /usr/bin/python3). Scripts: $AD_SOURCE_DIR/tools if set, else the
// source tree this binary was built from.
#pragma once
#include <ostream>
#include <string>

namespace ad {

// The Python that can plot, or "" (with the reason in `why`).
std::string find_plot_python(std::string* why = nullptr);

// The tools/ folder holding plot_run.py.
std::string plot_tools_dir();

// Runs the plot script for `model` on `run_dir`; its output goes to `log`. Returns true when the PNGs and
// report.html were written, false (after one "plots: ..." line) otherwise.
bool write_run_plots(const std::string& model, const std::string& run_dir, std::ostream& log);

}  // namespace ad
