#pragma once
// Combining the files of array tasks (`statetune merge OUT.h5 IN1.h5 IN2.h5 ...`).
#include <cstddef>
#include <string>
#include <vector>

namespace statetune::results {

struct MergeSummary {
  std::size_t runs = 0;        // runs in the output
  std::size_t duplicates = 0;  // copies of a run beyond the first (same config)
};

// Writes a new study file `output` (refused if it exists) holding every run of `inputs`.
// The inputs must be the same study (name and sweep text). A run found in several inputs:
//  - a different canonical_text is refused (naming both files and the run);
//  - both done with different tables (metrics, eval, items) is refused likewise;
//  - otherwise the most final copy is kept (done > failed > diverged > interrupted >
//    running > pending; the first input on a tie).
// Study attributes are united; a key with different values keeps them all, one per line.
MergeSummary merge_studies(const std::vector<std::string>& inputs, const std::string& output);

}  // namespace statetune::results
