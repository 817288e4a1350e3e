#include "runtime/csv.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>

#include "runtime/error.h"
#include "runtime/fs_util.h"

namespace ad {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits one line into fields; quotes may wrap a field and "" inside quotes is a literal quote.
// Returns false (with `why`) for an unterminated quote or text after a closing quote.
bool split_line(std::string_view line, std::vector<std::string>& out, std::string& why) {
  out.clear();
  size_t i = 0;
  while (true) {
    std::string field;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') { field += '"'; i += 2; continue; }
          closed = true; ++i; break;
        }
        field += line[i++];
      }
      if (!closed) { why = "unterminated quote in field " + std::to_string(out.size() + 1); return false; }
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i < line.size() && line[i] != ',') {
        why = "text after the closing quote in field " + std::to_string(out.size() + 1);
        return false;
      }
    } else {
      size_t start = i;
      while (i < line.size() && line[i] != ',') ++i;
      field = std::string(trim(line.substr(start, i - start)));
    }
    out.push_back(std::move(field));
    if (i >= line.size()) return true;
    ++i;  // the comma
  }
}

}  // namespace

std::string csv_quote(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos && trim(s).size() == s.size()) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::vector<CsvRecord> split_csv_records(std::string_view text) {
  std::vector<CsvRecord> out;
  size_t line = 1, i = 0;
  while (i < text.size()) {
    const size_t begin = i, first_line = line;
    bool quoted = false;
    // A newline ends the record only outside quotes ("" inside quotes toggles twice: no net change).
    for (; i < text.size(); ++i) {
      if (text[i] == '"') quoted = !quoted;
      else if (text[i] == '\n') {
        if (!quoted) break;
        ++line;
      }
    }
    std::string_view rec = text.substr(begin, i - begin);
    if (!rec.empty() && rec.back() == '\r') rec.remove_suffix(1);
    out.push_back({rec, first_line});
    if (i < text.size()) {  // the newline
      ++i;
      ++line;
    }
  }
  return out;
}

size_t CsvTable::column_index(const std::string& name) const {
  std::string known;
  for (size_t j = 1; j < header.size(); ++j) {
    if (header[j] == name) return j - 1;
    known += (j > 1 ? ", " : "") + header[j];
  }
  AD_FAIL("read_csv", path.empty() ? std::string("table") : path, ": no numeric column \"", name, "\" (columns: ", known,
          ")");
}

