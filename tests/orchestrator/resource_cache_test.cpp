// The process cache of a study's runs (orchestrator/resource_cache.h): a second get is the same
// object, a changed file is read again, the least recently used idle entries go over the cap
// with a log line, and entries in use stay.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "statetune/orchestrator/resource_cache.h"
#include "test_paths.h"

namespace {

using statetune::orchestrator::file_signature;
using statetune::orchestrator::ResourceCache;

// A cache whose log lines are kept, and a load that counts its calls and reads its file.
struct Fixture {
  std::vector<std::string> log;
  ResourceCache cache;
  int loads = 0;

  explicit Fixture(int64_t max_bytes) : cache(max_bytes, [this](const std::string& line) { log.push_back(line); }) {}

  std::shared_ptr<const std::string> get(const std::string& path, int64_t bytes, bool* hit = nullptr) {
    return cache.get<std::string>("text|" + path, "text " + path, bytes, [&] {
      ++loads;
      std::ifstream in(path);
      auto text = std::make_shared<const std::string>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      return ResourceCache::Loaded{text, bytes, {path}};
    }, hit);
  }
};

std::string write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

TEST(ResourceCache, TheSecondGetIsTheSameObject) {
  const std::string dir = statetune::testing::temp_dir("cache_hit");
  const std::string a = write(dir + "/a.txt", "alpha");
  Fixture f(1 << 20);
  bool hit = true;
  const auto first = f.get(a, 100, &hit);
  EXPECT_FALSE(hit);
  const auto second = f.get(a, 100, &hit);
  EXPECT_TRUE(hit);
  EXPECT_EQ(first.get(), second.get());
  EXPECT_EQ(*second, "alpha");
  EXPECT_EQ(f.loads, 1);
  EXPECT_EQ(f.cache.counts().at("text").loads, 1);
  EXPECT_EQ(f.cache.counts().at("text").hits, 1);
  EXPECT_EQ(f.cache.bytes(), 100);
}

TEST(ResourceCache, AChangedOrTouchedFileIsReadAgain) {
  const std::string dir = statetune::testing::temp_dir("cache_changed");
  const std::string a = write(dir + "/a.txt", "alpha");
  Fixture f(1 << 20);
  const auto first = f.get(a, 100);
  write(a, "beta, longer");  // another size
  const auto second = f.get(a, 100);
  EXPECT_NE(first.get(), second.get());
  EXPECT_EQ(*second, "beta, longer");
  EXPECT_EQ(*first, "alpha");  // the earlier run's copy is untouched
  // The same size, only a newer modification time (rewritten in place, `touch`).
  std::filesystem::last_write_time(a, std::filesystem::last_write_time(a) + std::chrono::seconds(5));
  const auto third = f.get(a, 100);
  EXPECT_NE(second.get(), third.get());
  EXPECT_EQ(f.loads, 3);
  EXPECT_EQ(f.cache.entries(), 1u);  // the stale copies are gone from the cache
  EXPECT_EQ(f.cache.bytes(), 100);
  ASSERT_EQ(f.log.size(), 2u);
  EXPECT_NE(f.log[0].find("changed since it was read"), std::string::npos) << f.log[0];
}

TEST(ResourceCache, AFolderChangesWithAnyFileInIt) {
  const std::string dir = statetune::testing::temp_dir("cache_folder");
  std::filesystem::create_directories(dir + "/split/sub");
  write(dir + "/split/a.csv", "1");
  write(dir + "/split/sub/b.csv", "2");
  const std::string before = file_signature(dir + "/split");
  EXPECT_EQ(file_signature(dir + "/split"), before);
  write(dir + "/split/sub/b.csv", "22");
  EXPECT_NE(file_signature(dir + "/split"), before);
  EXPECT_EQ(file_signature(dir + "/nothing_here"), "missing");
}

TEST(ResourceCache, IdleEntriesAreDroppedOverTheCapWithALogLine) {
  const std::string dir = statetune::testing::temp_dir("cache_evict");
  const std::string a = write(dir + "/a.txt", "alpha"), b = write(dir + "/b.txt", "beta");
  Fixture f(3 << 20);  // 3 MiB: room for one 2 MiB entry
  std::weak_ptr<const std::string> a_alive = f.get(a, 2 << 20);
  EXPECT_TRUE(f.log.empty());
  EXPECT_TRUE(a_alive.expired() == false);  // kept by the cache while nobody holds it
  const auto b_value = f.get(b, 2 << 20);
  EXPECT_TRUE(a_alive.expired()) << "the dropped entry's memory was not freed";
  ASSERT_EQ(f.log.size(), 1u);
  EXPECT_NE(f.log[0].find("dropped text " + a), std::string::npos) << f.log[0];
  EXPECT_NE(f.log[0].find("2.0 MiB"), std::string::npos) << f.log[0];
  EXPECT_NE(f.log[0].find("over the cache's 3 MiB"), std::string::npos) << f.log[0];
  EXPECT_EQ(f.cache.entries(), 1u);
  EXPECT_EQ(f.cache.bytes(), 2 << 20);
  EXPECT_EQ(f.cache.counts().at("text").evictions, 1);
  f.get(a, 2 << 20);
  EXPECT_EQ(f.loads, 3);  // a was read again
}

TEST(ResourceCache, EntriesInUseStayAndTheLeastRecentlyUsedIdleOneGoesFirst) {
  const std::string dir = statetune::testing::temp_dir("cache_in_use");
  const std::string a = write(dir + "/a.txt", "alpha"), b = write(dir + "/b.txt", "beta"),
                    c = write(dir + "/c.txt", "gamma"), d = write(dir + "/d.txt", "delta");
  Fixture f(5 << 20);
  const auto a_held = f.get(a, 2 << 20);  // a run holds it
  f.get(b, 2 << 20);                       // idle
  f.get(c, 2 << 20);                       // over: b is idle and goes, a is held and stays
  ASSERT_EQ(f.log.size(), 1u);
  EXPECT_NE(f.log[0].find("dropped text " + b), std::string::npos) << f.log[0];
  bool hit = false;
  EXPECT_EQ(f.get(a, 2 << 20, &hit).get(), a_held.get());
  EXPECT_TRUE(hit);
  // Nothing idle to drop: the cache goes over its cap rather than drop what is in use.
  const auto c_held = f.get(c, 2 << 20), d_held = f.get(d, 2 << 20);
  EXPECT_EQ(f.log.size(), 1u);
  EXPECT_EQ(f.cache.bytes(), 6 << 20);
  EXPECT_EQ(*a_held, "alpha");
}

TEST(ResourceCache, TrimDropsWhatARunLetGoOfDownToTheCap) {
  const std::string dir = statetune::testing::temp_dir("cache_trim");
  const std::string a = write(dir + "/a.txt", "alpha");
  Fixture f(0);  // keep nothing between runs
  {
    const auto held = f.get(a, 100);
    f.cache.trim();  // still in use: stays
    EXPECT_EQ(f.cache.entries(), 1u);
    EXPECT_TRUE(f.log.empty());
  }
  f.cache.trim();
  EXPECT_EQ(f.cache.entries(), 0u);
  EXPECT_EQ(f.cache.bytes(), 0);
  ASSERT_EQ(f.log.size(), 1u);
  EXPECT_NE(f.log[0].find("dropped text " + a), std::string::npos) << f.log[0];
}

}  // namespace
