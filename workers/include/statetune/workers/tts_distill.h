#pragma once
// The `distill` loss of test-time scaling (METHOD.md §4): how far the student, reading a
// question from a candidate state, is from the guide's chain of thought for that question.
//
// The student reads `question ++ thought[:-1]`; its next-token distributions at the T
// positions that predict the thought's T tokens are compared with the guide's, mean over the
// T positions. Three kinds of guide information, one loss each:
//   full  the guide's log-probs [T, V] (an RWKV guide with the same tokenizer):
//           KL(p_guide ‖ p_student) = Σ_v p_g(v) (log p_g(v) − log p_s(v));
//   top-k per position a list of (token id, log-prob) (a guide-trace file from any model):
//           the mass the list leaves out, rest = 1 − Σ p_g(listed), is one "rest" bucket on
//           both sides, and the loss is the exact KL between the two distributions coarsened
//           to {listed tokens} ∪ {rest}:
//             Σ_listed p_g (log p_g − log p_s) + rest_g (log rest_g − log rest_s),
//           rest_s = Σ_{v not listed} p_s(v). It equals the full KL when the list covers the
//           vocabulary and is never larger otherwise (coarsening only loses information);
//           unlike renormalising over the list it keeps the guide's stated probabilities and
//           does not push the student's whole mass onto k tokens;
//   none  cross-entropy on the thought's tokens, −log p_s(thought[t]).
#include <cstdint>
#include <utility>
#include <vector>

#include "statetune/workers/rwkv7_model.h"

namespace statetune::workers {

// The guide's chain of thought for one question: its T tokens (what it wrote after the
// question), and at most one of
//   logprobs  [T, V] float: row t = the guide's next-token log-probs for tokens[t] given
//             the question and tokens[<t] (rows are normalised with log_softmax, so logits
//             work too; −inf entries are allowed);
//   top_k     T lists of (token id, log-prob): the guide's most likely tokens at position t;
//             ids distinct and in the vocabulary, log-probs ≤ 0 (−inf allowed), Σ exp ≤ 1.
// With neither, the distill loss is the cross-entropy on the tokens.
struct GuideThought {
  std::vector<int64_t> tokens;
  at::Tensor logprobs;
  std::vector<std::vector<std::pair<int64_t, double>>> top_k;
};

// A checked thought, with its guide distributions as tensors (built once per question, used
// at every step). Throws statetune::Error on: no tokens, more than max_tokens tokens, ids
// outside [0, vocab_size), both logprobs and top_k, logprobs not [T, vocab_size] or with
// NaN, top_k not T lists, an empty list, a repeated id, a positive or NaN log-prob, or a
// list whose probabilities sum past 1.
class ThoughtTarget {
 public:
  enum class Kind { kTokens, kFull, kTopK };
  // Checked and prepared on the host, then kept on `device` (the student's).
  ThoughtTarget(const GuideThought& thought, int64_t vocab_size, int64_t max_tokens, at::Device device = at::kCPU);

  Kind kind() const { return kind_; }
  const std::vector<int64_t>& tokens() const { return tokens_; }
  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  // The mean loss over the thought's positions; logits [T, V] are the student's at the
  // positions that predict tokens()[0..T-1]. Differentiable in the logits.
  at::Tensor loss(const at::Tensor& logits) const;

 private:
  void build(const GuideThought& thought, int64_t vocab_size, int64_t max_tokens);

  Kind kind_ = Kind::kTokens;
  std::vector<int64_t> tokens_;
  at::Tensor token_ids_;  // [T, 1] int64: tokens_ on the device
  at::Tensor full_;       // kFull: [T, V] float64 log-probs
  at::Tensor ids_;        // kTopK: [T, K] int64 (padded with id 0)
  at::Tensor probs_;      // kTopK: [T, K] float64 guide probabilities (padding: 0)
  at::Tensor listed_;     // kTopK: [T, V] bool, the listed ids of rows that have a rest bucket
  at::Tensor rest_;       // kTopK: [T] float64 guide rest mass (0 where no bucket)
  at::Tensor has_rest_;   // kTopK: [T] bool
};

// The distill loss of the student read from `state` (unbatched or [1, ...] tensors; empty =
// zeros) on question ++ thought: differentiable w.r.t. the state's tensors. question: token
// ids, at least one.
at::Tensor distill_loss(const Rwkv7Model& student, const ModelState& state, const std::vector<int64_t>& question,
                        const ThoughtTarget& target);

// An RWKV guide's thought with its full distributions: the guide reads question ++ tokens
// from guide_state (empty = zeros; e.g. the state after a prefix) and its log-probs at the
// positions predicting `tokens` become `logprobs` ([T, V] float64). No gradient.
GuideThought score_guide_thought(const Rwkv7Model& guide, const ModelState& guide_state,
                                 const std::vector<int64_t>& question, std::vector<int64_t> tokens);

}  // namespace statetune::workers
