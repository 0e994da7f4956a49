#pragma once
// WinoGrande in its upstream JSON Lines form: {"qID", "sentence" (with a "_" blank), "option1",
// "option2", "answer": "1" | "2"}. The upstream release also ships splits whose answers live in
// a separate labels file (one "1"/"2" per line, e.g. dev-labels.lst); pass it as labels_path.
#include <string>

#include "statetune/data/benchmark_items.h"
#include "statetune/data/read_options.h"

namespace statetune::data {

// With labels_path, line k of the labels file is the answer of record k (the JSON "answer",
// if any, is ignored) and the two files must have as many records. Malformed records (bad JSON,
// a missing field, no "_" in the sentence, an answer other than "1"/"2") fail or are skipped
// per `options`, with "<path>:<line>: <what>". A count mismatch always throws.
ReadResult<WinograndeItem> read_winogrande(const std::string& path, const ReadOptions& options = {},
                                           const std::string& labels_path = "");

}  // namespace statetune::data
