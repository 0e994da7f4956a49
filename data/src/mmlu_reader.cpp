#include "statetune/data/mmlu_reader.h"

#include <algorithm>
#include <filesystem>

#include "csv_records.h"
#include "record_reading.h"
#include "statetune/common/file_io.h"

namespace statetune::data {

namespace {

const std::vector<std::string> kHeader{"question", "choice0", "choice1", "choice2", "choice3", "answer"};

// "<subject>_<split>.csv" -> subject; throws naming the file otherwise.
std::string subject_of(const std::string& path) {
  const std::string name = detail::base_name(path);
  for (const char* suffix : {"_test.csv", "_dev.csv", "_val.csv"}) {
    const std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0)
      return name.substr(0, name.size() - s.size());
  }
  fail("{}: an MMLU file must be named <subject>_test.csv, <subject>_dev.csv or <subject>_val.csv", path);
}

int parse_gold(const std::string& answer, bool header_form, const std::string& where) {
  if (header_form) {
    if (answer.size() == 1 && answer[0] >= '0' && answer[0] <= '3') return answer[0] - '0';
    fail("{}: answer must be an index 0-3, got \"{}\"", where, answer);
  }
  if (answer.size() == 1 && answer[0] >= 'A' && answer[0] <= 'D') return answer[0] - 'A';
  fail("{}: answer must be a letter A-D, got \"{}\"", where, answer);
}

}  // namespace

ReadResult<MmluItem> read_mmlu_file(const std::string& path, const ReadOptions& options) {
  const std::string subject = subject_of(path);
  const std::vector<detail::CsvRecord> records = detail::parse_csv(read_file_bytes(path));
  const bool header_form = !records.empty() && records[0].error.empty() && records[0].fields == kHeader;
  ReadResult<MmluItem> out;
  int index = 0;
  for (size_t r = header_form ? 1 : 0; r < records.size(); ++r) {
    const detail::CsvRecord& record = records[r];
    const std::string where = fmt::format("{}:{}", path, record.line);
    detail::parse_record(out, options, [&] {
      if (!record.error.empty()) fail("{}: {}", where, record.error);
      if (record.fields.size() != 6)
        fail("{}: expected 6 columns (question, 4 choices, answer), got {}", where, record.fields.size());
      MmluItem item;
      item.source = where;
      item.subject = subject;
      item.id = fmt::format("{}/{}", subject, index);
      item.question = record.fields[0];
      item.choices.assign(record.fields.begin() + 1, record.fields.begin() + 5);
      item.gold = parse_gold(record.fields[5], header_form, where);
      return item;
    });
    ++index;
  }
  return out;
}

std::vector<std::string> mmlu_split_files(const std::string& folder, const std::string& split) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return files;
  const std::string suffix = "_" + split + ".csv";
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

ReadResult<MmluItem> read_mmlu(const std::string& path, const std::string& split, const ReadOptions& options) {
  namespace fs = std::filesystem;
  ST_CHECK(fs::exists(path), "{}: no such file or folder", path);
  if (!fs::is_directory(path)) return read_mmlu_file(path, options);
  const std::vector<std::string> files = mmlu_split_files(path, split);
  ST_CHECK(!files.empty(), "{}: no MMLU files named <subject>_{}.csv in this folder", path, split);
  ReadResult<MmluItem> out;
  for (const std::string& file : files) {
    ReadResult<MmluItem> one = read_mmlu_file(file, options);
    out.items.insert(out.items.end(), std::make_move_iterator(one.items.begin()),
                     std::make_move_iterator(one.items.end()));
    out.skipped += one.skipped;
    out.skip_messages.insert(out.skip_messages.end(), one.skip_messages.begin(), one.skip_messages.end());
  }
  return out;
}

std::string mmlu_subject_name(const std::string& subject) {
  std::string name = subject;
  std::replace(name.begin(), name.end(), '_', ' ');
  return name;
}

}  // namespace statetune::data
