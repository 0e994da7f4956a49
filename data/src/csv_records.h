#pragma once
// A small RFC 4180 CSV parser (the MMLU files have quoted fields with commas, quotes and
// newlines, so splitting lines is not enough). Private to data/.
#include <cstdint>
#include <string>
#include <vector>

namespace statetune::data::detail {

struct CsvRecord {
  std::vector<std::string> fields;
  int64_t line = 0;   // line where the record starts (1-based)
  std::string error;  // non-empty: the record is malformed (e.g. text after a closing quote)
};

// Parses the whole text. Records end at "\n" or "\r\n" outside quotes; blank lines are not
// records. An unterminated quoted field becomes one last record with an error.
std::vector<CsvRecord> parse_csv(const std::string& text);

}  // namespace statetune::data::detail
