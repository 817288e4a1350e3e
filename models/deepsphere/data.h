// DeepSphere's data: cases of dynamic networks, (cases, T, N, N) float32, with optional case labels and
// injected deviations (tools/generate_dynamic_networks.py writes all three; tools/deepsphere_convert_pickle.py
// converts the original pickles). Label polarity: 1 = anomaly.
// Every problem is an ad::Error naming the file and the key or line: a shape that is not (cases, T, N, N)
// with N x N square, a non-finite value (with its case, t, i, j), a labels file that does not cover every
// case exactly once or holds a label other than 0/1, a deviation naming an entry outside the data.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace ad::deepsphere {

struct Deviation {
  int64_t c = 0, t = 0, i = 0, j = 0;
  double value = 0;
};

struct Dataset {
  Tensor cases;  // F32 CPU [C, T, N, N]
  int64_t C = 0, T = 0, N = 0;
  std::vector<int> labels;              // [C] or empty (no labels file)
  std::vector<Deviation> deviations;    // empty without a deviations file
  std::vector<std::string> node_names;  // call-graph mode: service names; else empty
  std::string source;                   // the data file (for messages)
  int64_t D() const { return N * N; }
};

// labels_path / deviations_path may be empty (not given).
Dataset load_dataset(const std::string& data_path, const std::string& labels_path,
                     const std::string& deviations_path);

// Checks an already built dataset (the call-graph mode's): shape, finite values, labels, deviations.
void validate_dataset(const Dataset& d);

// [C, T, N, N] -> time-major [T, C, N*N] (the layout the network uses); and back.
Tensor to_time_major(const Tensor& cases);
Tensor from_time_major(const Tensor& x, int64_t N);

}  // namespace ad::deepsphere
