#include "study/sweep_progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

namespace statetune::orchestrator {
namespace {

std::string duration(double s) {
  if (s < 90) return fmt::format("{:.0f}s", s);
  if (s < 5400) return fmt::format("{:.0f}m{:02.0f}s", s / 60 - 0.5, std::fmod(s, 60.0));
  return fmt::format("{:.1f}h", s / 3600);
}

}  // namespace

namespace {
// In-place refresh only on a real terminal: mpirun hands its ranks a pseudo-terminal even
// when its own output goes to a file, so under an MPI launcher the lines stay plain.
bool interactive_terminal() {
  const bool launched = std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMIX_RANK") != nullptr ||
                        std::getenv("SLURM_JOB_ID") != nullptr;
  return !launched && isatty(fileno(stdout)) != 0;
}
}  // namespace

SweepProgress::SweepProgress(std::size_t total, int groups)
    : total_(total), groups_(groups), tty_(interactive_terminal()) {}

std::string SweepProgress::status_line() const {
  const std::size_t ended = done_ + failed_;
  const std::size_t pending = total_ - ended - running_;
  std::string eta = "?";
  if (ended > 0) {
    // Runs end at the observed rate; the running ones are half done on average.
    const double per_run = timer_.seconds() / static_cast<double>(ended);
    eta = duration(per_run * (static_cast<double>(pending) + 0.5 * static_cast<double>(running_)));
  }
  return fmt::format("runs: {} done, {} failed, {} running, {} pending of {} ({} group{}); {} elapsed, ETA {}", done_,
                     failed_, running_, pending, total_, groups_, groups_ == 1 ? "" : "s", duration(timer_.seconds()),
                     eta);
}

void SweepProgress::redraw() {
  if (tty_) {
    std::printf("\r\033[K%s", status_line().c_str());
  } else {
    std::printf("%s\n", status_line().c_str());
  }
  std::fflush(stdout);
}

void SweepProgress::started() {
  ++running_;
  if (tty_) redraw();  // plain output: one status line per finished run is enough
}

void SweepProgress::finished(bool ok) {
  if (running_ > 0) --running_;
  ++(ok ? done_ : failed_);
  redraw();
}

void SweepProgress::stopped_running(std::size_t count) {
  running_ = count > running_ ? 0 : running_ - count;
  redraw();
}

void SweepProgress::note(const std::string& text) {
  if (tty_) std::printf("\r\033[K");
  std::printf("%s\n", text.c_str());
  if (tty_) std::printf("%s", status_line().c_str());
  std::fflush(stdout);
}

void SweepProgress::close() {
  if (tty_) std::printf("\n");
  std::fflush(stdout);
}

}  // namespace statetune::orchestrator
