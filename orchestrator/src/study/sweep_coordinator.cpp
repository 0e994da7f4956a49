#include "study/sweep_coordinator.h"

#include <fmt/format.h>

#include "statetune/common/log.h"
#include "statetune/common/timer.h"
#include "study/sweep_messages.h"

namespace statetune::orchestrator {

SweepCoordinator::SweepCoordinator(const sweeps::Sweep& sweep, results::StudyWriter& writer, const StudyPlan& plan,
                                   const CoordinatorOptions& options)
    : sweep_(sweep),
      writer_(writer),
      options_(options),
      queue_(plan.to_run.begin(), plan.to_run.end()),
      progress_(plan.to_run.size(), options.groups) {
  for (int g = 1; g < options.groups; ++g) active_leaders_.insert(g * options.ranks_per_run);
}

std::optional<std::size_t> SweepCoordinator::take(const std::string& host) {
  if (stopping_ || queue_.empty()) return std::nullopt;
  Timer cost;
  ++dealt_;
  const std::size_t index = queue_.front();
  queue_.pop_front();
  results::RunPlacement placement;
  placement.ranks = options_.ranks_per_run;
  placement.host = host;
  writer_.begin_run(describe_run(sweep_.runs[index]), placement);
  progress_.started();
  overhead_seconds_ += cost.seconds();
  return index;
}

std::optional<std::size_t> SweepCoordinator::next_for_own_group(const std::string& host) {
  poll(false);
  return take(host);
}

void SweepCoordinator::record(std::size_t index, const RunReport& report, const std::string& host) {
  Timer cost;
  const sweeps::SweepRun& run = sweep_.runs[index];
  for (const results::StepRecord& s : report.steps) writer_.append_step(run.hash, s);
  results::RunOutcome outcome;
  outcome.status = report.status;
  outcome.summary = report.summary;
  outcome.items = report.items;
  outcome.message = report.message;
  outcome.tuned_state_path = report.state_path;
  outcome.tuned_state = report.state;
  outcome.baseline = report.baseline;
  writer_.finish_run(run.hash, outcome);  // status last, then committed
  overhead_seconds_ += cost.seconds();
  std::string metric;
  for (const auto& m : report.summary) {
    if (m.name.rfind("mmlu/", 0) == 0) continue;
    metric = fmt::format(", {} {:.4f} -> {:.4f}", m.name, m.before, m.after);
    break;
  }
  const std::string what = fmt::format("run {} [{}] on {}: {} in {:.1f} s{}{}", run.hash,
                                       std::string(sweeps::to_string(run.spec.method)), host,
                                       results::to_string(report.status), report.seconds, metric,
                                       report.message.empty() ? "" : " (" + report.message + ")");
  switch (report.status) {
    case results::RunStatus::kDone:
      ++done_;
      progress_.note(what);
      progress_.finished(true);
      break;
    case results::RunStatus::kInterrupted:
      ++interrupted_;
      progress_.note(what);
      progress_.stopped_running(1);
      // Only a stop interrupts a run; when it came from a rank this one did not hear from (a
      // member of a group), the whole study stops with it.
      stop("run " + run.hash + " was interrupted");
      break;
    default:
      ++failed_;
      progress_.note(what);
      progress_.finished(false);
      if (options_.fail_fast) stop("--fail-fast: run " + run.hash + " " + std::string(results::to_string(report.status)));
  }
}

void SweepCoordinator::stop(const std::string& why) {
  if (stopping_) return;
  stopping_ = true;
  progress_.note(fmt::format("stopping: {}; running runs stop after their current step", why));
  for (const auto& [leader, index] : running_) send_json(nlohmann::json::object(), leader, kStop);
}

void SweepCoordinator::on_request(int from) {
  const nlohmann::json request = receive_json(from, kRequest);
  if (request.value("signal", 0) != 0) stop(fmt::format("rank {} received signal {}", from, request["signal"].get<int>()));
  const std::optional<std::size_t> index = take(request.value("host", std::string()));
  if (index) {
    running_[from] = *index;
  } else {
    active_leaders_.erase(from);
  }
  send_json({{"index", index ? static_cast<int64_t>(*index) : -1}}, from, kAssign);
}

void SweepCoordinator::on_result(int from) {
  Timer cost;
  const nlohmann::json result = receive_json(from, kResult);
  overhead_seconds_ += cost.seconds();
  const auto it = running_.find(from);
  if (it == running_.end()) {
    log::error("rank {} sent a result for a run it was not given; ignored", from);
    return;
  }
  const std::size_t index = it->second;
  running_.erase(it);
  RunReport report = report_from_json(result.at("report"));
  receive_state(from, report);
  record(index, report, result.value("host", std::string()));
  if (result.value("signal", 0) != 0) stop(fmt::format("rank {} received signal {}", from, result["signal"].get<int>()));
}

void SweepCoordinator::poll(bool block) {
  int from = 0, tag = 0;
  while (probe_message(block, &from, &tag)) {
    if (tag == kRequest) {
      on_request(from);
    } else if (tag == kResult) {
      on_result(from);
    } else {
      log::error("unexpected message (tag {}) from rank {}", tag, from);
      receive_json(from, static_cast<SweepTag>(tag));
    }
    if (block) return;
  }
}

void SweepCoordinator::wait_for_groups() {
  while (!active_leaders_.empty() || !running_.empty()) poll(true);
}

}  // namespace statetune::orchestrator
