#pragma once
// The datasets of a run group (layout.h): per-step metrics, the eval summary, the items,
// the tuned state.
#include <hdf5.h>

#include <string>
#include <vector>

#include "statetune/results/records.h"

namespace statetune::results::detail {

// Appends one row to /runs/<hash>/metrics, creating the group on the first step.
void append_metrics(const std::string& path, hid_t run, const StepRecord& step);
std::vector<StepRecord> read_metrics(const std::string& path, hid_t run);

// Replace the eval/ and items/ groups (absent ones are created).
void write_eval(const std::string& path, hid_t run, const std::vector<EvalMetric>& summary);
void write_items(const std::string& path, hid_t run, const std::vector<EvalItem>& items);
std::vector<EvalMetric> read_eval(const std::string& path, hid_t run);
std::vector<EvalItem> read_items(const std::string& path, hid_t run);

// Refuses (naming the file and the run) a tuned state that cannot be stored as given: an
// empty name, "." or "..", a name with '/' (HDF5 would read it as a path), a name given
// twice, a negative dimension, more than 32 dimensions, or a value count that is not the
// shape's product. finish_run calls it before writing anything.
void check_tuned_state(const std::string& path, const std::string& hash, const std::vector<StateTensor>& tensors);
// Replaces the state/ group: one float32 dataset per tensor, deflate-compressed (chunked)
// when larger than a few KiB and this HDF5 can; no group when `tensors` is empty.
void write_state(const std::string& path, hid_t run, const std::vector<StateTensor>& tensors);
// Sorted by name; empty when the run has no state/.
std::vector<StateTensor> read_state(const std::string& path, hid_t run, const std::string& hash);

// Removes metrics/, eval/, items/ and state/ (a new attempt starts from empty tables).
void clear_tables(const std::string& path, hid_t run);

}  // namespace statetune::results::detail
