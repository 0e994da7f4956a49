#pragma once
// GSM8K in its upstream JSON Lines form: {"question", "answer"}, the answer being the worked
// solution whose last line is "#### <number>".
#include <string>

#include "statetune/data/benchmark_items.h"
#include "statetune/data/read_options.h"

namespace statetune::data {

// Items get id "<file name>:<line>". Malformed records (bad JSON, a missing field, an answer
// without "#### ") fail or are skipped per `options`, with "<path>:<line>: <what>".
ReadResult<Gsm8kItem> read_gsm8k(const std::string& path, const ReadOptions& options = {});

}  // namespace statetune::data