namespace {
// The file's records without their \n or \r\n (a UTF-8 BOM dropped; a quoted field may span lines);
// trailing blank lines are dropped, blank lines inside are left for the row check to report. `text` must
// outlive the views.
std::vector<CsvRecord> csv_lines(std::string& text, const std::string& path, const char* op) {
  if (text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
  std::vector<CsvRecord> records = split_csv_records(text);
  while (!records.empty() && trim(records.back().text).empty()) records.pop_back();
  AD_CHECK(!records.empty(), op, path, ": empty file (a header row is required)");
  return records;
}

std::vector<std::string> csv_header(std::string_view line, const std::string& path, const char* op) {
  std::vector<std::string> header;
  std::string why;
  AD_CHECK(split_line(line, header, why), op, path, " line 1 (header): ", why);
  for (size_t j = 0; j < header.size(); ++j) {
    AD_CHECK(!header[j].empty(), op, path, " line 1 (header): column ", j + 1, " has an empty name");
    for (size_t k = 0; k < j; ++k)
      AD_CHECK(header[k] != header[j], op, path, " line 1 (header): column name \"", header[j],
               "\" appears twice (columns ", k + 1, " and ", j + 1, ")");
  }
  return header;
}
}  // namespace

CsvTable read_csv(const std::string& path, const CsvOptions& options) {
  const char* op = "read_csv";
  std::string text = read_file_bytes(path, op);
  const std::vector<CsvRecord> lines = csv_lines(text, path, op);
  CsvTable t;
  t.path = path;
  std::string why;
  t.header = csv_header(lines[0].text, path, op);
  const size_t ncols = t.header.size();
  t.columns.assign(ncols - 1, {});
  for (auto& c : t.columns) c.reserve(lines.size() - 1);
  t.first_column.reserve(lines.size() - 1);

  std::vector<std::string> cells;
  for (size_t li = 1; li < lines.size(); ++li) {
    const size_t lineno = lines[li].line;
    AD_CHECK(split_line(lines[li].text, cells, why), op, path, " line ", lineno, ": ", why);
    AD_CHECK(cells.size() == ncols, op, path, " line ", lineno, ": expected ", ncols, " columns (as in the header), got ",
             cells.size(), trim(lines[li].text).empty() ? " (blank line)" : "");
    t.first_column.push_back(std::move(cells[0]));
    for (size_t j = 1; j < ncols; ++j) {
      const std::string& c = cells[j];
      auto where = [&] {
        std::ostringstream os;
        os << path << " line " << lineno << ", column " << j + 1 << " (\"" << t.header[j] << "\")";
        return os.str();
      };
      double v;
      if (c.empty()) {
        AD_CHECK(options.allow_missing, op, where(), ": empty cell (set allow_missing to read it as NaN)");
        v = std::numeric_limits<double>::quiet_NaN();
      } else {
        const char* b = c.data() + (c[0] == '+' ? 1 : 0);  // from_chars rejects a leading '+'
        auto [end, ec] = std::from_chars(b, c.data() + c.size(), v);
        if (ec == std::errc::result_out_of_range) AD_FAIL(op, where(), ": number out of range \"", c, "\"");
        AD_CHECK(ec == std::errc() && end == c.data() + c.size(), op, where(), ": not a number \"", c, "\"");
        AD_CHECK(options.allow_nonfinite || std::isfinite(v), op, where(), ": non-finite value \"", c,
                 "\" (set allow_nonfinite to accept it)");
      }
      t.columns[j - 1].push_back(v);
    }
  }
  return t;
}

size_t CsvText::column(const std::string& name) const {
  for (size_t j = 0; j < header.size(); ++j)
    if (header[j] == name) return j;
  std::string known;
  for (size_t j = 0; j < header.size(); ++j) known += (j ? ", " : "") + header[j];
  AD_FAIL("read_csv_text", path, ": no column \"", name, "\" (columns: ", known, ")");
}

CsvText read_csv_text(const std::string& path, size_t max_rows) {
  const char* op = "read_csv_text";
  std::string text = read_file_bytes(path, op);
  const std::vector<CsvRecord> lines = csv_lines(text, path, op);
  CsvText t;
  t.path = path;
  t.header = csv_header(lines[0].text, path, op);
  const size_t n = max_rows > 0 && max_rows < lines.size() - 1 ? max_rows : lines.size() - 1;
  t.rows.resize(n);
  std::string why;
  for (size_t li = 1; li <= n; ++li) {
    std::vector<std::string>& cells = t.rows[li - 1];
    AD_CHECK(split_line(lines[li].text, cells, why), op, path, " line ", lines[li].line, ": ", why);
    AD_CHECK(cells.size() == t.header.size(), op, path, " line ", lines[li].line, ": expected ", t.header.size(),
             " columns (as in the header), got ", cells.size(), trim(lines[li].text).empty() ? " (blank line)" : "");
  }
  return t;
}

void write_csv_atomic(const std::string& path, const std::vector<std::string>& header,
                      const std::vector<std::string>& first_column,
                      const std::vector<std::vector<double>>& columns, int precision) {
  const char* op = "write_csv_atomic";
  AD_CHECK(header.size() == columns.size() + 1, op, path, ": ", header.size(), " header names for 1 + ",
           columns.size(), " columns");
  for (size_t j = 0; j < columns.size(); ++j)
    AD_CHECK(columns[j].size() == first_column.size(), op, path, ": column \"", header[j + 1], "\" has ",
             columns[j].size(), " rows, the first column has ", first_column.size());
  std::ostringstream os;
  os.precision(precision);
  for (size_t j = 0; j < header.size(); ++j) os << (j ? "," : "") << csv_quote(header[j]);
  os << '\n';
  for (size_t i = 0; i < first_column.size(); ++i) {
    os << csv_quote(first_column[i]);
    for (const auto& col : columns) {
      os << ',';
      double v = col[i];
      if (std::isnan(v)) continue;  // empty cell
      if (std::isinf(v)) os << (v > 0 ? "inf" : "-inf");
      else os << v;
    }
    os << '\n';
  }
  write_text_atomic(path, os.str());
}

}  // namespace ad
