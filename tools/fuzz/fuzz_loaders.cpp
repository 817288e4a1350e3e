// libFuzzer targets for the loaders of files that come from outside: one binary per loader, chosen at
// compile time with -DAD_FUZZ_<NAME> (tools/fuzz.sh builds them). The loaders read paths, so each input
// is written to a file in /dev/shm first. A refusal (ad::Error) is the expected outcome for bad bytes;
// anything else (another exception, a crash, a sanitizer report, a timeout) is a finding.
#include <fuzzer/FuzzedDataProvider.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "models/dcvae/settings.h"
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
#else
#error "define one AD_FUZZ_<LOADER>"
#endif
  } catch (const ad::Error&) {
  }
  return 0;
}
