#pragma once
// A sweep: a base run config and the axes it varies, expanded into runs.
//
//   base:                       # a run config (run_config.h), paths relative to this file
//     model: ../models/rwkv7-0.1b.pth
//     vocab: ../models/rwkv_vocab_v20230424.txt
//     output: states/{hash}.pth # {hash} is replaced by each run's hash
//     data: {benchmark: arc_challenge, train: ../data/arc/train.jsonl}
//   grid:                       # axes; every combination is a run. Any run key, dotted
//     method: [standard, kernel, dbp]            # for data.* (data.benchmark)
//     M: [128, 256]
//   zip:                        # groups of axes that vary together (equal lengths);
//     - lr: [1.0, 0.5]          # each group is one more axis of the product
//       warmup_steps: [0, 10]
//   exclude:                    # a run matching every pair of a rule is dropped;
//     - {method: dbp, M: 256}   # a list of values matches any of them
//     - {lr: 0.5, method: [kernel, dbp]}
//
// Expansion order: grid axes in file order, then zip groups in file order; the last axis
// varies fastest. Excluded runs are dropped. A run whose canonical hash equals an earlier
// run's is dropped too, so axes that do not apply to a method collapse (method [standard,
// kernel] x M [128, 256] gives 3 runs: M does not change a standard run). An axis value of
// null unsets an optional key (gamma: [null, 0.5]). Output and checkpoint paths may hold
// "{hash}"; two runs writing the same file are an error.
//
// Command-line overrides (`statetune sweep SWEEP.yaml model=m.pth data.train=t.jsonl`) set
// keys of `base:` before expansion, checked exactly as `tune`'s overrides are (paths
// relative to the current directory). Overriding an axis is an error naming the key.
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "statetune/sweeps/run_spec.h"

namespace statetune::sweeps {

struct SweepRun {
  RunSpec spec;
  std::string hash;  // run_hash(spec)
  // This run's value of each axis that applies to it, in axis order, as format_value text
  // ("null" for an unset key). M is absent for a standard run.
  std::vector<std::pair<std::string, std::string>> axes;
};

struct Sweep {
  std::string path;
  std::string text;                    // the sweep YAML as written (stored with the results)
  std::vector<std::string> overrides;  // the command-line overrides applied to base, as given
  std::vector<std::string> axes;       // axis keys in expansion order
  std::size_t combinations = 0;        // the full product, before exclude and dedupe
  std::size_t excluded = 0;            // dropped by exclude rules
  std::size_t duplicates = 0;          // same canonical hash as an earlier run
  std::vector<SweepRun> runs;          // expansion order, unique hashes
};

// Reads, validates and expands a sweep file. Errors are one line naming the file and line
// (or the override) and the key.
Sweep load_sweep_file(const std::string& path, const std::vector<std::string>& overrides = {});

}  // namespace statetune::sweeps
