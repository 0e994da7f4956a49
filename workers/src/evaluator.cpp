#include "statetune/workers/evaluator.h"

#include <algorithm>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "statetune/common/error.h"
#include "statetune/data/gsm8k_extract.h"
#include "statetune/workers/host_device.h"

namespace statetune::workers {

namespace {

// Where the logits that score token j of choice i live: row `row` of batch entry `entry` in
// one of the forward passes (the prefix pass or the batch of remainders / full sequences).
struct LogitRef {
  int64_t entry;
  int64_t row;
  int64_t token;
  size_t choice;
};

// Right-padded [B, T] batch of token runs, with their lengths.
std::pair<at::Tensor, at::Tensor> padded_batch(const std::vector<std::vector<int64_t>>& runs) {
  size_t longest = 0;
  for (const auto& run : runs) longest = std::max(longest, run.size());
  at::Tensor tokens = at::zeros({static_cast<int64_t>(runs.size()), static_cast<int64_t>(longest)}, at::kLong);
  at::Tensor lengths = at::empty({static_cast<int64_t>(runs.size())}, at::kLong);
  auto t = tokens.accessor<int64_t, 2>();
  auto l = lengths.accessor<int64_t, 1>();
  for (size_t b = 0; b < runs.size(); ++b) {
    for (size_t j = 0; j < runs[b].size(); ++j) t[static_cast<int64_t>(b)][static_cast<int64_t>(j)] = runs[b][j];
    l[static_cast<int64_t>(b)] = static_cast<int64_t>(runs[b].size());
  }
  return {tokens, lengths};
}

// The scored tokens' log-probabilities of an item, gathered on the device pass by pass and
// read by the host once, when every pass has run.
struct ScoredTokens {
  std::vector<LogitRef> refs;
  std::vector<at::Tensor> logprobs;  // per pass, [K] float64 on the device
};

// Picks log_softmax(logits[entry, row])[token] of every ref. Only the referenced rows are
// normalised: a full [B, T, V] log_softmax would cost more than needed.
void pick_logprobs(const at::Tensor& logits, const std::vector<LogitRef>& refs, ScoredTokens& out) {
  if (refs.empty()) return;
  std::vector<int64_t> entries, rows, tokens;
  for (const LogitRef& r : refs) {
    entries.push_back(r.entry);
    rows.push_back(r.row);
    tokens.push_back(r.token);
  }
  const at::Device device = logits.device();
  auto ids = [&](const std::vector<int64_t>& v) { return to_device(at::tensor(v, at::kLong), device); };
  const at::Tensor picked = logits.index({ids(entries), ids(rows)});  // [K, V]
  const at::Tensor logp = at::log_softmax(picked.to(at::kDouble), -1);
  out.logprobs.push_back(logp.gather(1, ids(tokens).unsqueeze(1)).squeeze(1));
  out.refs.insert(out.refs.end(), refs.begin(), refs.end());
}

// Per choice, the sum of its scored tokens' log-probabilities (in the refs' order).
std::vector<double> choice_sums(const ScoredTokens& scored, size_t choices) {
  std::vector<double> sums(choices, 0.0);
  if (scored.refs.empty()) return sums;
  const at::Tensor values = to_host(at::cat(scored.logprobs)).contiguous();
  const double* lp = values.data_ptr<double>();
  for (size_t k = 0; k < scored.refs.size(); ++k) sums[scored.refs[k].choice] += lp[k];
  return sums;
}

// A final state of batch 1 ([1, ...] tensors) -> the shared form ([...]) that forward()
// broadcasts over a batch. Whatever else a layer carries (a kernel read-out) is kept as is.
ModelState as_shared(const ModelState& state) {
  auto squeezed = [](const at::Tensor& t) { return t.defined() ? t.squeeze(0) : t; };
  ModelState out = state;
  for (LayerState& layer : out) {
    layer.att_shift = squeezed(layer.att_shift);
    layer.wkv = squeezed(layer.wkv);
    layer.ffn_shift = squeezed(layer.ffn_shift);
    layer.transport = squeezed(layer.transport);
  }
  return out;
}

const ModelState* non_empty(const ModelState* state) { return state != nullptr && !state->empty() ? state : nullptr; }

std::vector<double> logliks_unshared(const Rwkv7Model& model, const std::vector<ChoiceTokens>& choices,
                                     const ModelState* initial) {
  std::vector<std::vector<int64_t>> runs;
  std::vector<LogitRef> refs;
  for (size_t i = 0; i < choices.size(); ++i) {
    runs.push_back(choices[i].tokens);
    for (size_t j = choices[i].target_begin; j < choices[i].tokens.size(); ++j)
      refs.push_back({static_cast<int64_t>(i), static_cast<int64_t>(j) - 1, choices[i].tokens[j], i});
  }
  auto [tokens, lengths] = padded_batch(runs);
  ScoredTokens scored;
  pick_logprobs(model.forward(tokens, lengths, initial), refs, scored);
  return choice_sums(scored, choices.size());
}

std::vector<double> logliks_shared(const Rwkv7Model& model, const std::vector<ChoiceTokens>& choices,
                                   const ModelState* initial) {
  // The common prefix, kept one token short of the shortest choice so every choice has a
  // remainder to run (identical choices would otherwise have none).
  size_t prefix = choices[0].tokens.size() - 1;
  for (const ChoiceTokens& c : choices) {
    prefix = std::min(prefix, c.tokens.size() - 1);
    size_t same = 0;
    while (same < prefix && c.tokens[same] == choices[0].tokens[same]) ++same;
    prefix = same;
  }
  ST_CHECK(prefix >= 1, "choices must all start with the same token (token 0)");
  const std::vector<int64_t> head(choices[0].tokens.begin(), choices[0].tokens.begin() + static_cast<long>(prefix));
  ModelState prefix_state;
  const at::Tensor prefix_logits =
      model.forward(at::tensor(head, at::kLong).unsqueeze(0), at::Tensor(), initial, &prefix_state);

  // Token j is scored by the logits after token j-1: the prefix pass's row j-1 while j-1 is in
  // the prefix (so the first continuation token of ARC/MMLU reads the last context row), the
  // remainder pass's row j-1-prefix after that.
  std::vector<std::vector<int64_t>> runs;
  std::vector<LogitRef> from_prefix, from_rest;
  for (size_t i = 0; i < choices.size(); ++i) {
    const ChoiceTokens& c = choices[i];
    runs.emplace_back(c.tokens.begin() + static_cast<long>(prefix), c.tokens.end());
    for (size_t j = c.target_begin; j < c.tokens.size(); ++j) {
      if (j - 1 < prefix)
        from_prefix.push_back({0, static_cast<int64_t>(j) - 1, c.tokens[j], i});
      else
        from_rest.push_back({static_cast<int64_t>(i), static_cast<int64_t>(j - 1 - prefix), c.tokens[j], i});
    }
  }
  ScoredTokens scored;
  pick_logprobs(prefix_logits, from_prefix, scored);
  if (!from_rest.empty()) {
    auto [tokens, lengths] = padded_batch(runs);
    const ModelState shared = as_shared(prefix_state);
    pick_logprobs(model.forward(tokens, lengths, &shared), from_rest, scored);
  }
  return choice_sums(scored, choices.size());
}

}  // namespace

std::vector<double> choice_logliks(const Rwkv7Model& model, const std::vector<ChoiceTokens>& choices,
                                   const ModelState* initial, ContextSharing sharing) {
  ST_CHECK(!choices.empty(), "choice_logliks: no choices");
  for (const ChoiceTokens& c : choices)
    ST_CHECK(c.target_begin >= 1 && c.target_begin < c.tokens.size(),
             "choice_logliks: a choice needs a first token and at least one continuation token "
             "(target_begin {}, {} tokens)",
             c.target_begin, c.tokens.size());
  at::NoGradGuard no_grad;
  initial = non_empty(initial);
  return sharing == ContextSharing::shared ? logliks_shared(model, choices, initial)
                                           : logliks_unshared(model, choices, initial);
}

Evaluator::Evaluator(const Rwkv7Model& model, const data::Tokenizer& tokenizer, const ModelState* initial,
                     EvaluatorOptions options)
    : model_(model), tokenizer_(tokenizer), initial_(non_empty(initial)), options_(options) {}

std::vector<ChoiceTokens> Evaluator::tokenize(const data::McRequest& request) const {
  std::vector<ChoiceTokens> out;
  for (size_t i = 0; i < request.num_choices(); ++i) {
    // lm-eval's _encode_pair: whitespace ending the context moves to the continuation's front.
    std::string context = request.context(i), continuation = request.continuation(i);
    const size_t kept = context.find_last_not_of(" \t\n\r\v\f") + 1;  // 0 when all whitespace
    continuation = context.substr(kept) + continuation;
    context.resize(kept);
    ChoiceTokens c;
    c.tokens.push_back(data::Tokenizer::kEndOfText);
    for (int32_t id : tokenizer_.encode(context)) c.tokens.push_back(id);
    c.target_begin = c.tokens.size();
    for (int32_t id : tokenizer_.encode(continuation)) c.tokens.push_back(id);
    ST_CHECK(c.tokens.size() > c.target_begin, "{}: choice {} has an empty continuation", request.id, i);
    out.push_back(std::move(c));
  }
  return out;
}

data::McRecord Evaluator::score(const data::McRequest& request) const {
  return data::decide_mc(request, choice_logliks(model_, tokenize(request), initial_, options_.sharing));
}

data::GenRecord Evaluator::generate(const data::GenRequest& request) const {
  at::NoGradGuard no_grad;
  std::vector<int64_t> prompt{data::Tokenizer::kEndOfText};
  for (int32_t id : tokenizer_.encode(request.prompt)) prompt.push_back(id);
  ModelState state;
  at::Tensor logits = model_.forward(at::tensor(prompt, at::kLong).unsqueeze(0), at::Tensor(), initial_, &state)
                          .select(1, static_cast<int64_t>(prompt.size()) - 1)
                          .squeeze(0);
  size_t longest_stop = 0;
  for (const std::string& s : request.stop) longest_stop = std::max(longest_stop, s.size());
  std::string text;
  int64_t generated = 0;
  for (int i = 0; i < options_.max_gen_tokens; ++i) {
    const int64_t next = to_host(logits.argmax()).item<int64_t>();  // greedy (lm-eval: do_sample false)
    if (next == data::Tokenizer::kEndOfText) break;
    ++generated;
    const size_t before = text.size();
    if (next < tokenizer_.vocab_size()) text += tokenizer_.token_bytes(static_cast<int32_t>(next));
    // Only the new bytes (and a stop sequence's length before them) can complete a stop.
    const size_t from = before > longest_stop ? before - longest_stop : 0;
    bool stopped = false;
    for (const std::string& s : request.stop) stopped = stopped || (!s.empty() && text.find(s, from) != std::string::npos);
    if (stopped) break;
    logits = model_.step(at::tensor({next}, at::kLong), state).squeeze(0);
  }
  return data::decide_gen(request, data::cut_at_stop(text, request.stop), generated);
}

}  // namespace statetune::workers
