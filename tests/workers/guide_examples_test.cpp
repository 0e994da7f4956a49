// Observer tuning over the guide's own text (`guide_generate_tokens`): the examples are each
// question followed by what the guide writes greedily after it, the loss on that text alone.
#include <gtest/gtest.h>

#include <ATen/Parallel.h>

#include "small_config.h"
#include "statetune/workers/generation.h"
#include "statetune/workers/guide_examples.h"
#include "statetune/workers/init_model.h"

namespace statetune::workers {
namespace {

std::vector<int64_t> random_question(int64_t n, uint64_t seed) {
  at::manual_seed(seed);
  std::vector<int64_t> t{0};
  const at::Tensor r = at::randint(1, 97, {n}, at::kLong);
  for (int64_t i = 0; i < n; ++i) t.push_back(r[i].item<int64_t>());
  return t;
}

TEST(GuideWrittenExamples, MaskExactlyTheGuidesGreedyTokens) {
  at::set_num_threads(1);  // tiny matrices (see observer_test.cpp)
  const Rwkv7Model guide(init_random_model(testing::small_config(2, 97), 4), "random");
  const ModelState prefix = guide.prompt_state(random_question(16, 1));
  const std::vector<std::vector<int64_t>> questions{random_question(5, 2), random_question(9, 3), random_question(1, 4)};
  LocalCommunicator comm;
  const std::vector<TuneExample> ex = guide_written_examples(guide, prefix, questions, 7, 1024, comm);
  ASSERT_EQ(ex.size(), questions.size());
  GenerationOptions greedy;
  greedy.max_tokens = 7;
  greedy.temperature = 0;
  for (size_t i = 0; i < questions.size(); ++i) {
    std::vector<int64_t> text = generate(guide, questions[i], prefix, greedy, {});
    if (text.empty()) text.push_back(0);
    std::vector<int64_t> tokens = questions[i];
    tokens.insert(tokens.end(), text.begin(), text.end());
    std::vector<uint8_t> mask(questions[i].size(), 0);
    mask.resize(tokens.size(), 1);
    EXPECT_EQ(ex[i].tokens, tokens) << "question " << i;
    EXPECT_EQ(ex[i].is_target, mask) << "question " << i << ": the loss is on the guide's tokens, never the question's";
    EXPECT_TRUE(ex[i].guide_top_k.empty());
  }
  // Read from zeros the guide writes something else: its state is what it reads from.
  const std::vector<TuneExample> from_zeros = guide_written_examples(guide, {}, questions, 7, 1024, comm);
  bool differs = false;
  for (size_t i = 0; i < ex.size(); ++i) differs = differs || from_zeros[i].tokens != ex[i].tokens;
  EXPECT_TRUE(differs);
  // Too long for max_tokens: the question loses tokens from its front (token 0 stays first),
  // the guide's text is kept whole.
  const std::vector<TuneExample> cut = guide_written_examples(guide, prefix, {questions[1]}, 7, 10, comm);
  ASSERT_EQ(cut[0].tokens.size(), 10u);
  const size_t text = ex[1].tokens.size() - questions[1].size();
  EXPECT_EQ(cut[0].tokens.front(), 0);
  EXPECT_TRUE(std::equal(cut[0].tokens.end() - static_cast<std::ptrdiff_t>(10 - text), cut[0].tokens.end(),
                         ex[1].tokens.end() - static_cast<std::ptrdiff_t>(10 - text)));
  std::vector<uint8_t> cut_mask(10 - text, 0);
  cut_mask.resize(10, 1);
  EXPECT_EQ(cut[0].is_target, cut_mask);
}

// A guide whose first choice is end-of-text has written that token: it is the one target.
TEST(GuideWrittenExamples, AGuideThatEndsAtOnceLeavesItsEndOfTextAsTheTarget) {
  TensorMap w = init_random_model(testing::small_config(2, 97), 5);
  at::Tensor head = at::zeros_like(w.at("head.weight"));
  w["head.weight"] = head;  // every logit 0: greedy argmax picks token 0
  const Rwkv7Model guide(w, "ends at once");
  LocalCommunicator comm;
  const std::vector<int64_t> question = random_question(4, 6);
  const std::vector<TuneExample> ex = guide_written_examples(guide, {}, {question}, 5, 1024, comm);
  std::vector<int64_t> tokens = question;
  tokens.push_back(0);
  EXPECT_EQ(ex.at(0).tokens, tokens);
  EXPECT_EQ(ex.at(0).is_target, (std::vector<uint8_t>{0, 0, 0, 0, 0, 1}));
}

}  // namespace
}  // namespace statetune::workers
