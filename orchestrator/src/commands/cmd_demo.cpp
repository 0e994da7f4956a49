// statetune demo: the built-in demo the README's first command runs. Needs no download.
// Prompt -> state distillation, a tuning problem whose optimum is known: the teacher is a
// seeded random model reading a few-shot prefix; the student is the same frozen model without
// it, and only its initial state is tuned to match the teacher on questions it never saw.
// The state after the prefix solves it exactly, so every method must approach it.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <map>
#include <unistd.h>

#include "statetune/common/error.h"
#include "statetune/common/output_path.h"
#include "statetune/common/timer.h"
#include "statetune/data/tokenizer.h"
#include "statetune/orchestrator/commands.h"
#include "statetune/orchestrator/model_inputs.h"
#include "statetune/orchestrator/placement.h"
#include "statetune/orchestrator/text_input.h"
#include "statetune/workers/checkpoint.h"
#include "statetune/workers/generation.h"
#include "statetune/workers/init_model.h"
#include "statetune/workers/guide_agreement.h"
#include "statetune/workers/state_file.h"
#include "statetune/workers/state_tuner.h"

namespace statetune::orchestrator {
namespace {

// Without a vocab file the demo uses the World vocabulary's single-byte tokens (id = byte + 1),
// which need no file: the same ids the real tokenizer gives for those bytes.
struct DemoTokenizer {
  std::unique_ptr<data::Tokenizer> real;
  std::vector<int64_t> encode(const std::string& text) const {
    std::vector<int64_t> ids;
    if (real) {
      for (int32_t id : real->encode(text)) ids.push_back(id);
    } else {
      for (unsigned char c : text) ids.push_back(static_cast<int64_t>(c) + 1);
    }
    return ids;
  }
  std::string bytes(int64_t id) const {
    if (real) return id > 0 && id < real->vocab_size() ? real->token_bytes(static_cast<int32_t>(id)) : "";
    return id >= 1 && id <= 256 ? std::string(1, static_cast<char>(id - 1)) : "";
  }
};


// ARC-style few-shot examples (written for the demo, not taken from the benchmark).
const char* kPrefix =
    "Question: Which gas do green plants take in from the air to make food?\nAnswer: carbon dioxide\n\n"
    "Question: What force pulls objects toward the center of the Earth?\nAnswer: gravity\n\n"
    "Question: Which part of the cell holds its genetic material?\nAnswer: the nucleus\n\n";

const char* kTrainQuestions[] = {
    "Question: What is the boiling point of water at sea level?\nAnswer: 100 degrees Celsius",
    "Question: Which planet is closest to the Sun?\nAnswer: Mercury",
    "Question: What do bees collect from flowers?\nAnswer: nectar",
    "Question: Which organ pumps blood through the body?\nAnswer: the heart",
    "Question: What state of matter has a fixed shape?\nAnswer: solid",
    "Question: Which energy source comes from moving air?\nAnswer: wind",
    "Question: What do we call animals that eat only plants?\nAnswer: herbivores",
    "Question: Which instrument measures temperature?\nAnswer: a thermometer",
    "Question: What causes the seasons on Earth?\nAnswer: the tilt of its axis",
    "Question: Which metal is attracted to a magnet?\nAnswer: iron",
    "Question: What is the main source of light for Earth?\nAnswer: the Sun",
    "Question: Which process turns liquid water into vapor?\nAnswer: evaporation",
    "Question: What do roots take up from the soil?\nAnswer: water and minerals",
    "Question: Which body system fights infections?\nAnswer: the immune system",
    "Question: What kind of rock forms from cooled lava?\nAnswer: igneous rock",
    "Question: Which tool is used to look at very small organisms?\nAnswer: a microscope",
    "Question: What is the closest star to Earth?\nAnswer: the Sun",
    "Question: Which animals lay eggs and have feathers?\nAnswer: birds",
    "Question: What happens to metal when it is heated?\nAnswer: it expands",
    "Question: Which natural satellite orbits the Earth?\nAnswer: the Moon",
    "Question: What carries electricity in a circuit?\nAnswer: a wire",
    "Question: Which sense organ detects sound?\nAnswer: the ear",
    "Question: What is the hardest natural mineral?\nAnswer: diamond",
    "Question: Which season follows winter?\nAnswer: spring",
};
const char* kEvalQuestions[] = {
    "Question: Which layer of the Earth lies at its center?\nAnswer: the core",
    "Question: What do plants release during photosynthesis?\nAnswer: oxygen",
    "Question: Which simple machine is a ramp?\nAnswer: an inclined plane",
    "Question: What is frozen water called?\nAnswer: ice",
    "Question: Which organ do fish use to breathe?\nAnswer: gills",
    "Question: What pulls the tides of the ocean?\nAnswer: the Moon",
    "Question: Which material conducts heat best?\nAnswer: copper",
    "Question: What do caterpillars turn into?\nAnswer: butterflies",
    "Question: Which gas makes up most of the air?\nAnswer: nitrogen",
    "Question: What is the young of a frog called?\nAnswer: a tadpole",
    "Question: Which force slows a rolling ball?\nAnswer: friction",
    "Question: What forms when water vapor cools in the sky?\nAnswer: clouds",
};

struct MethodRun {
  std::string label;
  workers::TuneOptions options;
};

struct MethodResult {
  std::string label;
  int64_t M = 0;
  double lambda = -1;
  workers::GuideAgreement final;
  // The first evaluated step with agreement >= 0.9 (-1: not reached in the budget).
  int64_t steps_to_90 = -1;
  int64_t state_floats = 0;
  double seconds = 0;
  std::string status;
};

std::string fmt_steps(int64_t steps, int64_t budget) {
  return steps < 0 ? fmt::format("> {}", budget) : std::to_string(steps);
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto* sub = app.add_subcommand("demo",
                                 "The built-in demo: prompt -> state distillation with the standard, kernel and dbp "
                                 "methods on a seeded model (no download)");
  struct Options {
    std::string vocab, out = "statetune-demo";
    int threads = 1;
    int64_t steps = 100;
    PlacementOptions placement;
  };
  auto o = std::make_shared<Options>();
  sub->add_option("--vocab", o->vocab,
                  "rwkv_vocab_v20230424.txt (optional; without it the demo uses the byte tokens 1..256)");
  sub->add_option("--out", o->out, "Folder for the demo's files (model, tuned states)")->capture_default_str();
  sub->add_option("--steps", o->steps, "Optimiser steps per method")->check(positive_count())->capture_default_str();
  add_placement_options(*sub, o->placement);
  add_threads_option(*sub, &o->threads);
  set_command_body(*sub, [o] {
    apply_threads(o->threads);
    Timer total;
    prepare_output_folder(o->out, "--out");
    DemoTokenizer tok;
    if (!o->vocab.empty()) tok.real = std::make_unique<data::Tokenizer>(data::Tokenizer::load(o->vocab));
    std::printf("statetune demo: prompt -> state distillation (%s tokenizer, %d threads)\n\n",
                tok.real ? "RWKV World" : "byte-level", o->threads);

    // Tokenize every text, then give the model a compact vocabulary: the tokens the demo's
    // texts use, renumbered 1..K (0 stays end-of-text). A 65536-row head would spend most of
    // each step on rows no text of the demo ever reaches.
    std::vector<std::vector<int64_t>> texts;
    texts.push_back(tok.encode(kPrefix));
    for (const char* q : kTrainQuestions) texts.push_back(tok.encode(q));
    for (const char* q : kEvalQuestions) texts.push_back(tok.encode(q));
    std::map<int64_t, int64_t> compact;
    for (const auto& t : texts)
      for (int64_t id : t) compact.emplace(id, 0);
    int64_t next_id = 1;
    for (auto& [id, small] : compact) small = next_id++;
    auto renumbered = [&](const std::vector<int64_t>& ids) {
      std::vector<int64_t> out{0};
      for (int64_t id : ids) out.push_back(compact.at(id));
      return out;
    };

    // The METHOD.md prototype's shape: L=2, C=128, N=64.
    workers::ModelConfig c;
    c.n_layer = 2;
    c.n_embd = 128;
    c.head_size = 64;
    c.n_head = 2;
    c.vocab_size = (next_id + 63) / 64 * 64;
    c.rank_w = c.rank_a = c.rank_v = 32;
    c.rank_g = 64;
    const std::string model_path = o->out + "/demo-model.pth";
    std::printf("1. init-model: L=%lld C=%lld H=%lld N=%lld, seed 42 -> %s\n   vocabulary: the %lld %s tokens the "
                "demo's texts use, renumbered (V=%lld)\n",
                static_cast<long long>(c.n_layer), static_cast<long long>(c.n_embd), static_cast<long long>(c.n_head),
                static_cast<long long>(c.head_size), model_path.c_str(), static_cast<long long>(next_id - 1),
                tok.real ? "World" : "byte", static_cast<long long>(c.vocab_size));
    workers::save_checkpoint(model_path, workers::init_random_model(c, 42));
    const Placement where = o->placement.resolve();
    const workers::Rwkv7Model model = where.load_model(model_path);
    where.announce();

    auto example = [&](const std::vector<int64_t>& ids) {
      workers::TuneExample e{renumbered(ids), {}};
      e.is_target.assign(e.tokens.size(), 1);
      e.is_target[0] = 0;
      return e;
    };
    std::vector<workers::TuneExample> train, eval;
    const size_t n_train = std::size(kTrainQuestions);
    for (size_t i = 1; i < texts.size(); ++i) (i <= n_train ? train : eval).push_back(example(texts[i]));
    const std::vector<int64_t> prefix = renumbered(texts[0]);

    // The teacher: the same frozen model after reading the prefix (its full state).
    workers::GuideTarget teacher;
    teacher.model = &model;
    teacher.state = model.prompt_state(prefix);
    workers::ModelState wkv_only(teacher.state.size());
    for (size_t l = 0; l < wkv_only.size(); ++l) wkv_only[l].wkv = teacher.state[l].wkv;
    const workers::GuideAgreement zero = workers::guide_agreement(model, {}, teacher, eval);
    const workers::GuideAgreement near = workers::guide_agreement(model, wkv_only, teacher, eval);
    const workers::GuideAgreement exact = workers::guide_agreement(model, teacher.state, teacher, eval);
    std::printf("2. teacher: the model after a %zu-token few-shot prefix; student: no prefix, state tuned.\n"
                "   %zu training questions, %zu held-out questions (%lld target tokens), loss KL(teacher || student).\n"
                "   zero state: agreement %.3f, KL %.4f | prefix WKV state only: %.3f, KL %.4f | full prefix "
                "state (exact): %.3f, KL %.1e\n\n",
                prefix.size(), train.size(), eval.size(), static_cast<long long>(zero.positions), zero.agreement,
                zero.kl, near.agreement, near.kl, exact.agreement, exact.kl);

    workers::TuneOptions base;
    base.lr = 0.3;
    base.lr_kernel = 0.003;
    base.trainer.steps = o->steps;
    base.batch = static_cast<int64_t>(train.size());
    base.seed = 1;
    std::vector<MethodRun> runs;
    runs.push_back({"standard", base});
    {
      MethodRun r{"standard+shift", base};  // the WKV and token-shift states: the exact solution's form
      r.options.tune_shift = true;
      runs.push_back(r);
    }
    for (int64_t M : {32, 64}) {
      MethodRun r{"kernel", base};
      r.options.method = workers::TuneMethod::kKernel;
      r.options.kernel.M = M;
      runs.push_back(r);
    }
    for (double lambda : {1.0, 10.0}) {
      MethodRun r{"dbp", base};
      r.options.method = workers::TuneMethod::kDbp;
      r.options.kernel.M = 64;
      r.options.dbp.lambda = lambda;
      runs.push_back(r);
    }
    std::vector<std::vector<int64_t>> calibration;
    for (const auto& e : train) calibration.push_back(e.tokens);

    std::printf("3. tuning %zu runs x %lld steps (lr 0.3 on S0, lr_kernel 0.003 on the kernel state, cosine)\n",
                runs.size(), static_cast<long long>(o->steps));
    std::vector<MethodResult> results;
    workers::LocalCommunicator comm;
    const int64_t eval_every = 5;
    const bool tty = isatty(fileno(stdout)) != 0;
    double done_steps = 0, step_seconds = 0;
    const double all_steps = static_cast<double>(runs.size() * o->steps);
    for (size_t i = 0; i < runs.size(); ++i) {
      const MethodRun& run = runs[i];
      Timer timer;
      workers::StateTuner tuner(model, run.options, {train, calibration}, comm, &teacher);
      MethodResult res;
      res.label = run.label;
      if (run.options.method != workers::TuneMethod::kStandard) res.M = run.options.kernel.M;
      if (run.options.method == workers::TuneMethod::kDbp) res.lambda = run.options.dbp.lambda;
      const workers::TrainResult tr = tuner.run(false, [&](const workers::StepMetrics& m) {
        done_steps += 1;
        step_seconds = total.seconds();
        if ((m.step + 1) % eval_every == 0 || m.step + 1 == o->steps) {
          const workers::GuideAgreement a = workers::guide_agreement(model, tuner.state().initial_state(), teacher, eval);
          if (res.steps_to_90 < 0 && a.agreement >= 0.9) res.steps_to_90 = m.step + 1;
          const double eta = step_seconds / done_steps * (all_steps - done_steps);
          // In place on a terminal; plain lines (fewer of them) in a log.
          if (tty || (m.step + 1) % (4 * eval_every) == 0 || m.step + 1 == o->steps) {
            std::printf("%s   [%zu/%zu] %-14s step %3lld/%lld  loss %.4f  eval agreement %.3f  ETA %3.0f s%s",
                        tty ? "\r" : "", i + 1, runs.size(), run.label.c_str(), static_cast<long long>(m.step + 1),
                        static_cast<long long>(o->steps), m.loss, a.agreement, eta, tty ? "   " : "\n");
            std::fflush(stdout);
          }
        }
      });
      res.status = tr.status == workers::TrainStatus::kDone ? "ok" : tr.message;
      res.final = workers::guide_agreement(model, tuner.state().initial_state(), teacher, eval);
      for (const auto& p : tuner.state().parameters()) res.state_floats += p.numel();
      res.seconds = timer.seconds();
      const std::string path = fmt::format("{}/demo-state-{}{}.pth", o->out, run.label,
                                           res.M ? fmt::format("-M{}", res.M) : "") ;
      workers::save_state_file(res.lambda >= 0 ? fmt::format("{}/demo-state-dbp-lambda{}.pth", o->out, res.lambda) : path,
                               tuner.state().initial_state(), model.config());
      results.push_back(res);
    }
    if (tty) std::printf("\r%100s\r", "");

    std::printf("\n4. results on the %zu held-out questions (%lld target tokens; agreement = teacher and student pick "
                "the same next token)\n\n",
                eval.size(), static_cast<long long>(zero.positions));
    std::printf("   %-22s %9s %10s %14s %13s %9s\n", "method", "KL", "agreement", "steps to 0.9", "tuned floats",
                "time (s)");
    std::printf("   %-22s %9.4f %10.3f %14s %13s %9s\n", "zero state (before)", zero.kl, zero.agreement, "-", "-", "-");
    for (const auto& r : results) {
      std::string label = r.label;
      if (r.M) label += fmt::format(" M={}", r.M);
      if (r.lambda >= 0) label += fmt::format(" lambda={}", r.lambda);
      std::printf("   %-22s %9.4f %10.3f %14s %13lld %9.1f%s\n", label.c_str(), r.final.kl, r.final.agreement,
                  fmt_steps(r.steps_to_90, o->steps).c_str(), static_cast<long long>(r.state_floats), r.seconds,
                  r.status == "ok" ? "" : ("  " + r.status).c_str());
    }
    std::printf("   %-22s %9.4f %10.3f %14s %13s %9s\n", "prefix WKV state only", near.kl, near.agreement, "-", "-", "-");
    std::printf("   %-22s %9.1e %10.3f %14s %13s %9s\n", "full prefix state", exact.kl, exact.agreement, "-", "-", "-");
    std::printf("\n   Each tuned state saves reading the %zu-token prefix on every query. Tuned states: %s/demo-state-*.pth\n"
                "   (load them with `statetune score --state` or `generate --state`).\n",
                prefix.size(), o->out.c_str());
    std::printf("\nThe weights are random: this shows that the optimisation recovers a known state, not benchmark\n"
                "accuracy. Done in %.1f s.\n",
                total.seconds());
  });
}

}  // namespace statetune::orchestrator
