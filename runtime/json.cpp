#include "runtime/json.h"

#include <set>
#include <vector>

#include "runtime/error.h"
#include "runtime/fs_util.h"

namespace ad {

namespace {
// The deepest [ / { nesting outside strings (and comments, when allowed); stops at the first level past
// `max_depth` and reports its byte offset. Malformed text is left for the parser to describe.
void check_depth(std::string_view t, const char* op, const std::string& where, const JsonOptions& o) {
  int depth = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (c == '"') {
      for (++i; i < t.size() && t[i] != '"'; ++i)
        if (t[i] == '\\') ++i;
    } else if (o.allow_comments && c == '/' && i + 1 < t.size() && t[i + 1] == '/') {
      while (i < t.size() && t[i] != '\n') ++i;
    } else if (o.allow_comments && c == '/' && i + 1 < t.size() && t[i + 1] == '*') {
      const size_t end = t.find("*/", i + 2);
      i = end == std::string_view::npos ? t.size() : end + 1;
    } else if (c == '[' || c == '{') {
      AD_CHECK(++depth <= o.max_depth, op, where, ": JSON nested deeper than ", o.max_depth, " levels at byte ", i);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}
}  // namespace

nlohmann::json parse_json_checked(std::string_view text, const char* op, const std::string& where,
                                  const JsonOptions& options) {
  using json = nlohmann::json;
  check_depth(text, op, where, options);
  // Keys seen in each open object, innermost last; nlohmann reports object starts/ends and keys in order.
  std::vector<std::set<std::string>> open;
  std::vector<std::string> path;
  std::string duplicate;
  auto callback = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start: open.emplace_back(); break;
      case json::parse_event_t::object_end:
        if (!open.empty()) open.pop_back();
        break;
      case json::parse_event_t::key: {
        const std::string k = parsed.get<std::string>();
        if (duplicate.empty() && !open.empty() && !open.back().insert(k).second) duplicate = k;
        break;
      }
      default: break;
    }
    return true;
  };
  json out;
  try {
    out = json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true, options.allow_comments);
  } catch (const json::parse_error& e) {
    AD_FAIL(op, where, ": invalid JSON at byte ", e.byte, ": ", e.what());
  } catch (const json::exception& e) {  // e.g. a number too large for a double (found by tools/fuzz.sh)
    AD_FAIL(op, where, ": invalid JSON: ", e.what());
  }
  AD_CHECK(duplicate.empty(), op, where, ": key \"", duplicate, "\" appears twice in one object");
  return out;
}

nlohmann::json read_json_file(const std::string& path, const char* op, const JsonOptions& options) {
  return parse_json_checked(read_file_bytes(path, op), op, path, options);
}

}  // namespace ad
