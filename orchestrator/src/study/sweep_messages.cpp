#include "study/sweep_messages.h"

#include <cmath>

#include "comm/mpi_check.h"

namespace statetune::orchestrator {
namespace {

std::size_t element_count(const std::vector<std::int64_t>& shape) {
  std::size_t n = 1;
  for (std::int64_t d : shape) n *= static_cast<std::size_t>(d);
  return n;
}

// JSON has no NaN: a missing value (kMissing) travels as null.
nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
double number(const nlohmann::json& j) { return j.is_null() ? results::kMissing : j.get<double>(); }

nlohmann::json times_json(const RunTimes& t) {
  return {{"load", t.load},         {"guide_text", t.guide_text}, {"calibration", t.calibration},
          {"eval_before", t.eval_before}, {"steps", t.steps},       {"save", t.save},
          {"eval_after", t.eval_after},   {"questions", t.questions}};
}

RunTimes times_from_json(const nlohmann::json& j) {
  RunTimes t;
  t.load = j.at("load").get<double>();
  t.guide_text = j.at("guide_text").get<double>();
  t.calibration = j.at("calibration").get<double>();
  t.eval_before = j.at("eval_before").get<double>();
  t.steps = j.at("steps").get<double>();
  t.save = j.at("save").get<double>();
  t.eval_after = j.at("eval_after").get<double>();
  t.questions = j.at("questions").get<double>();
  return t;
}

}  // namespace

void send_json(const nlohmann::json& message, int to, SweepTag tag) {
  const std::string text = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  MPI_CHECK(MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, to, tag, MPI_COMM_WORLD));
}

nlohmann::json receive_json(int from, SweepTag tag) {
  MPI_Status status;
  MPI_CHECK(MPI_Probe(from, tag, MPI_COMM_WORLD, &status));
  int count = 0;
  MPI_CHECK(MPI_Get_count(&status, MPI_CHAR, &count));
  std::string text(static_cast<size_t>(count), '\0');
  MPI_CHECK(MPI_Recv(text.data(), count, MPI_CHAR, status.MPI_SOURCE, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
  return text.empty() ? nlohmann::json::object() : nlohmann::json::parse(text);
}

bool probe_message(bool block, int* from, int* tag) {
  MPI_Status status;
  int flag = 1;
  if (block) {
    MPI_CHECK(MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &status));
  } else {
    MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status));
  }
  if (!flag) return false;
  *from = status.MPI_SOURCE;
  *tag = status.MPI_TAG;
  return true;
}

nlohmann::json to_json(const RunReport& r) {
  nlohmann::json j;
  j["status"] = std::string(results::to_string(r.status));
  j["message"] = r.message;
  j["state_path"] = r.state_path;
  j["resumed_from"] = r.resumed_from;
  j["baseline"] = r.baseline;
  j["baseline_reused"] = r.baseline_reused;
  j["seconds"] = r.seconds;
  j["times"] = times_json(r.times);
  j["steps"] = nlohmann::json::array();
  for (const auto& s : r.steps)
    j["steps"].push_back({s.step, number(s.loss), number(s.lr), number(s.grad_norm), number(s.l_decor),
                          number(s.tokens_per_s)});
  j["summary"] = nlohmann::json::array();
  for (const auto& m : r.summary) j["summary"].push_back({m.name, number(m.before), number(m.after)});
  j["state"] = nlohmann::json::array();
  for (const auto& t : r.state) j["state"].push_back({t.name, t.shape});
  j["items"] = nlohmann::json::array();
  for (const auto& it : r.items) {
    nlohmann::json ll = nlohmann::json::array();
    for (double v : it.choice_loglik) ll.push_back(number(v));
    j["items"].push_back({it.phase, it.id, it.prediction, it.gold, it.correct, ll});
  }
  return j;
}

RunReport report_from_json(const nlohmann::json& j) {
  RunReport r;
  r.status = results::parse_run_status(j.at("status").get<std::string>(), "a rank's run report");
  r.message = j.at("message").get<std::string>();
  r.state_path = j.at("state_path").get<std::string>();
  r.resumed_from = j.at("resumed_from").get<int64_t>();
  r.baseline = j.at("baseline").get<std::string>();
  r.baseline_reused = j.at("baseline_reused").get<bool>();
  r.seconds = j.at("seconds").get<double>();
  r.times = times_from_json(j.at("times"));
  for (const auto& s : j.at("steps")) {
    results::StepRecord rec;
    rec.step = s[0].get<int64_t>();
    rec.loss = number(s[1]);
    rec.lr = number(s[2]);
    rec.grad_norm = number(s[3]);
    rec.l_decor = number(s[4]);
    rec.tokens_per_s = number(s[5]);
    r.steps.push_back(rec);
  }
  for (const auto& m : j.at("summary")) r.summary.push_back({m[0].get<std::string>(), number(m[1]), number(m[2])});
  for (const auto& t : j.at("state")) {
    results::StateTensor st;
    st.name = t[0].get<std::string>();
    st.shape = t[1].get<std::vector<std::int64_t>>();
    r.state.push_back(std::move(st));
  }
  for (const auto& it : j.at("items")) {
    results::EvalItem item{it[0].get<std::string>(), it[1].get<std::string>(), it[2].get<std::string>(),
                           it[3].get<std::string>(), it[4].get<bool>(), {}};
    for (const auto& v : it[5]) item.choice_loglik.push_back(number(v));
    r.items.push_back(item);
  }
  return r;
}

void send_state(const RunReport& report, int to) {
  std::vector<float> values;
  for (const auto& t : report.state) values.insert(values.end(), t.values.begin(), t.values.end());
  ST_CHECK(values.size() <= INT32_MAX, "a tuned state of {} values is too large for one message", values.size());
  MPI_CHECK(MPI_Send(values.data(), static_cast<int>(values.size()), MPI_FLOAT, to, kResultState, MPI_COMM_WORLD));
}

void receive_state(int from, RunReport& report) {
  std::size_t total = 0;
  for (const auto& t : report.state) total += element_count(t.shape);
  std::vector<float> values(total);
  MPI_Status status;
  MPI_CHECK(MPI_Recv(values.data(), static_cast<int>(total), MPI_FLOAT, from, kResultState, MPI_COMM_WORLD, &status));
  int count = 0;
  MPI_CHECK(MPI_Get_count(&status, MPI_FLOAT, &count));
  ST_CHECK(static_cast<std::size_t>(count) == total, "rank {} sent {} state values, its report names {}", from, count,
           total);
  std::size_t offset = 0;
  for (auto& t : report.state) {
    const std::size_t n = element_count(t.shape);
    t.values.assign(values.begin() + static_cast<std::ptrdiff_t>(offset),
                    values.begin() + static_cast<std::ptrdiff_t>(offset + n));
    offset += n;
  }
}

nlohmann::json broadcast_json(const nlohmann::json& message, int rank) {
  std::string text = rank == 0 ? message.dump() : std::string();
  std::int64_t size = static_cast<std::int64_t>(text.size());
  MPI_CHECK(MPI_Bcast(&size, 1, MPI_INT64_T, 0, MPI_COMM_WORLD));
  ST_CHECK(size <= INT32_MAX, "a broadcast of {} bytes is too large for one message", size);
  text.resize(static_cast<std::size_t>(size));
  MPI_CHECK(MPI_Bcast(text.data(), static_cast<int>(size), MPI_CHAR, 0, MPI_COMM_WORLD));
  return nlohmann::json::parse(text);
}

}  // namespace statetune::orchestrator
