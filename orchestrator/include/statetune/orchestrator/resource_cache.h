#pragma once
// A cache of things read from files (models, tokenizers, tokenized data), for the runs of a
// study that one process runs one after another: each is read once and handed out shared while
// its files are unchanged. Least recently used entries are dropped when the entries' estimated
// bytes pass a cap, with one log line per entry dropped. An entry that a caller still holds is
// not dropped (its memory is taken whether or not the cache keeps it), so during a run the
// cache may hold more than the cap; trim() after the run brings it back under.
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace statetune::orchestrator {

// How a file looks now, as stat(2) tells: size, modification time, device and inode (a file
// replaced by a rename gets a new inode). A folder: the same for every file under it. "missing"
// when there is nothing at the path. Equal signatures: no change that stat can see.
std::string file_signature(const std::string& path);

class ResourceCache {
 public:
  struct Loaded {
    std::shared_ptr<const void> value;
    int64_t bytes = 0;               // estimated memory the value holds (host or device)
    std::vector<std::string> files;  // what it was read from: a change to any is a miss
  };
  // Per kind of entry (the part of the key before the first '|': "model", "vocab", ...).
  struct Counts {
    int64_t loads = 0, hits = 0, evictions = 0;  // evictions: dropped to stay under the cap
  };
  using Log = std::function<void(const std::string&)>;

  ResourceCache(int64_t max_bytes, Log log);

  // The value kept under `key` when every file it was read from is unchanged; else load() is
  // called (after dropping idle entries to make room for `expected_bytes`) and its value kept.
  // `what` names the entry in log lines ("model /data/m.pth on cpu, fp32 weights"). load()
  // throwing leaves the cache as it was. *hit says which happened.
  std::shared_ptr<const void> get(const std::string& key, const std::string& what, int64_t expected_bytes,
                                  const std::function<Loaded()>& load, bool* hit = nullptr);

  template <typename T>
  std::shared_ptr<const T> get(const std::string& key, const std::string& what, int64_t expected_bytes,
                               const std::function<Loaded()>& load, bool* hit = nullptr) {
    return std::static_pointer_cast<const T>(get(key, what, expected_bytes, load, hit));
  }

  // Drops idle entries, least recently used first, until the rest fit under the cap.
  void trim();

  int64_t max_bytes() const { return max_bytes_; }
  int64_t bytes() const;   // the estimated bytes of the entries kept now
  size_t entries() const;
  std::map<std::string, Counts> counts() const;

 private:
  struct Entry {
    std::string key, what;
    std::shared_ptr<const void> value;
    int64_t bytes = 0;
    std::vector<std::pair<std::string, std::string>> files;  // path, signature when read
  };
  // Drops the least recently used entries nobody holds until `incoming` more bytes fit.
  void make_room(int64_t incoming);
  void drop(std::list<Entry>::iterator it, const std::string& why);

  const int64_t max_bytes_;
  const Log log_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // most recently used first
  std::map<std::string, std::list<Entry>::iterator> by_key_;
  int64_t bytes_ = 0;
  std::map<std::string, Counts> counts_;
};

}  // namespace statetune::orchestrator
