#include "csv_records.h"

namespace statetune::data::detail {

std::vector<CsvRecord> parse_csv(const std::string& text) {
  std::vector<CsvRecord> records;
  CsvRecord record;
  std::string field;
  int64_t line = 1;
  bool record_started = false;
  size_t i = 0;
  const size_t n = text.size();
  auto end_record = [&] {
    record.fields.push_back(std::move(field));
    field.clear();
    records.push_back(std::move(record));
    record = CsvRecord{};
    record_started = false;
  };
  while (i < n) {
    if (!record_started) {
      if (text[i] == '\n' || (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n')) {  // blank line
        i += text[i] == '\r' ? 2 : 1;
        ++line;
        continue;
      }
      record_started = true;
      record.line = line;
    }
    if (text[i] == '"' && field.empty()) {  // a quoted field
      const int64_t opened_at = line;
      ++i;
      bool closed = false;
      while (i < n) {
        if (text[i] == '"') {
          if (i + 1 < n && text[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        if (text[i] == '\n') ++line;
        field += text[i++];
      }
      if (!closed) {
        record.error = "unterminated quoted field (opened on line " + std::to_string(opened_at) + ")";
        end_record();
        return records;
      }
      if (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r' && record.error.empty())
        record.error = "unexpected text after a closing quote";
    }
    if (i >= n) break;
    const char c = text[i];
    if (c == ',') {
      record.fields.push_back(std::move(field));
      field.clear();
      ++i;
    } else if (c == '\n' || (c == '\r' && i + 1 < n && text[i + 1] == '\n')) {
      i += c == '\r' ? 2 : 1;
      ++line;
      end_record();
    } else {
      field += c;
      ++i;
    }
  }
  if (record_started) end_record();
  return records;
}

}  // namespace statetune::data::detail
