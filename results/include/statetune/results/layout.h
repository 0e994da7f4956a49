#pragma once
// The layout of a statetune study (format 2; also results/LAYOUT.md, which says why).
//
// A study is the file the user names (the index) and the folder "<study>.runs/" beside it:
//
//   <study> (HDF5, the index)           attributes:
//     format_version    int64           kFormatVersion; readers refuse a newer one
//     study_name        string          the sweep's name
//     sweep_yaml        string          the sweep file's text
//     statetune_version string          "0.1.0 (git ...)" of the writer that created it
//     created, updated  string          ISO 8601 UTC ("2025-01-31T12:00:00Z"); updated: when
//                                       the index was last written
//   /study              group; attributes = free-form study attributes (string -> string),
//                                        e.g. slurm_job_ids, slurm_script
//   /runs/<hash>        external link -> "<study name>.runs/<hash>.h5":/ (relative to the
//                       index's folder), one per run, named by the canonical config hash
//
//   <study>.runs/<hash>.h5 (HDF5, one run; its root is what /runs/<hash> shows), attributes:
//     status            string          pending|running|done|failed|diverged|interrupted
//     config_yaml       string          the resolved config (YAML)
//     canonical_text    string          the canonical form the hash was computed from
//     method            string
//     attempts          int64           begin_run calls so far
//     started, finished string          ISO 8601 UTC ("" when not yet)
//     wall_seconds      float64         of the last attempt (NaN until it ends)
//     ranks             int64           ranks in the group of the last attempt
//     host              string          hostname of the last attempt's rank 0
//     message           string          error/interrupt message ("" when none)
//     tuned_state_path  string          the tuned state file ("" when none)
//   axes                group; attributes = the run's sweep axes (key -> value text)
//   config              group; attributes = flattened config (dotted key -> value text)
//   metrics/            per-step curves: 1-D, chunked, unlimited, all the same length
//     step int64; loss, lr, grad_norm, l_decor, tokens_per_s float64 (NaN = not produced)
//   eval/               the summary table, one row per metric:
//     name string; before, after float64 (NaN = not measured)
//   items/              per-item records, one row per (phase, item):
//     phase, id, prediction, gold  string (variable-length UTF-8)
//     correct  int8 (0/1)
//     loglik   float64 [rows, max choices], padded with NaN (width 0 for generation tasks)
//   state/              the tuned state (RunOutcome::tuned_state), one dataset per tensor:
//     <name>   float32, the tensor's shape (rank 0: a scalar), row-major. <name> is the
//              model's ("blocks.0.att.time_state"): dots are fine, '/' is refused. Chunked,
//              byte-shuffled and deflate-compressed (level 4) above 4 KiB when HDF5 can.
//
//   <study>.runs/journal.jsonl          append-only JSON lines: {"declare": hash, ...} when a
//                                       run is added, {"run": hash, ...} with its attributes
//                                       (and "summary" once it ended) after each status
//                                       change. The last record of a hash is its state.
//
// All strings are variable-length UTF-8 (h5py: attributes read as str, dataset elements as
// bytes; use .asstr()). eval/ and items/ exist once a run has finished; metrics/ from its
// first step; state/ once a run has finished with a tuned state (absent: none stored).
// begin_run removes metrics/, eval/, items/ and state/ of an earlier attempt.
//
// Crash safety: HDF5 files are edited as in-memory images and published with temporary +
// fsync + rename (never torn); the journal is appended one whole line at a time (a torn last
// line is ignored). A run's file is published before the journal records it, so a killed
// writer leaves the journal at most one commit behind the files, never ahead; readers and
// resume go by the journal. Format 1 (the runs as groups inside one file) is still read.
#include <cstdint>

namespace statetune::results {

// Bump when a reader of the previous layout could misread a new file.
inline constexpr std::int64_t kFormatVersion = 2;

}  // namespace statetune::results
