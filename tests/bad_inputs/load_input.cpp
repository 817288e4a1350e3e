// load_input: runs one loader on one input, as a program would, for the bad-input corpus
// (tests/bad_inputs/, run by tools/check_bad_inputs.py) and for reproducing fuzzer findings.
//   load_input <kind> <path> [more paths]
// kinds: npy, safetensors, zip, csr <indptr> <indices> <data> <rows> <cols>, json, csv,
//        settings_dcvae, settings_anomalydae, settings_glead, settings_deepsphere, settings_muad, graph_dir,
//        run_folder, glead_log <structured.csv> [templates.csv], glead_sessions <file>,
//        deepsphere_data <data.npy> [labels.csv] [deviations.csv], muad_dir <folder>
// Exit 0 when the input loads, 1 with one "error: ..." line when it is refused. Anything else (a crash,
// a sanitizer report, a hang) is a bug in the loader.
#include <iostream>
#include <string>
#include <vector>

#include "models/anomalydae/graph_data.h"
#include "models/anomalydae/settings.h"
#include "models/dcvae/settings.h"
#include "models/deepsphere/data.h"
#include "models/deepsphere/settings.h"
#include "models/glead/data.h"
#include "models/glead/settings.h"
#include "models/muad/data.h"
#include "models/muad/muad.h"
#include "runtime/checked.h"
#include "runtime/csr.h"
#include "runtime/csv.h"
#include "runtime/error.h"
#include "runtime/json.h"
#include "runtime/npy.h"
#include "runtime/run_folder.h"
#include "runtime/safetensors.h"
#include "runtime/zip.h"

using namespace ad;

int main(int argc, char** argv) {
  const std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() < 2) {
    std::cerr << "usage: load_input <kind> <path> [...]\n";
    return 2;
  }
  const std::string& kind = a[0];
  try {
    if (kind == "npy") {
      std::cout << load_npy(a[1]).describe() << "\n";
    } else if (kind == "safetensors") {
      std::cout << load_safetensors(a[1]).size() << " tensors\n";
    } else if (kind == "zip") {
      std::cout << read_zip_member(a[1]).size() << " bytes\n";
    } else if (kind == "csr") {
      AD_CHECK(a.size() == 6, "load_input", "csr needs <indptr> <indices> <data> <rows> <cols>");
      const int64_t rows = parse_int_in_range(a[4], 0, INT32_MAX, "load_input", "rows");
      const int64_t cols = parse_int_in_range(a[5], 0, INT32_MAX, "load_input", "cols");
      std::cout << load_csr_npy(a[1], a[2], a[3], rows, cols).describe() << "\n";
    } else if (kind == "json") {
      read_json_file(a[1], "load_input");
    } else if (kind == "csv") {
      std::cout << read_csv(a[1]).rows() << " rows\n";
    } else if (kind == "settings_dcvae") {
      dcvae::load_settings(a[1]);
    } else if (kind == "settings_anomalydae") {
      anomalydae::load_settings(a[1]);
    } else if (kind == "settings_glead") {
      glead::load_settings(a[1]);
    } else if (kind == "settings_deepsphere") {
      deepsphere::load_settings(a[1]);
    } else if (kind == "settings_muad") {
      muad::load_settings(a[1]);
    } else if (kind == "glead_log") {
      std::cout << glead::read_loghub(a[1], a.size() > 2 ? a[2] : "", 1000000).keys.size() << " entries\n";
    } else if (kind == "glead_sessions") {
      std::cout << glead::read_sessions(a[1], 0, 20, nullptr).size() << " sessions\n";
    } else if (kind == "deepsphere_data") {
      std::cout << deepsphere::load_dataset(a[1], a.size() > 2 ? a[2] : "", a.size() > 3 ? a[3] : "").C << " cases\n";
    } else if (kind == "muad_dir") {
      std::cout << muad::read_chunks(a[1], muad::read_service_graph(a[1])).size() << " chunks\n";
    } else if (kind == "graph_dir") {
      const anomalydae::AttributedGraph g = anomalydae::load_graph_dir(a[1]);
      std::cout << (g.sparse() ? g.sparse_features.describe() : g.features.describe()) << "\n";
    } else if (kind == "run_folder") {
      std::cout << verify_run_folder(a[1], "load_input")["files"].size() << " files\n";
    } else {
      std::cerr << "load_input: unknown kind \"" << kind << "\"\n";
      return 2;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
