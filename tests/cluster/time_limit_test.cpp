// Slurm's time-limit formats, as sbatch --time reads them.
#include <gtest/gtest.h>

#include "statetune/cluster/time_limit.h"

using statetune::cluster::parse_time_limit;

TEST(TimeLimit, EverySlurmFormat) {
  EXPECT_EQ(parse_time_limit("30"), 30 * 60);                 // minutes
  EXPECT_EQ(parse_time_limit("30:15"), 30 * 60 + 15);         // minutes:seconds
  EXPECT_EQ(parse_time_limit("2:30:00"), 2 * 3600 + 30 * 60); // hours:minutes:seconds
  EXPECT_EQ(parse_time_limit("1-12"), 86400 + 12 * 3600);     // days-hours
  EXPECT_EQ(parse_time_limit("1-12:30"), 86400 + 12 * 3600 + 30 * 60);
  EXPECT_EQ(parse_time_limit("2-00:00:10"), 2 * 86400 + 10);
}

TEST(TimeLimit, AnythingElseIsRefused) {
  for (const char* bad : {"", "1 day", "1:2:3:4", "1-2:3:4:5", "-5", "a:10", "1-", "10:", "24h"}) {
    EXPECT_FALSE(parse_time_limit(bad).has_value()) << bad;
  }
}
