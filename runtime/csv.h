// CSV tables of the form: header row, then rows of <text key (timestamp or label), number, number, ...>.
// Errors name the file, the 1-based line, the 1-based column and its header.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace ad {

struct CsvOptions {
  bool allow_missing = false;    // an empty numeric cell becomes NaN instead of an error
  bool allow_nonfinite = false;  // "nan", "inf", "-inf" cells are accepted instead of an error
};

struct CsvTable {
  std::vector<std::string> header;                // all column names, the text column first
  std::vector<std::string> first_column;          // one entry per row
  std::vector<std::vector<double>> columns;       // column-major: columns[j][row] is header[j + 1]
  size_t rows() const { return first_column.size(); }
  size_t numeric_columns() const { return columns.size(); }
  // Index into `columns` of the numeric column named `name`; throws naming the known columns.
  size_t column_index(const std::string& name) const;
};

// Reads a comma-separated file. Handles \r\n line endings, a UTF-8 BOM, quoted fields ("a,b", "say ""hi""")
// and blank lines at the end of the file. Every other irregularity is an ad::Error.
CsvTable read_csv(const std::string& path, const CsvOptions& options = {});

// Writes header (size columns.size() + 1), then one row per first_column entry, through a temporary file
// renamed onto `path`. NaN is written as an empty cell (read back with allow_missing), inf as "inf".
void write_csv_atomic(const std::string& path, const std::vector<std::string>& header,
                      const std::vector<std::string>& first_column,
                      const std::vector<std::vector<double>>& columns, int precision = 17);

}  // namespace ad
