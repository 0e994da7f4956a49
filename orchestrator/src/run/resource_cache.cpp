#include "statetune/orchestrator/resource_cache.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <utility>

#include <fmt/format.h>

namespace statetune::orchestrator {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

std::string stat_signature(const struct stat& st) {
  return fmt::format("{} bytes, mtime {}.{:09d}, inode {}:{}", static_cast<long long>(st.st_size),
                     static_cast<long long>(st.st_mtim.tv_sec), static_cast<long>(st.st_mtim.tv_nsec),
                     static_cast<unsigned long long>(st.st_dev), static_cast<unsigned long long>(st.st_ino));
}

// FNV-1a: a folder's signature folds its files' into one short string.
uint64_t fnv1a(const std::string& text, uint64_t h = 14695981039346656037ull) {
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string kind_of(const std::string& key) { return key.substr(0, key.find('|')); }

}  // namespace

std::string file_signature(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "missing";
  if (!S_ISDIR(st.st_mode)) return stat_signature(st);
  // A folder (an MMLU split): every file under it, in name order (iteration order is not).
  std::vector<std::string> lines;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    struct stat f {};
    const std::string p = it->path().string();
    if (::stat(p.c_str(), &f) == 0 && !S_ISDIR(f.st_mode)) lines.push_back(p + ": " + stat_signature(f));
  }
  if (ec) return "unreadable folder (" + ec.message() + ")";
  std::sort(lines.begin(), lines.end());
  uint64_t h = fnv1a("");
  for (const std::string& line : lines) h = fnv1a(line + "\n", h);
  return fmt::format("folder of {} files, {:016x}", lines.size(), h);
}

ResourceCache::ResourceCache(int64_t max_bytes, Log log) : max_bytes_(max_bytes), log_(std::move(log)) {}

std::shared_ptr<const void> ResourceCache::get(const std::string& key, const std::string& what,
                                               int64_t expected_bytes, const std::function<Loaded()>& load,
                                               bool* hit) {
  std::lock_guard<std::mutex> lock(mu_);
  Counts& counts = counts_[kind_of(key)];
  if (auto found = by_key_.find(key); found != by_key_.end()) {
    const auto it = found->second;
    std::string changed;
    for (const auto& [path, signature] : it->files)
      if (file_signature(path) != signature) changed = path;
    if (changed.empty()) {
      lru_.splice(lru_.begin(), lru_, it);  // now the most recently used
      ++counts.hits;
      if (hit) *hit = true;
      return it->value;
    }
    drop(it, changed + " changed since it was read; reading it again");
  }
  make_room(expected_bytes);
  Loaded loaded = load();
  // The files as they are once read (which files a load reads, e.g. a benchmark's few-shot
  // pool, is known only after it).
  std::vector<std::pair<std::string, std::string>> files;
  for (const std::string& path : loaded.files) files.emplace_back(path, file_signature(path));
  Entry entry{key, what, loaded.value, std::max<int64_t>(loaded.bytes, 0), std::move(files)};
  ++counts.loads;
  if (hit) *hit = false;
  make_room(entry.bytes);
  lru_.push_front(std::move(entry));
  by_key_[key] = lru_.begin();
  bytes_ += lru_.front().bytes;
  return lru_.front().value;
}

void ResourceCache::trim() {
  std::lock_guard<std::mutex> lock(mu_);
  make_room(0);
}

void ResourceCache::make_room(int64_t incoming) {
  // From the least recently used; entries someone holds stay (dropping them frees nothing).
  for (auto it = lru_.end(); it != lru_.begin() && bytes_ + incoming > max_bytes_;) {
    --it;
    if (it->value.use_count() > 1) continue;
    const auto idle = it;
    ++it;  // the entry after it (already passed), which stays valid when `idle` is erased
    ++counts_[kind_of(idle->key)].evictions;
    drop(idle, fmt::format("over the cache's {:.0f} MiB", static_cast<double>(max_bytes_) / kMiB));
  }
}

void ResourceCache::drop(std::list<Entry>::iterator it, const std::string& why) {
  if (log_) {
    log_(fmt::format("cache: dropped {} ({:.1f} MiB): {}{}", it->what, static_cast<double>(it->bytes) / kMiB, why,
                     it->value.use_count() > 1 ? " (freed when its last user lets go)" : ""));
  }
  bytes_ -= it->bytes;
  by_key_.erase(it->key);
  lru_.erase(it);
}

int64_t ResourceCache::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

size_t ResourceCache::entries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lru_.size();
}

std::map<std::string, ResourceCache::Counts> ResourceCache::counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_;
}

}  // namespace statetune::orchestrator
