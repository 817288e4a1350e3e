// Parsing JSON that comes from outside (settings, safetensors headers, run-folder files). nlohmann's
// parser recurses once per nesting level, so a file nested a few hundred thousand levels deep would
// overflow the stack: the depth is measured by a flat scan BEFORE parsing. A key that appears twice in
// one object is an error (nlohmann would silently keep the last value).
#pragma once
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ad {

// Deeper than any file the project writes or reads (settings nest 2-3 levels, headers 3).
inline constexpr int kMaxJsonDepth = 64;

struct JsonOptions {
  bool allow_comments = false;  // // and /* */ (settings files)
  int max_depth = kMaxJsonDepth;
};

// Errors: "op: where: JSON nested deeper than 64 levels at byte N", "op: where: duplicate key "k" at byte N
// (in object "a.b")", "op: where: invalid JSON at byte N: ...".
nlohmann::json parse_json_checked(std::string_view text, const char* op, const std::string& where,
                                  const JsonOptions& options = {});

// read_file_bytes + parse_json_checked, `path` as `where`.
nlohmann::json read_json_file(const std::string& path, const char* op, const JsonOptions& options = {});

}  // namespace ad
