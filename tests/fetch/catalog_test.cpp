// The catalogue (built in and test ones) and name resolution, without any network library.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>

#include "expect_error.h"
#include "fetch_test_support.h"
#include "statetune/fetch/cache.h"
#include "statetune/fetch/catalog.h"
#include "statetune/fetch/fetcher.h"

namespace statetune::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(FetchCatalog, TheBuiltInCatalogueHasTheKnownNames) {
  const fetch::Catalog& c = fetch::builtin_catalog();
  for (const char* name : {"arc_challenge", "mmlu", "winogrande", "gsm8k", "rwkv7-world-0.1b", "rwkv7-world-0.4b",
                           "rwkv7-world-1.5b", "rwkv7-world-2.9b", "rwkv7-world-0.1b-fla", "rwkv7-world-0.4b-fla",
                           "rwkv7-world-1.5b-fla", "rwkv7-world-2.9b-fla", "rwkv-world-vocab"})
    EXPECT_NE(c.find(name), nullptr) << name;
  EXPECT_EQ(c.find("arc_challenge")->splits.eval, "ARC-Challenge-Test.jsonl");
  EXPECT_EQ(c.find("arc_challenge")->splits.fewshot, "ARC-Challenge-Train.jsonl");
  EXPECT_EQ(c.find("mmlu")->splits.fewshot, "dev");
  EXPECT_EQ(c.find("winogrande")->splits.train, "train_xl.jsonl");
  EXPECT_TRUE(c.find("gsm8k")->unpinned().empty());
  EXPECT_TRUE(c.find("arc_challenge")->unpinned().empty());  // its archive is not, but every member is
  EXPECT_EQ(c.find("winogrande")->unpinned(), (std::vector<std::string>{"train_xl.jsonl", "train_xl-labels.lst"}));
  EXPECT_FALSE(c.find("rwkv7-world-0.1b")->unpinned().empty());
  EXPECT_EQ(c.find("rwkv7-world-0.1b")->file, "RWKV-x070-World-0.1B-v2.8-20241210-ctx4096.pth");
}

