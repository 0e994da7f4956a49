// The benchmark evaluator on a tiny random model: log-likelihoods are exactly what `score`
// reports for the concatenated sequence, sharing the context changes nothing but speed,
// acc_norm is lm-eval's, and generation is greedy with stop sequences.
#include "statetune/workers/evaluator.h"

#include <gtest/gtest.h>

#include "cli/tiny_inputs.h"
#include "small_config.h"
#include "statetune/data/prompts.h"
#include "statetune/workers/generation.h"
#include "statetune/workers/init_model.h"
#include "test_paths.h"

namespace {

using namespace statetune;
using workers::ContextSharing;

// A byte-level vocab (ids 1..256 = bytes 0..255, as in the real file), so tests need no
// shared data and every string has an obvious tokenization.
const data::Tokenizer& byte_tokenizer() {
  static const data::Tokenizer tokenizer = [] {
    const std::string path = statetune::testing::temp_dir("evaluator_vocab") + "/vocab.txt";
    statetune::testing::write_byte_vocab(path);
    return data::Tokenizer::load(path);
  }();
  return tokenizer;
}

const workers::Rwkv7Model& tiny_model() {
  static const workers::Rwkv7Model model(workers::init_random_model(statetune::testing::small_config(2, 260), 11), "tiny");
  return model;
}

// A non-zero tuned-like initial state (WKV only, as state files carry).
workers::ModelState random_state(const workers::Rwkv7Model& model, uint64_t seed) {
  at::manual_seed(seed);
  const auto& c = model.config();
  workers::ModelState state(c.n_layer);
  for (auto& layer : state) layer.wkv = at::randn({c.n_head, c.head_size, c.head_size}) * 0.3;
  return state;
}

data::McRequest arc_like() {
  data::ArcItem item;
  item.id = "q";
  item.stem = "Which gas do plants take in?";
  item.choices = {"oxygen", "carbon dioxide", "He", "neon gas at low pressure"};
  item.gold = 1;
  return data::render_arc(item);
}

data::McRequest winogrande_like() {
  data::WinograndeItem item;
  item.id = "w";
  item.sentence = "The trophy did not fit in the suitcase because the _ was too big.";
  item.option1 = "trophy";
  item.option2 = "suitcase";
  return data::render_winogrande(item);
}

TEST(Evaluator, ChoiceLoglikIsTheSumOfScoredContinuationTokens) {
  const auto& model = tiny_model();
  const workers::ModelState tuned = random_state(model, 3);
  for (const workers::ModelState* initial : {static_cast<const workers::ModelState*>(nullptr), &tuned}) {
    workers::Evaluator evaluator(model, byte_tokenizer(), initial);
    for (const data::McRequest& request : {arc_like(), winogrande_like()}) {
      const auto choices = evaluator.tokenize(request);
      for (ContextSharing sharing : {ContextSharing::shared, ContextSharing::unshared}) {
        const auto ll = workers::choice_logliks(model, choices, initial, sharing);
        for (size_t i = 0; i < choices.size(); ++i) {
          // What `statetune score` reports for token 0 + context + continuation.
          const workers::TokenScores s =
              workers::score_tokens(model, choices[i].tokens, initial ? *initial : workers::ModelState{});
          double sum = 0;
          for (size_t j = choices[i].target_begin; j < choices[i].tokens.size(); ++j) sum += s.logprob[j];
          EXPECT_NEAR(ll[i], sum, 1e-4 * std::max(1.0, std::abs(sum))) << request.id << " choice " << i;
        }
      }
    }
  }
}

TEST(Evaluator, TokenizationIsTokenZeroThenContextThenContinuationEncodedSeparately) {
  workers::Evaluator evaluator(tiny_model(), byte_tokenizer());
  const auto choices = evaluator.tokenize(arc_like());
  ASSERT_EQ(choices.size(), 4u);
  const std::string context = "Question: Which gas do plants take in?\nAnswer:";
  EXPECT_EQ(choices[2].tokens.front(), 0);
  EXPECT_EQ(choices[2].target_begin, 1 + context.size());
  EXPECT_EQ(choices[2].tokens.size(), 1 + context.size() + 3);  // " He"
  EXPECT_EQ(choices[2].tokens[choices[2].target_begin], ' ' + 1);

  // As lm-eval's _encode_pair: whitespace ending a context is scored with the continuation.
  data::McRequest trailing;
  trailing.id = "t";
  trailing.contexts = {"Answer: "};
  trailing.continuations = {"A", "B"};
  trailing.norm_lengths = {1, 1};
  const auto moved = evaluator.tokenize(trailing);
  ASSERT_EQ(moved.size(), 2u);
  EXPECT_EQ(moved[1].target_begin, 1 + std::string("Answer:").size());
  EXPECT_EQ(moved[1].tokens.back(), 'B' + 1);
  EXPECT_EQ(moved[1].tokens[moved[1].target_begin], ' ' + 1);
}

TEST(Evaluator, SharedContextGivesTheUnsharedLogliks) {
  const auto& model = tiny_model();
  const workers::ModelState tuned = random_state(model, 5);
  workers::Evaluator evaluator(model, byte_tokenizer(), &tuned);
  // Besides real prompts: a choice whose whole sequence is a prefix of another's, and two
  // identical choices (the shared prefix must stop one token short of the shortest).
  std::vector<std::vector<workers::ChoiceTokens>> cases{evaluator.tokenize(arc_like()),
                                                        evaluator.tokenize(winogrande_like())};
  cases.push_back({{{0, 5, 6, 7}, 2}, {{0, 5, 6, 7, 8, 9}, 3}, {{0, 5, 6, 7}, 2}});
  cases.push_back({{{0, 9}, 1}, {{0, 9}, 1}});
  for (const auto& choices : cases) {
    const auto shared = workers::choice_logliks(model, choices, &tuned, ContextSharing::shared);
    const auto unshared = workers::choice_logliks(model, choices, &tuned, ContextSharing::unshared);
    ASSERT_EQ(shared.size(), unshared.size());
    for (size_t i = 0; i < shared.size(); ++i) EXPECT_NEAR(shared[i], unshared[i], 1e-4) << "choice " << i;
  }
}

TEST(Evaluator, AccAndAccNormDifferWhereContinuationLengthsDiffer) {
  // One-character choices against a long one: per-token log-probs of a random model are
  // about -log(V), so the long choice loses on the sum and wins per character.
  data::ArcItem item;
  item.id = "len";
  item.stem = "Pick";
  item.choices = {"a", "b", "qwertyuiopasdfghjklzxcvbnm"};
  item.gold = 2;
  workers::Evaluator evaluator(tiny_model(), byte_tokenizer());
  const data::McRecord r = evaluator.score(data::render_arc(item));
  ASSERT_EQ(r.loglik.size(), 3u);
  EXPECT_NE(r.pred, r.pred_norm);
  EXPECT_NE(r.pred, 2);
  EXPECT_EQ(r.pred_norm, 2);
  EXPECT_TRUE(r.correct_norm);
  EXPECT_FALSE(r.correct);
  // acc_norm divides by len(choice) without the leading space: 1, 1, 26 characters.
  EXPECT_EQ(r.norm_lengths, (std::vector<double>{1, 1, 26}));
  // Determinism: the same request scores bit-identically again.
  EXPECT_EQ(evaluator.score(data::render_arc(item)).loglik, r.loglik);
}

TEST(Evaluator, GreedyGenerationMatchesGenerateAndStopsAtAStopSequence) {
  const auto& model = tiny_model();
  const auto& tokenizer = byte_tokenizer();
  data::GenRequest request;
  request.id = "g";
  request.prompt = "Question: 2+2?\nAnswer:";
  request.gold = "4";
  workers::EvaluatorOptions options;
  options.max_gen_tokens = 24;
  const data::GenRecord free_run = workers::Evaluator(model, tokenizer, nullptr, options).generate(request);

  std::vector<int64_t> prompt{0};
  for (int32_t id : tokenizer.encode(request.prompt)) prompt.push_back(id);
  workers::GenerationOptions greedy;
  greedy.temperature = 0;
  greedy.max_tokens = 24;
  std::string expected;
  int64_t count = 0;
  workers::generate(model, prompt, {}, greedy, [&](int64_t id) {
    ++count;
    if (id < tokenizer.vocab_size()) expected += tokenizer.token_bytes(static_cast<int32_t>(id));
  });
  EXPECT_EQ(free_run.completion, expected);
  EXPECT_EQ(free_run.generated_tokens, count);
  ASSERT_GE(expected.size(), 6u) << "the tiny model should not emit token 0 this early";

  // A stop sequence taken from the middle of that output: generation ends there and the text
  // is cut before it.
  request.stop = {expected.substr(3, 2)};
  const data::GenRecord stopped = workers::Evaluator(model, tokenizer, nullptr, options).generate(request);
  const size_t at = expected.find(request.stop[0]);
  EXPECT_EQ(stopped.completion, expected.substr(0, at));
  EXPECT_EQ(stopped.generated_tokens, static_cast<int64_t>(at + 2));
}

}  // namespace
