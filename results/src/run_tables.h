#pragma once
// The datasets of a run group (layout.h): per-step metrics, the eval summary, the items.
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

// Removes metrics/, eval/ and items/ (a new attempt starts from empty tables).
void clear_tables(const std::string& path, hid_t run);

}  // namespace statetune::results::detail