// Every pin of the built-in catalogue is a row of ../shared/data/UPSTREAM.md (or the vocab itself).
TEST(FetchCatalog, ThePinsAreThoseOfUpstreamMd) {
  SHARED_OR_SKIP(upstream, "data/UPSTREAM.md");
  std::map<std::string, std::pair<std::string, uint64_t>> rows;  // "section|file" -> (sha, bytes)
  std::ifstream in(upstream);
  std::string line, section;
  const std::regex row(R"(^\| (\S+) \| (\d+) \| \d+ \| `([0-9a-f]{64})` \|$)");
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) section = line.substr(3, line.find(' ', 3) - 3);
    std::smatch m;
    if (std::regex_match(line, m, row)) rows[section + "|" + m[1].str()] = {m[3].str(), std::stoull(m[2].str())};
  }
  const std::map<std::string, std::string> sections = {{"arc_challenge", "ARC-Challenge"}, {"gsm8k", "GSM8K"}, {"winogrande", "WinoGrande"}};
  int checked = 0;
  for (const auto& [name, section_name] : sections) {
    const fetch::Entry* e = fetch::builtin_catalog().find(name);
    ASSERT_NE(e, nullptr);
    for (const fetch::Source& s : e->sources) {
      std::vector<std::pair<std::string, fetch::Pin>> pinned;
      if (!s.is_archive()) pinned.push_back({s.dest, s.pin});
      for (const fetch::Member& m : s.members) pinned.push_back({m.dest, m.pin});
      for (const auto& [file, pin] : pinned) {
        if (!pin.sha256) continue;
        const auto it = rows.find(section_name + "|" + file);
        ASSERT_NE(it, rows.end()) << name << ": " << file << " is pinned but not in UPSTREAM.md";
        EXPECT_EQ(*pin.sha256, it->second.first) << file;
        EXPECT_EQ(pin.bytes.value_or(0), it->second.second) << file;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 3 + 2 + 9);
  SHARED_OR_SKIP(vocab, "data/tokenizer/rwkv_vocab_v20230424.txt");
  const fetch::Source& v = fetch::builtin_catalog().find("rwkv-world-vocab")->sources[0];
  EXPECT_EQ(*v.pin.sha256, sha256_of(vocab));
  EXPECT_EQ(*v.pin.bytes, fs::file_size(vocab));
}

TEST(FetchCatalog, ABrokenCatalogueIsNamedWithTheEntryAtFault) {
  expect_error([] { fetch::parse_catalog("{", "cat.json"); }, "cat.json: not valid JSON");
  expect_error([] { fetch::parse_catalog(R"({"entries": [{"name": "x", "kind": "model", "sources": [{"dest": "a"}], "file": "a"}]})", "cat.json"); },
               "cat.json: entries[0] (x): sources[0]: missing \"url\"");
  expect_error([] { fetch::parse_catalog(R"({"entries": [{"name": "x", "kind": "model", "sources": [{"url": "u", "dest": "../a"}], "file": "a"}]})", "cat.json"); },
               "must be a relative path inside the entry's folder");
  expect_error([] { fetch::parse_catalog(R"({"entries": [{"name": "x", "kind": "tool", "sources": [], "file": "a"}]})", "cat.json"); },
               "\"kind\" must be benchmark, model or vocab");
  expect_error([] { fetch::parse_catalog(R"({"entries": [{"name": "x", "kind": "model", "sources": [{"url": "u", "format": "zip", "members": [{"from": "d/*.csv", "dest": "d"}]}], "file": "a"}]})", "cat.json"); },
               "needs a folder as \"dest\"");
  expect_error([] { fetch::parse_catalog(R"({"entries": [{"name": "x", "kind": "model", "sources": [{"url": "u", "dest": "a", "sha256": "12"}], "file": "a"}]})", "cat.json"); },
               "\"sha256\" must be 64 hex digits or null");
}

class FetchResolution : public ::testing::Test {
 protected:
  void SetUp() override {
    cache_ = temp_dir("fetch_resolution");
    saved_catalog_ = std::getenv("STATETUNE_FETCH_CATALOG") ? std::getenv("STATETUNE_FETCH_CATALOG") : "";
    saved_cache_ = std::getenv("STATETUNE_CACHE") ? std::getenv("STATETUNE_CACHE") : "";
  }
  void TearDown() override {
    restore("STATETUNE_FETCH_CATALOG", saved_catalog_);
    restore("STATETUNE_CACHE", saved_cache_);
  }
  static void restore(const char* name, const std::string& value) {
    if (value.empty()) ::unsetenv(name);
    else ::setenv(name, value.c_str(), 1);
  }
  // A cached entry as fetch leaves it: files, then the manifest.
  void cache_entry(const std::string& kind_folder, const std::string& name, const json& manifest,
                   const std::vector<std::string>& files) {
    for (const std::string& f : files) write_text(fs::path(cache_) / kind_folder / name / f, "x");
    write_text(fs::path(cache_) / kind_folder / name / "fetched.json", manifest.dump());
  }
  std::string cache_, saved_catalog_, saved_cache_;
};

TEST_F(FetchResolution, AbsentEntriesSayHowToFetchThem) {
  expect_error([&] { fetch::fetched_benchmark("arc_challenge", cache_); },
               "benchmark 'arc_challenge' is not in the cache " + cache_ + ": run `statetune fetch arc_challenge`");
  expect_error([&] { fetch::fetched_file("rwkv7-world-0.1b", cache_); },
               "model 'rwkv7-world-0.1b' is not in the cache " + cache_ + ": run `statetune fetch rwkv7-world-0.1b`");
  expect_error([&] { fetch::fetched_file("rwkv-world-vocab", cache_); }, "vocab 'rwkv-world-vocab' is not in the cache");
}

TEST_F(FetchResolution, CachedEntriesResolveToAbsolutePaths) {
  cache_entry("benchmarks", "gsm8k",
              {{"name", "gsm8k"}, {"kind", "benchmark"}, {"files", json::array()},
               {"splits", {{"train", "train.jsonl"}, {"eval", "test.jsonl"}, {"fewshot", "train.jsonl"}}}},
              {"train.jsonl", "test.jsonl"});
  cache_entry("models", "m", {{"name", "m"}, {"kind", "model"}, {"files", json::array()}, {"file", "w.pth"}}, {"w.pth"});
  const fetch::BenchmarkFiles b = fetch::fetched_benchmark("gsm8k", cache_);
  EXPECT_EQ(b.train, cache_ + "/benchmarks/gsm8k/train.jsonl");
  EXPECT_EQ(b.eval, cache_ + "/benchmarks/gsm8k/test.jsonl");
  EXPECT_EQ(b.fewshot, b.train);
  EXPECT_EQ(fetch::fetched_file("m", cache_), cache_ + "/models/m/w.pth");
  expect_error([&] { fetch::fetched_file("gsm8k", cache_); }, "'gsm8k' is a benchmark");
  expect_error([&] { fetch::fetched_benchmark("m", cache_); }, "'m' is a model, not a benchmark");
  fs::remove(fs::path(cache_) / "models/m/w.pth");
  expect_error([&] { fetch::fetched_file("m", cache_); }, "which is missing: run `statetune fetch m`");

  // A relative cache still gives absolute paths.
  const fs::path here = fs::current_path();
  fs::current_path(fs::path(cache_).parent_path());
  const std::string relative = fetch::fetched_benchmark("gsm8k", fs::path(cache_).filename()).eval;
  fs::current_path(here);
  EXPECT_EQ(relative, cache_ + "/benchmarks/gsm8k/test.jsonl");
}

TEST_F(FetchResolution, KnownNamesComeFromTheCatalogueOrTheCache) {
  ::unsetenv("STATETUNE_FETCH_CATALOG");
  ::setenv("STATETUNE_CACHE", cache_.c_str(), 1);
  EXPECT_EQ(fetch::cache_root(), fs::path(cache_));
  EXPECT_TRUE(fetch::is_known_name("arc_challenge"));
  EXPECT_TRUE(fetch::is_known_name("rwkv7-world-1.5b-fla"));
  EXPECT_FALSE(fetch::is_known_name("mystery"));
  cache_entry("models", "mystery", {{"name", "mystery"}, {"kind", "model"}, {"files", json::array()}, {"file", "w.pth"}}, {"w.pth"});
  EXPECT_TRUE(fetch::is_known_name("mystery"));  // cached with a manifest
  EXPECT_EQ(fetch::fetched_file("mystery"), cache_ + "/models/mystery/w.pth");

  const std::string catalog = cache_ + "/catalog.json";
  write_text(catalog, R"({"entries": [{"name": "private-model", "kind": "model", "sources": [{"url": "http://127.0.0.1:1/m", "dest": "m.pth"}], "file": "m.pth"}]})");
  ::setenv("STATETUNE_FETCH_CATALOG", catalog.c_str(), 1);
  EXPECT_TRUE(fetch::is_known_name("private-model"));
  EXPECT_FALSE(fetch::is_known_name("arc_challenge"));  // the test catalogue replaces the built-in one
  expect_error([&] { fetch::fetched_file("private-model"); }, "model 'private-model' is not in the cache");
}

TEST_F(FetchResolution, CacheRootFollowsTheEnvironment) {
  const std::string home = std::getenv("HOME") ? std::getenv("HOME") : "";
  const std::string xdg = std::getenv("XDG_CACHE_HOME") ? std::getenv("XDG_CACHE_HOME") : "";
  ::unsetenv("STATETUNE_CACHE");
  ::setenv("XDG_CACHE_HOME", "/x/cache", 1);
  EXPECT_EQ(fetch::cache_root(), fs::path("/x/cache/statetune"));
  ::unsetenv("XDG_CACHE_HOME");
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(fetch::cache_root(), fs::path("/home/u/.cache/statetune"));
  restore("HOME", home);
  restore("XDG_CACHE_HOME", xdg);
}

}  // namespace
}  // namespace statetune::testing
