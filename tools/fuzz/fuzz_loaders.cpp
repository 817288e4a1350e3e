// libFuzzer targets for the loaders of files that come from outside: one binary per loader, chosen at
// compile time with -DAD_FUZZ_<NAME> (tools/fuzz.sh builds them). The loaders read paths, so each input
// is written to a file in /dev/shm first. A refusal (ad::Error) is the expected outcome for bad bytes;
// anything else (another exception, a crash, a sanitizer report, a timeout) is a finding.
#include <fuzzer/FuzzedDataProvider.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include <filesystem>

#include "models/dcvae/settings.h"
#include "models/deepsphere/data.h"
#include "models/glead/data.h"
#include "models/muad/data.h"
#include "runtime/csr.h"
#include "runtime/error.h"
#include "runtime/json.h"
#include "runtime/npy.h"
#include "runtime/safetensors.h"
#include "runtime/zip.h"

namespace {
std::string scratch(const char* name, const uint8_t* data, size_t size) {
  const std::string path = "/dev/shm/ad_fuzz_" + std::to_string(::getpid()) + "_" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) __builtin_trap();
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  return path;
}
std::string scratch(const char* name, const std::string& bytes) {
  return scratch(name, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}
// A scratch folder (MUAD reads a folder of files); emptied for each input.
std::string scratch_dir(const char* name) {
  const std::string dir = "/dev/shm/ad_fuzz_" + std::to_string(::getpid()) + "_" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
#if defined(AD_FUZZ_NPY)
    ad::load_npy(scratch("in.npy", data, size));
#elif defined(AD_FUZZ_SAFETENSORS)
    ad::load_safetensors(scratch("in.safetensors", data, size));
#elif defined(AD_FUZZ_ZIP)
    ad::ZipLimits limits;
    limits.max_member_bytes = 64 << 20;  // keep each input's work small; the caps themselves are under test
    ad::read_zip_member(scratch("in.zip", data, size), "", limits);
#elif defined(AD_FUZZ_CSR)
    // rows and cols from the first bytes, then the three .npy files split at two lengths.
    FuzzedDataProvider p(data, size);
    const int64_t rows = p.ConsumeIntegralInRange<int64_t>(0, 64), cols = p.ConsumeIntegralInRange<int64_t>(0, 64);
    const std::string a = p.ConsumeRandomLengthString(4096), b = p.ConsumeRandomLengthString(4096);
    const std::string c = p.ConsumeRemainingBytesAsString();
    ad::load_csr_npy(scratch("ip.npy", a), scratch("ix.npy", b), scratch("dv.npy", c), rows, cols);
#elif defined(AD_FUZZ_JSON_SETTINGS)
    // The raw parser (both modes) and a whole settings file through the DC-VAE settings reader.
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
      ad::parse_json_checked(text, "fuzz", "in.json");
    } catch (const ad::Error&) {
    }
    ad::dcvae::load_settings(scratch("settings.json", data, size));
#elif defined(AD_FUZZ_GLEAD_LOG)
    // GLEAD's inputs: a loghub structured CSV and its templates CSV (split at a length), or a sessions file;
    // then windows and ids as the pipeline makes them. Integers (mode, max_rows, window, step) come from the end.
    FuzzedDataProvider p(data, size);
    const bool sessions = p.ConsumeBool();
    const int64_t max_rows = p.ConsumeIntegralInRange<int64_t>(1, 1000);
    const int64_t window = p.ConsumeIntegralInRange<int64_t>(1, 40), step = p.ConsumeIntegralInRange<int64_t>(1, 40);
    std::vector<ad::glead::Window> windows;
    if (sessions) {
      int64_t truncated = 0;
      windows = ad::glead::read_sessions(scratch("sessions.txt", p.ConsumeRemainingBytesAsString()), 1, window,
                                         &truncated);
    } else {
      const std::string structured = p.ConsumeRandomLengthString(1 << 16);
      const std::string templates = p.ConsumeRemainingBytesAsString();
      const ad::glead::LogEntries e = ad::glead::read_loghub(
          scratch("structured.csv", structured), templates.empty() ? "" : scratch("templates.csv", templates),
          max_rows);
      windows = ad::glead::slide_windows(e, window, step, "fuzz");
    }
    const ad::glead::Vocabulary v = ad::glead::build_vocabulary(windows);
    std::vector<int64_t> rows(windows.size());
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = int64_t(i);
    ad::glead::encode_windows(windows, rows, v, window);
#elif defined(AD_FUZZ_DEEPSPHERE)
    // DeepSphere's dynamic networks: the (cases, T, N, N) .npy, its labels CSV and deviations CSV.
    FuzzedDataProvider p(data, size);
    const std::string npy = p.ConsumeRandomLengthString(1 << 16), labels = p.ConsumeRandomLengthString(1 << 14);
    const std::string deviations = p.ConsumeRemainingBytesAsString();
    const ad::deepsphere::Dataset d = ad::deepsphere::load_dataset(
        scratch("data.npy", npy), labels.empty() ? "" : scratch("labels.csv", labels),
        deviations.empty() ? "" : scratch("deviations.csv", deviations));
    ad::deepsphere::from_time_major(ad::deepsphere::to_time_major(d.cases), d.N);
#elif defined(AD_FUZZ_MUAD)
    // MUAD's chunk folder: services.csv, edges.csv, chunks.csv, metrics.npy, traces.npy, logs.npy.
    FuzzedDataProvider p(data, size);
    const std::string dir = scratch_dir("muad");
    const char* names[] = {"services.csv", "edges.csv", "chunks.csv", "metrics.npy", "traces.npy"};
    for (const char* n : names) {
      const std::string bytes = p.ConsumeRandomLengthString(1 << 16);
      FILE* f = std::fopen((dir + "/" + n).c_str(), "wb");
      if (!f) __builtin_trap();
      std::fwrite(bytes.data(), 1, bytes.size(), f);
      std::fclose(f);
    }
    const std::string logs = p.ConsumeRemainingBytesAsString();
    FILE* f = std::fopen((dir + "/logs.npy").c_str(), "wb");
    if (!f) __builtin_trap();
    std::fwrite(logs.data(), 1, logs.size(), f);
    std::fclose(f);
    const ad::muad::ServiceGraph g = ad::muad::read_service_graph(dir);
    ad::muad::ChunkSet c = ad::muad::read_chunks(dir, g);
    std::vector<int64_t> rows;
    for (int64_t k = 0; k < c.size(); ++k)
      if (c.split[size_t(k)] == 0) rows.push_back(k);
    ad::muad::standardise(c, rows);
#else
#error "define one AD_FUZZ_<LOADER>"
#endif
  } catch (const ad::Error&) {
  }
  return 0;
}
