// Reading a cluster profile (cluster_profile.h): one handler per key, each checking its type
// and naming the line of a bad value.
#include "statetune/cluster/cluster_profile.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <regex>

#include "statetune/cluster/time_limit.h"
#include "statetune/common/error.h"
#include "statetune/common/file_io.h"

namespace statetune::cluster {
namespace {

namespace fs = std::filesystem;

// Where a value was written, and how to complain about it.
struct Field {
  std::string key;
  std::string at;  // "gpu.yaml:7"
  YAML::Node node;

  [[noreturn]] void bad(const std::string& expected) const {
    fail("{}: key '{}': expected {}, got {}", at, key, expected, kind(node));
  }
  static std::string kind(const YAML::Node& n) {
    switch (n.Type()) {
      case YAML::NodeType::Map: return "a mapping";
      case YAML::NodeType::Sequence: return "a list";
      case YAML::NodeType::Scalar: {  // one line, as every message is
        std::string text;
        for (char c : n.Scalar()) text += c == '\n' ? std::string("\\n") : c == '\r' ? std::string("\\r") : std::string(1, c);
        return fmt::format("'{}'", text);
      }
      default: return "nothing";
    }
  }
};

std::string where(const std::string& file, const YAML::Node& node) {
  const int line = node.Mark().line;
  return line < 0 ? file : fmt::format("{}:{}", file, line + 1);
}

std::string text(const Field& f, const std::string& expected = "a text value") {
  if (!f.node.IsScalar()) f.bad(expected);
  return f.node.Scalar();
}

// A value that goes on an #SBATCH line: one word.
std::string word(const Field& f, const std::string& expected = "a value without blanks") {
  const std::string value = text(f, expected);
  if (value.empty() || value.find_first_of(" \t\r\n") != std::string::npos) f.bad(expected);
  return value;
}

std::string matching(const Field& f, const std::regex& pattern, const std::string& expected) {
  const std::string value = text(f, expected);
  if (!std::regex_match(value, pattern)) f.bad(expected);
  return value;
}

std::int64_t integer(const Field& f, std::int64_t min, std::int64_t max = INT64_MAX) {
  const std::string expected = max == INT64_MAX ? fmt::format("an integer >= {}", min)
                                                : fmt::format("an integer from {} to {}", min, max);
  const std::string value = text(f, expected);
  static const std::regex digits("[+-]?[0-9]{1,18}");
  if (!std::regex_match(value, digits)) f.bad(expected);
  const std::int64_t n = std::stoll(value);
  if (n < min || n > max) f.bad(expected);
  return n;
}

// A list of text values; a single value is a list of one.
std::vector<std::string> text_list(const std::string& file, const Field& f) {
  if (f.node.IsScalar()) return {f.node.Scalar()};
  if (!f.node.IsSequence()) f.bad("a list of text values");
  std::vector<std::string> values;
  for (const auto& element : f.node) {
    const std::string at = element.Mark().line < 0 ? f.at : where(file, element);
    if (!element.IsScalar()) fail("{}: key '{}': expected a list of text values, got {} in the list", at, f.key, Field::kind(element));
    values.push_back(element.Scalar());
  }
  return values;
}

std::string one_line(const Field& f, const std::string& value) {
  if (value.find_first_of("\r\n") != std::string::npos) f.bad("a single line");
  return value;
}

// #SBATCH options that statetune renders itself, and the key that sets them instead.
const std::map<std::string, std::string> kManagedOptions = {
    {"--array", "the --array option of statetune submit"},
    {"--signal", "signal_warning_seconds"},
    {"--requeue", "max_requeues"},
    {"--no-requeue", "max_requeues: 0"},
    {"--hold", "nothing: statetune submit holds the jobs itself until they are recorded"},
    {"--parsable", "nothing: statetune submit passes it"},
};

std::string sbatch_option(const std::string& file, const Field& list, std::size_t index, std::string option) {
  const YAML::Node element = list.node.IsSequence() ? list.node[index] : list.node;
  const std::string at = element.Mark().line < 0 ? list.at : where(file, element);
  const std::string prefix = "#SBATCH";
  if (option.compare(0, prefix.size(), prefix) == 0) option = option.substr(prefix.size());
  option.erase(0, option.find_first_not_of(" \t"));
  if (option.size() < 2 || option[0] != '-' || option.find_first_of("\r\n") != std::string::npos) {
    fail("{}: key 'extra_sbatch': expected sbatch options such as '--exclusive', got '{}'", at, option);
  }
  const std::string name = option.substr(0, option.find_first_of("= \t"));
  const auto managed = kManagedOptions.find(name);
  if (managed != kManagedOptions.end()) {
    fail("{}: key 'extra_sbatch': '{}' is set by statetune; use {} instead", at, name, managed->second);
  }
  return option;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

using Handler = std::function<void(const std::string& file, const Field&, ClusterProfile&)>;

const std::map<std::string, Handler>& handlers() {
  static const std::regex gpus("([A-Za-z0-9_.-]+:)?[0-9]+");
  static const std::regex memory("[0-9]+[KMGTkmgt]?");
  static const std::map<std::string, Handler> table = {
      {"partition", [](auto&, const Field& f, ClusterProfile& p) { p.partition = word(f); }},
      {"account", [](auto&, const Field& f, ClusterProfile& p) { p.account = word(f); }},
      {"qos", [](auto&, const Field& f, ClusterProfile& p) { p.qos = word(f); }},
      {"constraint", [](auto&, const Field& f, ClusterProfile& p) { p.constraint = word(f); }},
      {"job_name", [](auto&, const Field& f, ClusterProfile& p) { p.job_name = word(f); }},
      {"time_limit",
       [](auto&, const Field& f, ClusterProfile& p) {
         const std::string expected = "a time limit: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS";
         p.time_limit = text(f, expected);
         p.time_limit_seconds = parse_time_limit(p.time_limit);
         if (!p.time_limit_seconds || *p.time_limit_seconds == 0) f.bad(expected);
       }},
      {"nodes", [](auto&, const Field& f, ClusterProfile& p) { p.nodes = integer(f, 1); }},
      {"ranks_per_node", [](auto&, const Field& f, ClusterProfile& p) { p.ranks_per_node = integer(f, 1); }},
      {"gpus_per_node",
       [](auto&, const Field& f, ClusterProfile& p) {
         p.gpus_per_node = matching(f, gpus, "a GPU count or TYPE:COUNT (4, h100:4)");
         if (p.gpus_per_node.find_first_not_of("0") == std::string::npos) p.gpus_per_node.clear();  // 0: none
       }},
      {"cpus_per_rank", [](auto&, const Field& f, ClusterProfile& p) { p.cpus_per_rank = integer(f, 1); }},
      {"memory",
       [](auto&, const Field& f, ClusterProfile& p) {
         p.memory = matching(f, memory, "a memory size per node: a number with an optional K, M, G or T suffix (400G)");
       }},
      {"modules",
       [](const std::string& file, const Field& f, ClusterProfile& p) {
         p.modules = text_list(file, f);
         for (const auto& m : p.modules) {
           if (m.empty() || m.find_first_of(" \t\r\n") != std::string::npos) {
             fail("{}: key 'modules': expected module names without blanks, got '{}'", f.at, m);
           }
         }
       }},
      {"setup", [](const std::string& file, const Field& f, ClusterProfile& p) { p.setup = text_list(file, f); }},
      {"launcher",
       [](auto&, const Field& f, ClusterProfile& p) {
         p.launcher = one_line(f, text(f, "a command such as 'srun --mpi=pmix' or 'mpirun'"));
         if (p.launcher.find_first_not_of(" \t") == std::string::npos) f.bad("a command such as 'srun --mpi=pmix' or 'mpirun'");
       }},
      {"extra_sbatch",
       [](const std::string& file, const Field& f, ClusterProfile& p) {
         const auto options = text_list(file, f);
         p.extra_sbatch.clear();
         for (std::size_t i = 0; i < options.size(); ++i) p.extra_sbatch.push_back(sbatch_option(file, f, i, options[i]));
       }},
      {"signal_warning_seconds", [](auto&, const Field& f, ClusterProfile& p) { p.signal_warning_seconds = integer(f, 0, 65535); }},
      {"max_requeues", [](auto&, const Field& f, ClusterProfile& p) { p.max_requeues = integer(f, 0); }},
      {"max_submit_jobs", [](auto&, const Field& f, ClusterProfile& p) { p.max_submit_jobs = integer(f, 1); }},
      {"statetune_binary",
       [](const std::string& file, const Field& f, ClusterProfile& p) {
         const fs::path path = one_line(f, text(f, "a path"));
         const fs::path base = fs::absolute(fs::path(file)).parent_path();
         p.statetune_binary = (path.is_absolute() ? path : base / path).lexically_normal().string();
       }},
  };
  return table;
}

[[noreturn]] void unknown_key(const std::string& at, const std::string& key) {
  std::string best;
  std::size_t best_distance = 3;  // suggest only close spellings
  for (const auto& [known, handler] : handlers()) {
    const std::size_t d = edit_distance(key, known);
    if (d < best_distance) best = known, best_distance = d;
  }
  if (best.empty()) fail("{}: unknown key '{}'", at, key);
  fail("{}: unknown key '{}' (did you mean '{}'?)", at, key, best);
}

}  // namespace

ClusterProfile load_cluster_profile(const std::string& path) {
  ClusterProfile profile;
  profile.path = path;
  profile.text = read_file_bytes(path);
  YAML::Node root;
  try {
    root = YAML::Load(profile.text);
  } catch (const YAML::ParserException& e) {
    fail("{}:{}: YAML syntax error: {}", path, e.mark.line + 1, e.msg);
  }
  if (root.IsNull()) return profile;  // an empty profile: every default
  if (!root.IsMap()) fail("{}: expected a mapping of cluster profile keys, got {}", where(path, root), Field::kind(root));

  std::map<std::string, std::string> seen;  // key -> where first written
  std::string signal_at, time_at;
  for (auto it = root.begin(); it != root.end(); ++it) {
    const YAML::Node key_node = it->first;
    const YAML::Node value_node = it->second;
    const std::string at = where(path, key_node);
    if (!key_node.IsScalar()) fail("{}: expected a key name, got {}", at, Field::kind(key_node));
    const std::string key = key_node.Scalar();
    const auto handler = handlers().find(key);
    if (handler == handlers().end()) unknown_key(at, key);
    const auto [first, inserted] = seen.emplace(key, at);
    if (!inserted) fail("{}: key '{}' is written twice (first at {})", at, key, first->second);
    if (value_node.IsNull()) continue;  // written without a value: the default
    handler->second(path, Field{key, at, value_node}, profile);
    if (key == "signal_warning_seconds") signal_at = at;
    if (key == "time_limit") time_at = at;
  }

  if (profile.time_limit_seconds && profile.signal_warning_seconds >= *profile.time_limit_seconds) {
    fail("{}: key 'signal_warning_seconds': {} s is not less than the time limit '{}' ({}); the warning would come "
         "before the job starts",
         signal_at.empty() ? time_at : signal_at, profile.signal_warning_seconds, profile.time_limit, time_at);
  }
  return profile;
}

}  // namespace statetune::cluster
