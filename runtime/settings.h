// Strict JSON settings: every key a program reads is declared by a getter call, finish() rejects any key
// nobody asked for (a typo like "lerning_rate" must not silently fall back to the default), wrong types
// name the key, and resolved() records every value actually used, defaults included.
//
//   SettingsReader s(load_json_file(path), path);
//   double lr = s.get_number("learning_rate", 1e-3);
//   int64_t epochs = s.get_int("epochs");              // required: no default
//   SettingsReader model = s.section("model");         // nested object {"model": {...}}
//   int64_t hidden = model.get_int("hidden", 64);
//   s.finish();                                         // checks the whole tree, sections included
//   write_text_atomic(out + "/settings.json", s.resolved().dump(2));
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ad {

// Parses a JSON file (// and /* */ comments allowed); a missing file or a syntax error is an ad::Error
// naming the file, with nlohmann's line/column and byte position.
nlohmann::json load_json_file(const std::string& path);

class SettingsReader {
 public:
  // `settings` must be a JSON object; `context` (usually the file path) starts every error message.
  SettingsReader(const nlohmann::json& settings, std::string context);

  bool has(const std::string& key) const;  // does not count as asking for the key

  // With a default: absent keys give the default. Without: absent keys are an error.
  double get_number(const std::string& key, double def);
  double get_number(const std::string& key);
  int64_t get_int(const std::string& key, int64_t def);
  int64_t get_int(const std::string& key);
  bool get_bool(const std::string& key, bool def);
  bool get_bool(const std::string& key);
  std::string get_string(const std::string& key, const std::string& def);
  std::string get_string(const std::string& key);
  std::vector<int64_t> get_int_list(const std::string& key, const std::vector<int64_t>& def);
  std::vector<int64_t> get_int_list(const std::string& key);
  std::vector<double> get_number_list(const std::string& key, const std::vector<double>& def);
  std::vector<double> get_number_list(const std::string& key);
  // Numbers with a closed range [lo, hi] (NaN is never in range): "key "decay_step" must be in [1, 1e+09], got 0".
  // Every numeric key a model reads should use these; the model README lists the ranges.
  int64_t get_int_in(const std::string& key, int64_t def, int64_t lo, int64_t hi);
  double get_number_in(const std::string& key, double def, double lo, double hi);
  // A list of at most `max_len` integers, each in [lo, hi].
  std::vector<int64_t> get_int_list_in(const std::string& key, const std::vector<int64_t>& def, int64_t lo,
                                       int64_t hi, size_t max_len);
  // A string that must be one of `choices`.
  std::string get_choice(const std::string& key, const std::string& def, const std::vector<std::string>& choices);

  // A nested object (absent: an empty one, so every getter in it falls back to its default).
  // Shares the bookkeeping with this reader: the root's finish() and resolved() cover it.
  SettingsReader section(const std::string& key);

  // Throws if any key, at any depth of the sections that were opened, was never asked for:
  //   settings f.json: unknown key "lerning_rate" (known: epochs, learning_rate) - did you mean "learning_rate"?
  void finish() const;  // on a section: checks that section's subtree only
  // The values returned so far, defaults filled in, nested like the input.
  const nlohmann::json& resolved() const;
  const std::string& context() const;

 private:
  struct State;
  using Pointer = nlohmann::json::json_pointer;
  SettingsReader(std::shared_ptr<State> st, Pointer prefix);
  const nlohmann::json* lookup(const std::string& key);  // marks the key as known
  [[noreturn]] void type_error(const std::string& key, const char* type, const nlohmann::json& got) const;
  void record(const std::string& key, nlohmann::json value);
  std::string full(const std::string& key) const;  // "model.hidden"

  std::shared_ptr<State> st_;
  Pointer prefix_;  // where this section sits in the input; empty at the root
};

}  // namespace ad
