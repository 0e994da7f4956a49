#include "report_baselines.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace statetune::results::detail {

std::string baselines_text(const std::vector<RunInfo>& runs) {
  std::map<std::string, std::vector<std::string>> sharing;  // baseline -> runs, by hash
  std::size_t done = 0;
  for (const auto& run : runs) {
    if (run.status != RunStatus::kDone || run.baseline.empty()) continue;
    sharing[run.baseline].push_back(run.description.hash);
    ++done;
  }
  if (sharing.empty()) return "";
  std::vector<std::pair<std::string, std::vector<std::string>>> order(sharing.begin(), sharing.end());
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.second.size() > b.second.size(); });
  constexpr std::size_t kShown = 5, kRunsShown = 3;
  std::string out = fmt::format("baselines: {} done runs used {} 'before' evaluation(s), each computed once:", done,
                                sharing.size());
  for (std::size_t i = 0; i < order.size() && i < kShown; ++i) {
    const auto& [key, hashes] = order[i];
    std::vector<std::string> named(hashes.begin(), hashes.begin() + std::min(hashes.size(), kRunsShown));
    out += fmt::format("{} {} by {} run{} ({}{})", i ? ";" : "", key, hashes.size(), hashes.size() == 1 ? "" : "s",
                       fmt::join(named, ", "),
                       hashes.size() > kRunsShown ? fmt::format(" and {} more", hashes.size() - kRunsShown) : "");
  }
  if (order.size() > kShown) out += fmt::format("; and {} more", order.size() - kShown);
  return out + "\n";
}

}  // namespace statetune::results::detail
