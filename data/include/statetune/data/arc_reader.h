#pragma once
// ARC (AI2 Reasoning Challenge) in its upstream JSON Lines form:
// {"id", "question": {"stem", "choices": [{"text", "label"}, ...]}, "answerKey"}.
#include <string>

#include "statetune/data/benchmark_items.h"
#include "statetune/data/read_options.h"

namespace statetune::data {

// Labels may be letters or digits and items may have 3-5 choices: answerKey is always mapped
// through the item's own labels. Malformed records (bad JSON, a missing field, fewer than two
// choices, duplicate labels, an answerKey not among the labels) fail or are skipped per
// `options`, with "<path>:<line>: <what>". A missing file always throws.
ReadResult<ArcItem> read_arc(const std::string& path, const ReadOptions& options = {});

}  // namespace statetune::data
