#pragma once
// MMLU per-subject CSV files, in either of the two forms found in the wild:
//   * with the header "question,choice0,choice1,choice2,choice3,answer", answer a 0-based
//     index (the cais/mmlu export);
//   * the original hendrycks form without a header: question,A,B,C,D,<letter A-D>.
// The form is decided by the first record. The subject is the file name's prefix
// (<subject>_test.csv, <subject>_dev.csv or <subject>_val.csv).
#include <string>
#include <vector>

#include "statetune/data/benchmark_items.h"
#include "statetune/data/read_options.h"

namespace statetune::data {

// One subject file. Items get id "<subject>/<index>" (0-based, in file order). Malformed
// records (wrong number of columns, an answer out of range, broken quoting) fail or are
// skipped per `options`, with "<path>:<line>: <what>". A bad file name always throws.
ReadResult<MmluItem> read_mmlu_file(const std::string& path, const ReadOptions& options = {});

// The "<subject>_<split>.csv" files of a folder, in name order; none when there are none or
// `folder` is not a folder.
std::vector<std::string> mmlu_split_files(const std::string& folder, const std::string& split);

// Every "<subject>_<split>.csv" in a folder, subjects in name order; or the one file when
// `path` is a file. Throws when the folder holds no such file.
ReadResult<MmluItem> read_mmlu(const std::string& path, const std::string& split, const ReadOptions& options = {});

// "high_school_biology" -> "high school biology", as lm-eval's per-subject descriptions say it.
std::string mmlu_subject_name(const std::string& subject);

}  // namespace statetune::data
