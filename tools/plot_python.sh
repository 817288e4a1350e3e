#!/usr/bin/env bash
# Prints the Python that can draw the pictures (imports matplotlib and numpy), the same choice as the
# end-of-run hook (runtime/run_plots.h): $AD_PYTHON if set, else python3 on PATH, else /usr/bin/python3.
# Prints nothing and exits 1 when none can. Used by the reproduction scripts:  py=$(bash tools/plot_python.sh)
if [ -n "${AD_PYTHON:-}" ]; then candidates=("$AD_PYTHON"); else candidates=(python3 /usr/bin/python3); fi
for py in "${candidates[@]}"; do
  if "$py" -c "import matplotlib, numpy" >/dev/null 2>&1; then echo "$py"; exit 0; fi
done
exit 1
