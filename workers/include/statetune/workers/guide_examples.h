#pragma once
// Observer tuning over the guide's own text (`target: guide` with `guide_generate_tokens`,
// METHOD.md §4): for every training question the RWKV guide, read from its state (e.g. after
// guide_prefix), writes a greedy continuation, and the training example becomes the question
// followed by that text, the loss (KL to the guide) on the text's tokens only. No gold answer
// enters: the guide reads the question alone.
#include <cstdint>
#include <vector>

#include "statetune/workers/communicator.h"
#include "statetune/workers/rwkv7_model.h"
#include "statetune/workers/tuning_loss.h"

namespace statetune::workers {

// The guide's text for each question (token ids starting with 0): greedy generation
// (generation.h generate(), temperature 0) from guide_state (empty = zeros) of at most
// `tokens` tokens, ending early at end-of-text as generation does. A guide whose first choice
// is end-of-text has written that token: it becomes the example's one target (as method tts
// does with such a thought). Each example is target_example(question, text, max_tokens).
//
// Data parallel: rank r of `comm` writes questions r, r+P, ... and the texts are all-gathered,
// so every rank returns the same examples in question order, and a text depends only on its
// question, whatever the number of ranks (greedy: no random draws). Collective.
std::vector<TuneExample> guide_written_examples(const Rwkv7Model& guide, const ModelState& guide_state,
                                                const std::vector<std::vector<int64_t>>& questions, int64_t tokens,
                                                int64_t max_tokens, Communicator& comm);

}  // namespace statetune::workers
