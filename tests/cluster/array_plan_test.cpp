// Splitting array tasks by MaxArraySize (an index limit) and the submit budget (a count limit).
#include <gtest/gtest.h>

#include "expect_error.h"
#include "statetune/cluster/array_plan.h"
#include "statetune/cluster/slurm_limits.h"

using namespace statetune::cluster;
using statetune::testing::expect_error;

namespace {

// "first+count" per chunk, waves separated by " | ".
std::string layout(const ArrayPlan& plan) {
  std::string text;
  for (std::size_t w = 0; w < plan.waves.size(); ++w) {
    if (w > 0) text += " | ";
    for (std::size_t c = 0; c < plan.waves[w].size(); ++c) {
      text += (c > 0 ? " " : "") + std::to_string(plan.waves[w][c].first_task) + "+" +
              std::to_string(plan.waves[w][c].count);
    }
  }
  return text;
}

}  // namespace

TEST(ArrayPlan, FewTasksAreOneArrayJob) {
  EXPECT_EQ(layout(plan_array(8, 1001, std::nullopt)), "0+8");
  EXPECT_EQ(layout(plan_array(1, 1001, 5)), "0+1");
}

TEST(ArrayPlan, MaxArraySizeLimitsTheIndexSoLargeArraysAreChunksWithOffsets) {
  // MaxArraySize 1001: indices 0..1000, so 1001 tasks fit in one array job, 1002 do not.
  EXPECT_EQ(layout(plan_array(1001, 1001, std::nullopt)), "0+1001");
  EXPECT_EQ(layout(plan_array(1002, 1001, std::nullopt)), "0+1001 1001+1");
  EXPECT_EQ(layout(plan_array(2500, 1000, std::nullopt)), "0+1000 1000+1000 2000+500");
  // A large enough budget does not change that: MaxArraySize is not a count limit.
  EXPECT_EQ(layout(plan_array(2500, 1000, 10000)), "0+1000 1000+1000 2000+500");
}

TEST(ArrayPlan, MoreTasksThanTheBudgetGoInWavesLeavingTwoSlotsForChainJobs) {
  // Budget 6: waves of 4 tasks (the running chain job and the one it queues take 2 slots).
  EXPECT_EQ(layout(plan_array(10, 1001, 6)), "0+4 | 4+4 | 8+2");
  // Both limits: waves of 8, each split by MaxArraySize 3.
  EXPECT_EQ(layout(plan_array(20, 3, 10)), "0+3 3+3 6+2 | 8+3 11+3 14+2 | 16+3 19+1");
  // Exactly the budget: no waves needed.
  EXPECT_EQ(layout(plan_array(6, 1001, 6)), "0+6");
}

TEST(ArrayPlan, NoRoomInTheQueueIsAClearError) {
  expect_error([] { plan_array(10, 1001, 2); }, "--array 10: only 2 more jobs may be queued now");
  expect_error([] { plan_array(0, 1001, std::nullopt); }, "--array: expected at least 1 task");
}

TEST(SlurmLimits, ReadsScontrolShowConfig) {
  const std::string config =
      "Configuration data as of 2025-01-31T12:00:00\n"
      "AccountingStorageType   = accounting_storage/none\n"
      "MaxArraySize            = 2001\n"
      "MaxJobCount             = 5000\n"
      "MaxJobId                = 67043328\n";
  const SlurmLimits limits = parse_scontrol_config(config);
  EXPECT_EQ(limits.max_array_size, 2001);
  EXPECT_EQ(limits.max_job_count, 5000);
  EXPECT_FALSE(limits.max_submit_jobs.has_value());  // not in scontrol's output: the profile states it
  expect_error([] { parse_scontrol_config("MaxJobCount = 5\n"); }, "no MaxArraySize");
}

TEST(SlurmLimits, BudgetIsTheTighterLimitLessWhatIsQueued) {
  SlurmLimits limits;
  EXPECT_FALSE(limits.submit_budget().has_value());
  limits.max_job_count = 10000;
  limits.queued_jobs_all = 9000;
  EXPECT_EQ(limits.submit_budget(), 1000);
  limits.max_submit_jobs = 500;
  limits.queued_jobs_user = 100;
  EXPECT_EQ(limits.submit_budget(), 400);
  limits.queued_jobs_user = 600;
  EXPECT_EQ(limits.submit_budget(), 0);
}
