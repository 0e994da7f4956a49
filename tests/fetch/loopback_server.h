#pragma once
// The loopback HTTP server of the fetch tests (loopback_server.py beside this file), started
// and stopped from a test: serves a folder on 127.0.0.1 with Range support and the failure
// modes its docstring lists (404, a cut after N bytes once, vanishing mid-file, no Range,
// redirects, slow bodies), and logs every request as a JSON line.
//
//   LoopbackServer server(folder, log_file);          // a free port
//   server.url("files/gsm8k/train.jsonl")             // "http://127.0.0.1:PORT/files/gsm8k/train.jsonl"
//   server.requests()                                 // the log: {"method", "path", "range"} each
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace statetune::testing {

inline std::string loopback_server_script() {
  if (const char* env = std::getenv("STATETUNE_SOURCE_DIR")) return std::string(env) + "/tests/fetch/loopback_server.py";
  return std::string(STATETUNE_SOURCE_DIR_DEFAULT) + "/tests/fetch/loopback_server.py";
}

class LoopbackServer {
 public:
  LoopbackServer(const std::string& root, const std::string& log) : log_(log) {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      ::execlp("python3", "python3", loopback_server_script().c_str(), root.c_str(), "--log", log.c_str(),
               static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    std::string line;
    pollfd p{out[0], POLLIN, 0};
    while (line.find('\n') == std::string::npos && ::poll(&p, 1, 20000) > 0) {
      char buffer[64];
      const ssize_t n = ::read(out[0], buffer, sizeof buffer);
      if (n <= 0) break;
      line.append(buffer, static_cast<size_t>(n));
    }
    ::close(out[0]);
    port_ = std::atoi(line.c_str());
    if (port_ <= 0) {
      stop();
      throw std::runtime_error("loopback_server.py did not print its port (got '" + line + "')");
    }
  }
  ~LoopbackServer() { stop(); }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  int port() const { return port_; }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }
  std::string url(const std::string& path) const { return base() + path; }

  // Whether the process still runs (the /vanish/ mode ends it).
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::vector<nlohmann::json> requests() const {
    std::vector<nlohmann::json> out;
    std::ifstream in(log_);
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) out.push_back(nlohmann::json::parse(line));
    return out;
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace statetune::testing
