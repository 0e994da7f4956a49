#include "study/study_times.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "comm/mpi_check.h"
#include "statetune/common/timer.h"
#include "run/run_times.h"
#include "statetune/orchestrator/run_resources.h"
#include "study/sweep_coordinator.h"

namespace statetune::orchestrator {
namespace {

// The study's wall time is the process's: from start-up (MPI_Init, the sweep's expansion) on.
const Timer g_since_start;

// The phases in the order a run goes through them, with the names the split prints.
struct Phase {
  const char* name;
  double RunTimes::*seconds;
};
constexpr std::array<Phase, 8> kPhases{{{"load", &RunTimes::load},
                                        {"guide text", &RunTimes::guide_text},
                                        {"calibration", &RunTimes::calibration},
                                        {"eval before", &RunTimes::eval_before},
                                        {"steps", &RunTimes::steps},
                                        {"save", &RunTimes::save},
                                        {"eval after", &RunTimes::eval_after},
                                        {"tts questions", &RunTimes::questions}}};
// The cache's kinds of entries (run_resources.cpp's key prefixes), as the split names them.
constexpr std::array<std::pair<const char*, const char*>, 4> kKinds{
    {{"model", "models"}, {"vocab", "vocabularies"}, {"data", "data sets"}, {"traces", "trace files"}}};

}  // namespace

void print_study_time_split(int groups, bool group_leader, const SweepCoordinator* coordinator) {
  const double wall_seconds = g_since_start.seconds();
  // One vector of sums: runs, the phases, rank 0's results file, then loads/hits/evictions per kind.
  std::vector<double> mine;
  {
    const ProcessTimes mine_so_far = process_times();
    mine.push_back(mine_so_far.runs);
    for (const Phase& p : kPhases) mine.push_back(mine_so_far.sums.*p.seconds);
  }
  // The coordinator's own cost (results file commits, messages) over every run it dealt.
  mine.push_back(coordinator ? coordinator->overhead_ms_per_run() / 1e3 *
                                   static_cast<double>(coordinator->done() + coordinator->failed() +
                                                       coordinator->interrupted())
                             : 0.0);
  const auto counts = process_cache().counts();
  for (const auto& [kind, name] : kKinds) {
    const auto it = counts.find(kind);
    const ResourceCache::Counts c = it == counts.end() ? ResourceCache::Counts{} : it->second;
    mine.insert(mine.end(), {static_cast<double>(c.loads), static_cast<double>(c.hits),
                             static_cast<double>(c.evictions)});
  }
  if (!group_leader) std::fill(mine.begin(), mine.end(), 0.0);
  std::vector<double> sum(mine.size(), 0.0);
  MPI_CHECK(MPI_Reduce(mine.data(), sum.data(), static_cast<int>(mine.size()), MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD));
  if (coordinator == nullptr) return;

  const double base = wall_seconds * groups;  // the groups' time, side by side
  auto share = [&](const char* name, double seconds) {
    return fmt::format("{} {:.1f} s ({:.1f}%)", name, seconds, base > 0 ? 100.0 * seconds / base : 0.0);
  };
  std::string line;
  double accounted = 0;
  for (size_t i = 0; i < kPhases.size(); ++i) {
    const double seconds = sum[1 + i];
    accounted += seconds;
    // The method-specific phases only when a run had them.
    if (seconds == 0 && (kPhases[i].seconds == &RunTimes::guide_text || kPhases[i].seconds == &RunTimes::questions))
      continue;
    line += share(kPhases[i].name, seconds) + ", ";
  }
  const double results = sum[1 + kPhases.size()];
  line += share("results file", results) + ", " + share("other", std::max(0.0, base - accounted - results));
  std::printf("time split over %.0f run(s), %d group(s) x %.1f s wall: %s\n", sum[0], groups, wall_seconds,
              line.c_str());
  std::string reads;
  double evictions = 0;
  for (size_t k = 0; k < kKinds.size(); ++k) {
    const double loads = sum[2 + kPhases.size() + 3 * k], hits = sum[3 + kPhases.size() + 3 * k];
    evictions += sum[4 + kPhases.size() + 3 * k];
    if (loads + hits == 0) continue;
    reads += fmt::format("{}{} {:.0f} read, {:.0f} reused", reads.empty() ? "" : "; ", kKinds[k].second, loads, hits);
  }
  std::printf("cache: %s; %.0f dropped to stay under %.0f MiB per process\n", reads.empty() ? "nothing read" : reads.c_str(),
              evictions, static_cast<double>(process_cache().max_bytes()) / (1024.0 * 1024.0));
  std::fflush(stdout);
}

}  // namespace statetune::orchestrator
