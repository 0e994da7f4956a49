#pragma once
// The study journal ("<study>.runs/journal.jsonl", layout.h): an append-only log of JSON
// lines, one per event, that catalogues every run's small fields (status, attempts, times,
// axes, flattened config, the eval summary). plan, status and report read it alone, so they
// open one file however many runs a study has; the writer appends to it, so a commit costs
// what it adds. Each run's HDF5 file stays complete on its own (h5py reads those).
//
// A line is written whole, then fdatasync'ed. A process killed during an append leaves a
// last line without its newline: readers ignore it, and the next writer cuts it off.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "statetune/results/records.h"

namespace statetune::results::detail {

struct CatalogEntry {
  RunInfo info;  // description.config_yaml and canonical_text are not journalled (run file)
  std::string fingerprint;  // hex16(fnv1a64(canonical_text)): the one-config-per-hash check
  bool has_summary = false;  // set once the run has ended
  std::vector<EvalMetric> summary;
};

// A declare record holds the config keys that differ from the previous declare record's
// (the runs of a sweep differ in a few axes): this is the config that chain has reached.
using ConfigChain = std::map<std::string, std::string>;

struct Catalog {
  std::map<std::string, CatalogEntry> runs;
  std::vector<std::string> declared;  // the hashes in the order first declared: the sweep's plan order
  ConfigChain config_chain;  // the last declared run's config (kept in every detail)
  std::string last_time;        // of the last record ("" when none)
  std::size_t whole_bytes = 0;  // the journal's length up to its last whole line
};

// kFull keeps every field; kStatusOnly drops axes, config and summaries (what the writer
// needs, so that its memory stays a few dozen bytes per run).
enum class CatalogDetail { kFull, kStatusOnly };

// Reads the journal at path (missing: an error naming it). A malformed whole line is an error
// naming the file and the line number.
Catalog read_catalog(const std::string& path, CatalogDetail detail = CatalogDetail::kFull);

std::string canonical_fingerprint(const std::string& canonical_text);

// One journal line each (ending in '\n'): a run is declared (pending), and a run's small fields
// after a status change (summary: the eval summary of a run that has ended, else nullptr).
// `chain`: the config the previous declare record left (Catalog::config_chain); updated.
std::string declare_line(const RunDescription& description, const std::string& time, ConfigChain& chain);
std::string run_line(const RunInfo& info, const std::vector<EvalMetric>* summary, const std::string& time);

// Cuts a torn last line off (after a writer was killed during an append).
void truncate_to_whole_lines(const std::string& path, std::size_t whole_bytes);

}  // namespace statetune::results::detail
