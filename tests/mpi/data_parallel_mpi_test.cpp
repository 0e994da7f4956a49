// Run under `mpirun -np P` (ctest does, for P = 1..4): the MPI communicator's sums are exact,
// and a data-parallel tuning run over the world equals the same run on one rank.
#include <gtest/gtest.h>
#include <mpi.h>

#include "small_config.h"
#include "statetune/orchestrator/mpi_communicator.h"
#include "statetune/orchestrator/mpi_world.h"
#include "statetune/workers/guide_examples.h"
#include "statetune/workers/init_model.h"
#include "statetune/workers/state_tuner.h"

namespace statetune::orchestrator {
namespace {

int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
int world_size() {
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

// Small integers are exact in every float type, so any summation order gives the exact sum.
TEST(MpiCommunicator, AllReduceSumsAreExactForEveryDtypeAndShape) {
  MpiCommunicator comm(MPI_COMM_WORLD);
  const int P = world_size(), r = world_rank();
  ASSERT_EQ(comm.size(), P);
  ASSERT_EQ(comm.rank(), r);
  std::vector<at::Tensor> t{
      at::arange(12, at::kFloat).reshape({3, 4}) + r,          // Σ_r (i + r) = P·i + P(P-1)/2
      at::full({5}, static_cast<double>(r + 1), at::kDouble),  // Σ (r+1) = P(P+1)/2
      at::full({2, 2}, static_cast<int64_t>(r), at::kLong),
      at::full({7}, static_cast<float>(r), at::kBFloat16),     // travels as float32
      at::zeros({0}, at::kFloat),                              // empty tensors are fine
  };
  at::Tensor view_base = at::zeros({4, 4}, at::kFloat);
  t.push_back(view_base.select(1, 2));  // a non-contiguous view: reduced in place
  t.back().fill_(1.0f);
  comm.all_reduce_sum(t);
  const double tri = P * (P - 1) / 2.0;
  EXPECT_TRUE(at::equal(t[0], at::arange(12, at::kFloat).reshape({3, 4}) * P + static_cast<float>(tri)));
  EXPECT_TRUE(at::equal(t[1], at::full({5}, P * (P + 1) / 2.0, at::kDouble)));
  EXPECT_TRUE(at::equal(t[2], at::full({2, 2}, static_cast<int64_t>(tri), at::kLong)));
  EXPECT_EQ(t[3].scalar_type(), at::kBFloat16);
  EXPECT_TRUE(at::equal(t[3], at::full({7}, static_cast<float>(tri), at::kBFloat16)));
  EXPECT_EQ(t[4].numel(), 0);
  EXPECT_TRUE(at::equal(view_base.select(1, 2), at::full({4}, static_cast<float>(P), at::kFloat)));
  EXPECT_EQ(view_base.sum().item<float>(), static_cast<float>(4 * P)) << "only the view's elements change";
}

TEST(MpiCommunicator, AllGatherReturnsEveryRanksPayloadInRankOrder) {
  MpiCommunicator comm(MPI_COMM_WORLD);
  const std::vector<std::string> all = comm.all_gather(std::string(static_cast<size_t>(world_rank()), 'x') + "|" +
                                                       std::to_string(world_rank()));
  ASSERT_EQ(all.size(), static_cast<size_t>(world_size()));
  for (int r = 0; r < world_size(); ++r)
    EXPECT_EQ(all[static_cast<size_t>(r)], std::string(static_cast<size_t>(r), 'x') + "|" + std::to_string(r));
}

std::vector<workers::TuneExample> examples(int64_t count, uint64_t seed) {
  at::manual_seed(seed);
  std::vector<workers::TuneExample> out;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t n = 9 + (i % 4);  // different lengths: padding and token weighting matter
    workers::TuneExample e{{0}, {0}};
    at::Tensor tok = at::randint(1, 97, {n}, at::kLong);
    for (int64_t t = 0; t < n; ++t) {
      e.tokens.push_back(tok[t].item<int64_t>());
      e.is_target.push_back(t >= n / 3);
    }
    out.push_back(e);
  }
  return out;
}

// The tuned state after `steps` steps of `method` on `comm` (every rank gets the same data).
std::vector<at::Tensor> tune(workers::TuneMethod method, workers::Communicator& comm, int64_t batch) {
  const workers::Rwkv7Model model(workers::init_random_model(testing::small_config(2, 97), 3), "random", at::kDouble);
  workers::TuneOptions o;
  o.method = method;
  o.kernel.M = 16;
  o.lr = 0.05;
  o.lr_kernel = 0.01;
  o.dbp.lambda = 1.0;
  o.trainer.steps = 4;
  o.trainer.accumulation = 2;
  o.batch = batch;
  o.seed = 9;
  workers::TuneData data;
  data.train = examples(10, 17);
  for (const auto& e : data.train) data.calibration_prompts.push_back(e.tokens);
  workers::StateTuner tuner(model, o, data, comm);
  const workers::TrainResult r = tuner.run(false);
  EXPECT_EQ(r.status, workers::TrainStatus::kDone) << r.message;
  std::vector<at::Tensor> out;
  for (const auto& p : tuner.state().parameters()) out.push_back(p.detach().clone());
  for (const auto& R : tuner.state().decorrelation()) out.push_back(R.clone());
  // The curve is the group's: every rank reports the same loss as one rank does.
  out.push_back(at::tensor({r.history.back().loss}, at::kDouble));
  return out;
}

void expect_same_state(const std::vector<at::Tensor>& one, const std::vector<at::Tensor>& all) {
  ASSERT_EQ(one.size(), all.size());
  for (size_t i = 0; i < one.size(); ++i) {
    const double scale = std::max(one[i].abs().max().item<double>(), 1e-12);
    EXPECT_LE((one[i] - all[i]).abs().max().item<double>() / scale, 1e-5) << "tensor " << i;
  }
}

class DataParallel : public ::testing::TestWithParam<workers::TuneMethod> {};

TEST_P(DataParallel, WorldEqualsOneRankOnTheSameGlobalBatch) {
  MpiCommunicator world(MPI_COMM_WORLD);
  MpiCommunicator self(MPI_COMM_SELF);
  // batch 5 over P ranks: uneven shares (and a rank with none when P > 5 would also work).
  const std::vector<at::Tensor> one = tune(GetParam(), self, 5);
  const std::vector<at::Tensor> all = tune(GetParam(), world, 5);
  expect_same_state(one, all);
  // Every rank holds the same state: rank 0's all-reduced copy equals this rank's.
  std::vector<at::Tensor> sum;  // clones: the all-reduce works in place
  for (const auto& t : all) sum.push_back(t.clone());
  const std::vector<at::Tensor>& mine = all;
  world.all_reduce_sum(sum);
  for (size_t i = 0; i < mine.size(); ++i)
    EXPECT_LE((sum[i] / world_size() - mine[i]).abs().max().item<double>(), 1e-12) << "ranks disagree on tensor " << i;
}

// Observer tuning over the guide's own text: the questions are shared out over the ranks
// and the texts gathered; every rank holds the one-rank examples, in question order.
TEST(GuideWrittenExamples, WorldEqualsOneRank) {
  MpiCommunicator world(MPI_COMM_WORLD);
  MpiCommunicator self(MPI_COMM_SELF);
  const workers::Rwkv7Model guide(workers::init_random_model(testing::small_config(2, 97), 5), "random", at::kDouble);
  std::vector<std::vector<int64_t>> questions;
  for (const auto& e : examples(7, 23)) questions.push_back(e.tokens);
  const workers::ModelState prefix = guide.prompt_state(questions.back());
  const auto one = workers::guide_written_examples(guide, prefix, questions, 6, 1024, self);
  const auto all = workers::guide_written_examples(guide, prefix, questions, 6, 1024, world);
  ASSERT_EQ(one.size(), all.size());
  for (size_t i = 0; i < one.size(); ++i) {
    EXPECT_EQ(one[i].tokens, all[i].tokens) << "question " << i;
    EXPECT_EQ(one[i].is_target, all[i].is_target) << "question " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Methods, DataParallel,
                         ::testing::Values(workers::TuneMethod::kStandard, workers::TuneMethod::kDbp),
                         [](const auto& info) { return info.param == workers::TuneMethod::kDbp ? "dbp" : "standard"; });

}  // namespace
}  // namespace statetune::orchestrator

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  statetune::orchestrator::MpiWorld world;
  // Only rank 0 prints gtest's report; every rank's failures still fail the exit status.
  if (world.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0, any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any;
}
