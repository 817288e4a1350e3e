// CSV tables of the form: header row, then rows of <text key (timestamp or label), number, number, ...>.
// Errors name the file, the 1-based line, the 1-based column and its header.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ad {

struct CsvOptions {
  bool allow_missing = false;    // an empty numeric cell becomes NaN instead of an error
  bool allow_nonfinite = false;  // "nan", "inf", "-inf" cells are accepted instead of an error
};

struct CsvTable {
  std::string path;                               // the file read (named in column_index's error)
  std::vector<std::string> header;                // all column names, the text column first
  std::vector<std::string> first_column;          // one entry per row
  std::vector<std::vector<double>> columns;       // column-major: columns[j][row] is header[j + 1]
  size_t rows() const { return first_column.size(); }
  size_t numeric_columns() const { return columns.size(); }
  // Index into `columns` of the numeric column named `name`; throws naming the known columns.
  size_t column_index(const std::string& name) const;
};

// Reads a comma-separated file (RFC 4180). Handles \r\n line endings, a UTF-8 BOM, quoted fields ("a,b",
// "say ""hi""", "two\nlines")
// and blank lines at the end of the file. Every other irregularity is an ad::Error.
CsvTable read_csv(const std::string& path, const CsvOptions& options = {});

// A CSV table of text cells (loghub's structured logs: ids, labels, free text), same parsing rules as
// read_csv; rows[r] has header.size() cells. Line r of the file is rows[r - 2] (line 1 is the header)
// when no quoted field spans lines.
struct CsvText {
  std::string path;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  // Index of the column named `name`; throws naming the file and the known columns.
  size_t column(const std::string& name) const;
};
// max_rows > 0 reads only the first max_rows data rows (the rest is not parsed).
CsvText read_csv_text(const std::string& path, size_t max_rows = 0);

// One field as RFC 4180 writes it: quoted when it holds a comma, quote, CR or LF (or leading/trailing
// blanks, which the reader trims otherwise), with quotes doubled. Every CSV the project writes uses it.
std::string csv_quote(const std::string& field);

// The records of a CSV text, each without its line ending; a newline inside a quoted field does not end a
// record. `line` is the 1-based line the record starts on (for errors).
struct CsvRecord {
  std::string_view text;
  size_t line = 0;
};
std::vector<CsvRecord> split_csv_records(std::string_view text);

// Writes header (size columns.size() + 1), then one row per first_column entry, through a temporary file
// renamed onto `path`. NaN is written as an empty cell (read back with allow_missing), inf as "inf".
void write_csv_atomic(const std::string& path, const std::vector<std::string>& header,
                      const std::vector<std::string>& first_column,
                      const std::vector<std::vector<double>>& columns, int precision = 17);

}  // namespace ad
