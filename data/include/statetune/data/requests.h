#pragma once
// What a benchmark item becomes once its prompt is rendered: the exact strings the model is
// scored on, independent of the benchmark. The evaluator (workers/) tokenizes them as
// lm-eval does: token 0, then the context's tokens, then the continuation's tokens, context
// and continuation encoded separately.
#include <string>
#include <vector>

namespace statetune::data {

// A multiple-choice item scored by log-likelihood (lm-eval output_type: multiple_choice).
// Either one context shared by every choice with one continuation per choice (ARC, MMLU), or
// one context per choice with one shared continuation (WinoGrande's partial scoring).
struct McRequest {
  std::string id;
  std::string subject;  // MMLU subject (underscored file prefix); empty for the others
  std::vector<std::string> contexts;       // size 1 (shared) or one per choice
  std::vector<std::string> continuations;  // one per choice, or size 1 (shared)
  // acc_norm divides choice i's log-likelihood by norm_lengths[i]: the length in characters
  // (Unicode code points, Python's len) of lm-eval's doc_to_choice string, which is the choice
  // text without the leading " " delimiter (for WinoGrande, the choice's context).
  std::vector<double> norm_lengths;
  int gold = 0;
  std::string source;  // "<file>:<line>" of the item

  size_t num_choices() const { return norm_lengths.size(); }
  const std::string& context(size_t choice) const { return contexts.size() == 1 ? contexts[0] : contexts[choice]; }
  const std::string& continuation(size_t choice) const {
    return continuations.size() == 1 ? continuations[0] : continuations[choice];
  }
};

// A generation item (lm-eval output_type: generate_until): greedy decoding of `prompt` until
// one of `stop` appears (the text is cut before it) or the token limit.
struct GenRequest {
  std::string id;
  std::string prompt;
  std::string gold;    // what the extracted answer is compared with (GSM8K: the text after "#### ")
  std::string target;  // the gold continuation for training (GSM8K: " " + the full solution)
  std::vector<std::string> stop;
  std::string source;
};

// One training example rendered exactly like an evaluation prompt: the tuning code encodes
// token 0, then `context`, then `target`, and puts the loss on the target tokens only.
struct TrainingExample {
  std::string id;
  std::string context;
  std::string target;
};

// The gold choice's context and continuation.
TrainingExample training_example(const McRequest& request);
// The prompt and " " + the full upstream solution.
TrainingExample training_example(const GenRequest& request);

// Number of Unicode code points in UTF-8 text (Python's len of the decoded string). Bytes
// that are not valid UTF-8 count one each.
size_t utf8_length(const std::string& text);

}  // namespace statetune::data
