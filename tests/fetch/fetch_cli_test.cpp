// `statetune fetch` end to end, offline: a loopback HTTP server (loopback_server.py) serves small
// files and archives made here, a test catalogue points at it, and the binary fetches.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "expect_error.h"
#include "fetch_test_support.h"
#include "statetune/fetch/cache.h"
#include "statetune/fetch/fetcher.h"

namespace statetune::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class FetchCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fetch::download_supported()) GTEST_SKIP() << "SKIPPED LOUDLY: " << fetch::download_unsupported_reason();
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = temp_dir("fetch_" + test);
    serve_ = dir_ / "serve";
    cache_ = dir_ / "cache";
    log_ = (dir_ / "requests.log").string();
    // GSM8K-like plain files (train is ~300 KB so that cuts land mid-file).
    write_text(serve_ / "gsm8k/train.jsonl", jsonl(3000, 1));
    write_text(serve_ / "gsm8k/test.jsonl", jsonl(50, 2));
    // ARC-like zip: three members under a folder, plus one the catalogue does not take.
    for (const char* split : {"Train", "Dev", "Test"})
      write_text(dir_ / "arc/ARC-V1-Feb2018-2/ARC-Challenge" / (std::string("ARC-Challenge-") + split + ".jsonl"),
                 jsonl(40, split[0]));
    write_text(dir_ / "arc/ARC-V1-Feb2018-2/ARC-Easy/ARC-Easy-Test.jsonl", jsonl(5, 9));
    make_archive("zip", serve_ / "arc.zip", dir_ / "arc");
    // MMLU-like tar: <subject>_{dev,val,test}.csv under data/.
    for (const char* subject : {"anatomy", "virology"})
      for (const char* split : {"dev", "val", "test"})
        write_text(dir_ / "mmlu/data" / split / (std::string(subject) + "_" + split + ".csv"),
                   std::string("Q?,a,b,c,d,A\n") + subject + "," + split + ",x,y,z,B\n");
    make_archive("tar", serve_ / "data.tar", dir_ / "mmlu");
    // A "model" of ~200 KB.
    std::string model(200000, '\0');
    for (size_t i = 0; i < model.size(); ++i) model[i] = static_cast<char>((i * 2654435761u) >> 13);
    write_text(serve_ / "model.pth", model);
    server_ = std::make_unique<LoopbackServer>(serve_.string(), log_);
  }

  std::string sha(const std::string& served) const { return sha256_of(serve_ / served); }
  std::string arc_sha(const std::string& split) const {
    return sha256_of(dir_ / "arc/ARC-V1-Feb2018-2/ARC-Challenge" / ("ARC-Challenge-" + split + ".jsonl"));
  }

  json gsm8k_entry(const std::string& train_url, const std::string& train_sha) const {
    return {{"name", "gsm8k"},
            {"kind", "benchmark"},
            {"sources",
             {{{"url", train_url}, {"dest", "train.jsonl"}, {"sha256", train_sha}},
              {{"url", server_->url("files/gsm8k/test.jsonl")}, {"dest", "test.jsonl"}, {"sha256", sha("gsm8k/test.jsonl")}}}},
            {"splits", {{"train", "train.jsonl"}, {"eval", "test.jsonl"}, {"fewshot", "train.jsonl"}}}};
  }
  json arc_entry(const std::string& test_sha) const {
    json members = json::array();
    for (const std::string split : {"Train", "Dev", "Test"})
      members.push_back({{"from", "ARC-V1-Feb2018-2/ARC-Challenge/ARC-Challenge-" + split + ".jsonl"},
                         {"dest", "ARC-Challenge-" + split + ".jsonl"},
                         {"sha256", split == "Test" ? test_sha : arc_sha(split)}});
    return {{"name", "arc_challenge"},
            {"kind", "benchmark"},
            {"sources", {{{"url", server_->url("files/arc.zip")}, {"format", "zip"}, {"sha256", nullptr}, {"members", members}}}},
            {"splits", {{"train", "ARC-Challenge-Train.jsonl"}, {"eval", "ARC-Challenge-Test.jsonl"}, {"fewshot", "ARC-Challenge-Train.jsonl"}}}};
  }
  json mmlu_entry() const {
    json members = json::array();
    for (const std::string split : {"dev", "val", "test"})
      members.push_back({{"from", "data/" + split + "/*_" + split + ".csv"}, {"dest", split + "/"}, {"sha256", nullptr}});
    return {{"name", "mmlu"},
            {"kind", "benchmark"},
            {"sources", {{{"url", server_->url("redirect/data.tar")}, {"format", "tar"}, {"members", members}}}},
            {"splits", {{"train", "val"}, {"eval", "test"}, {"fewshot", "dev"}}}};
  }
  json model_entry(const std::string& url, const json& sha256) const {
    return {{"name", "tiny-model"},
            {"kind", "model"},
            {"sources", {{{"url", url}, {"dest", "model.pth"}, {"sha256", sha256}}}},
            {"file", "model.pth"}};
  }

  // Writes the catalogue; returns its path.
  std::string catalog(const std::vector<json>& entries) const {
    const fs::path path = dir_ / "catalog.json";
    json root = json::object();
    root["entries"] = json::array();
    for (const json& e : entries) root["entries"].push_back(e);
    write_text(path, root.dump(2));
    return path.string();
  }

  CommandResult fetch(const std::string& args) const {
    return run_command(fetch_env() + statetune_binary() + " fetch --cache '" + cache_.string() + "' --catalog '" +
                       (dir_ / "catalog.json").string() + "' " + args);
  }

  // Nothing of `name` in the cache: no entry folder, no partial folder, no lock.
  void expect_nothing_of(const std::string& name, const std::string& kind_folder) const {
    EXPECT_FALSE(fs::exists(cache_ / kind_folder / name)) << name;
    EXPECT_FALSE(fs::exists(cache_ / ".partial" / name)) << name;
    EXPECT_FALSE(fs::exists(cache_ / ".partial" / (name + ".lock"))) << name;
  }

  int requests_with_range(const std::string& range) const {
    int n = 0;
    for (const json& r : server_->requests())
      if (r["range"].is_string() && r["range"] == range) ++n;
    return n;
  }

  fs::path dir_, serve_, cache_;
  std::string log_;
  std::unique_ptr<LoopbackServer> server_;
};

TEST_F(FetchCli, FileAndArchiveEntriesLandVerifiedWithAManifest) {
  catalog({gsm8k_entry(server_->url("files/gsm8k/train.jsonl"), sha("gsm8k/train.jsonl")), arc_entry(arc_sha("Test"))});
  const CommandResult r = fetch("gsm8k arc_challenge");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("verified"), std::string::npos) << r.output;

  EXPECT_EQ(read_text(cache_ / "benchmarks/gsm8k/train.jsonl"), read_text(serve_ / "gsm8k/train.jsonl"));
  EXPECT_EQ(read_text(cache_ / "benchmarks/gsm8k/test.jsonl"), read_text(serve_ / "gsm8k/test.jsonl"));
  for (const std::string split : {"Train", "Dev", "Test"})
    EXPECT_EQ(sha256_of(cache_ / "benchmarks/arc_challenge" / ("ARC-Challenge-" + split + ".jsonl")), arc_sha(split));
  EXPECT_FALSE(fs::exists(cache_ / "benchmarks/arc_challenge/ARC-Easy-Test.jsonl"));  // not listed: not extracted
  EXPECT_FALSE(fs::exists(cache_ / ".partial/gsm8k"));

  const json manifest = json::parse(read_text(cache_ / "benchmarks/gsm8k/fetched.json"));
  EXPECT_EQ(manifest["name"], "gsm8k");
  EXPECT_EQ(manifest["kind"], "benchmark");
  ASSERT_EQ(manifest["files"].size(), 2u);
  EXPECT_EQ(manifest["files"][0]["sha256"], sha("gsm8k/train.jsonl"));
  EXPECT_EQ(manifest["files"][0]["sha256_was"], "pinned");
  EXPECT_EQ(manifest["files"][0]["url"], server_->url("files/gsm8k/train.jsonl"));
  EXPECT_FALSE(manifest["fetched_at"].get<std::string>().empty());
  const json arc = json::parse(read_text(cache_ / "benchmarks/arc_challenge/fetched.json"));
  EXPECT_EQ(arc["files"].size(), 3u);
  EXPECT_EQ(arc["sources"][0]["sha256"], sha("arc.zip"));  // the archive's own, as observed
  EXPECT_EQ(arc["sources"][0]["sha256_was"], "recorded");

  const fetch::BenchmarkFiles files = fetch::fetched_benchmark("arc_challenge", cache_);
  EXPECT_EQ(files.train, (cache_ / "benchmarks/arc_challenge/ARC-Challenge-Train.jsonl").string());
  EXPECT_EQ(files.eval, (cache_ / "benchmarks/arc_challenge/ARC-Challenge-Test.jsonl").string());
  EXPECT_EQ(files.fewshot, files.train);

  const CommandResult list = fetch("--list");
  ASSERT_EQ(list.code, 0) << list.output;
  EXPECT_NE(list.output.find("gsm8k          benchmark  cached"), std::string::npos) << list.output;
  EXPECT_NE(list.output.find("arc_challenge  benchmark  cached"), std::string::npos) << list.output;

  const CommandResult again = fetch("gsm8k");  // cached: nothing downloaded again
  const size_t before = server_->requests().size();
  EXPECT_EQ(again.code, 0) << again.output;
  EXPECT_NE(again.output.find("already in the cache"), std::string::npos) << again.output;
  EXPECT_EQ(server_->requests().size(), before);
}

TEST_F(FetchCli, PatternMembersThroughARedirectAreRecordedWhenTrusted) {
  catalog({mmlu_entry()});
  const CommandResult refused = fetch("mmlu");
  EXPECT_EQ(refused.code, 1) << refused.output;
  EXPECT_NE(refused.output.find("no pinned sha256 is known for data/dev/*_dev.csv"), std::string::npos) << refused.output;
  EXPECT_TRUE(server_->requests().empty());

  const CommandResult r = fetch("mmlu --trust-unpinned");
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* split : {"dev", "val", "test"})
    for (const char* subject : {"anatomy", "virology"})
      EXPECT_TRUE(fs::exists(cache_ / "benchmarks/mmlu" / split / (std::string(subject) + "_" + split + ".csv")));
  const json manifest = json::parse(read_text(cache_ / "benchmarks/mmlu/fetched.json"));
  EXPECT_EQ(manifest["files"].size(), 6u);
  for (const json& f : manifest["files"]) EXPECT_EQ(f["sha256_was"], "recorded");
  const fetch::BenchmarkFiles files = fetch::fetched_benchmark("mmlu", cache_);
  EXPECT_EQ(files.train, (cache_ / "benchmarks/mmlu/val").string());
  EXPECT_EQ(files.fewshot, (cache_ / "benchmarks/mmlu/dev").string());
}

TEST_F(FetchCli, WrongChecksumIsRefusedAndLeavesNothing) {
  const std::string wrong(64, 'a');
  catalog({gsm8k_entry(server_->url("files/gsm8k/train.jsonl"), wrong)});
  const CommandResult r = fetch("gsm8k");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("train.jsonl"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("sha256 mismatch: expected " + wrong + ", got " + sha("gsm8k/train.jsonl")), std::string::npos)
      << r.output;
  expect_nothing_of("gsm8k", "benchmarks");
  expect_error([&] { fetch::fetched_benchmark("gsm8k", cache_); }, "is not in the cache");
}

TEST_F(FetchCli, WrongChecksumOfAnArchiveMemberLeavesNothing) {
  catalog({arc_entry(std::string(64, 'b'))});
  const CommandResult r = fetch("arc_challenge");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("member ARC-V1-Feb2018-2/ARC-Challenge/ARC-Challenge-Test.jsonl: sha256 mismatch: expected " +
                          std::string(64, 'b') + ", got " + arc_sha("Test")),
            std::string::npos)
      << r.output;
  expect_nothing_of("arc_challenge", "benchmarks");
}

TEST_F(FetchCli, TruncatedTransferKeepsThePartAndResumesWithARange) {
  catalog({gsm8k_entry(server_->url("cut/100000/gsm8k/train.jsonl"), sha("gsm8k/train.jsonl"))});
  const uint64_t size = fs::file_size(serve_ / "gsm8k/train.jsonl");
  const CommandResult first = fetch("gsm8k");
  EXPECT_EQ(first.code, 1) << first.output;
  EXPECT_NE(first.output.find("100000 of " + std::to_string(size) + " bytes kept"), std::string::npos) << first.output;
  EXPECT_NE(first.output.find("rerun `statetune fetch gsm8k` to resume"), std::string::npos) << first.output;
  EXPECT_EQ(fs::file_size(cache_ / ".partial/gsm8k/train.jsonl.part"), 100000u);
  EXPECT_FALSE(fs::exists(cache_ / "benchmarks/gsm8k/fetched.json"));
  EXPECT_NE(fetch("--list").output.find("gsm8k  benchmark  partial"), std::string::npos);

  const CommandResult second = fetch("gsm8k");
  ASSERT_EQ(second.code, 0) << second.output;
  EXPECT_EQ(requests_with_range("bytes=100000-"), 1) << "the second run did not ask for the rest with a Range request";
  EXPECT_EQ(sha256_of(cache_ / "benchmarks/gsm8k/train.jsonl"), sha("gsm8k/train.jsonl"));
  EXPECT_FALSE(fs::exists(cache_ / ".partial/gsm8k"));
}

TEST_F(FetchCli, AServerThatIgnoresRangeGetsTheWholeFileAgain) {
  write_text(cache_ / ".partial/gsm8k/train.jsonl.part", "garbage that is not a prefix of the file");
  catalog({gsm8k_entry(server_->url("norange/gsm8k/train.jsonl"), sha("gsm8k/train.jsonl"))});
  const CommandResult r = fetch("gsm8k");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("did not resume at byte 40 (HTTP 200); downloading it whole again"), std::string::npos) << r.output;
  EXPECT_EQ(sha256_of(cache_ / "benchmarks/gsm8k/train.jsonl"), sha("gsm8k/train.jsonl"));
}

TEST_F(FetchCli, NotFoundNamesTheUrlAndLeavesNothing) {
  catalog({gsm8k_entry(server_->url("404/gsm8k/train.jsonl"), sha("gsm8k/train.jsonl"))});
  const CommandResult r = fetch("gsm8k");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find(server_->url("404/gsm8k/train.jsonl") + ": HTTP 404 (not found)"), std::string::npos) << r.output;
  expect_nothing_of("gsm8k", "benchmarks");
}

TEST_F(FetchCli, AnUnreachableServerLeavesNothing) {
  const std::string url = server_->url("files/gsm8k/train.jsonl");
  server_->stop();  // nobody listens on that port now
  catalog({gsm8k_entry(url, sha("gsm8k/train.jsonl"))});
  const CommandResult r = fetch("gsm8k");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find(url + ": "), std::string::npos) << r.output;
  expect_nothing_of("gsm8k", "benchmarks");  // no empty partial folder either
}

TEST_F(FetchCli, ServerVanishingMidFileKeepsThePartForALaterResume) {
  const std::string pin = sha("model.pth");
  catalog({model_entry(server_->url("vanish/50000/model.pth"), pin)});
  const CommandResult first = fetch("tiny-model");
  EXPECT_EQ(first.code, 1) << first.output;
  EXPECT_NE(first.output.find("50000 of 200000 bytes kept"), std::string::npos) << first.output;
  EXPECT_NE(first.output.find("rerun `statetune fetch tiny-model` to resume"), std::string::npos) << first.output;
  EXPECT_FALSE(server_->running());
  EXPECT_EQ(fs::file_size(cache_ / ".partial/tiny-model/model.pth.part"), 50000u);
  EXPECT_FALSE(fs::exists(cache_ / ".partial/tiny-model.lock"));

  const CommandResult unreachable = fetch("tiny-model");  // nobody listens any more
  EXPECT_EQ(unreachable.code, 1) << unreachable.output;
  EXPECT_EQ(fs::file_size(cache_ / ".partial/tiny-model/model.pth.part"), 50000u);

  server_ = std::make_unique<LoopbackServer>(serve_.string(), log_);  // back, on another port
  catalog({model_entry(server_->url("files/model.pth"), pin)});
  const CommandResult second = fetch("tiny-model");
  ASSERT_EQ(second.code, 0) << second.output;
  EXPECT_NE(second.output.find("resuming at byte 50000"), std::string::npos) << second.output;
  EXPECT_EQ(requests_with_range("bytes=50000-"), 1);
  EXPECT_EQ(fetch::fetched_file("tiny-model", cache_), (cache_ / "models/tiny-model/model.pth").string());
  EXPECT_EQ(sha256_of(fetch::fetched_file("tiny-model", cache_)), pin);
}

TEST_F(FetchCli, AStalledTransferIsGivenUpWithThePartKept) {
  catalog({model_entry(server_->url("stall/3000/model.pth"), sha("model.pth"))});
  const CommandResult r = run_command("STATETUNE_FETCH_STALL_SECONDS=2 " + fetch_env() + statetune_binary() +
                                      " fetch tiny-model --cache '" + cache_.string() + "' --catalog '" +
                                      (dir_ / "catalog.json").string() + "'");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("3000 of 200000 bytes kept"), std::string::npos) << r.output;
  EXPECT_EQ(fs::file_size(cache_ / ".partial/tiny-model/model.pth.part"), 3000u);
}

TEST_F(FetchCli, AnUncreatableCacheIsNamedBeforeAnyNetworkActivity) {
  write_text(dir_ / "a_file", "not a folder");  // root ignores permissions: a file in the way cannot be
  catalog({gsm8k_entry(server_->url("files/gsm8k/train.jsonl"), sha("gsm8k/train.jsonl"))});
  const std::string bad = (dir_ / "a_file/cache").string();
  const CommandResult r = run_command(fetch_env() + statetune_binary() + " fetch gsm8k --cache '" + bad + "' --catalog '" +
                                      (dir_ / "catalog.json").string() + "'");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("cache folder " + bad), std::string::npos) << r.output;
  EXPECT_NE(r.output.find((dir_ / "a_file").string() + " is a file, not a folder"), std::string::npos) << r.output;
  EXPECT_TRUE(server_->requests().empty());
}

TEST_F(FetchCli, UnpinnedIsRefusedUnlessTrustedAndThenItsHashIsRecorded) {
  catalog({model_entry(server_->url("files/model.pth"), nullptr)});
  const CommandResult refused = fetch("tiny-model");
  EXPECT_EQ(refused.code, 1) << refused.output;
  EXPECT_NE(refused.output.find("no pinned sha256 is known for model.pth"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("never reached"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("--trust-unpinned"), std::string::npos) << refused.output;
  EXPECT_TRUE(server_->requests().empty());
  expect_nothing_of("tiny-model", "models");

  const CommandResult trusted = fetch("tiny-model --trust-unpinned");
  ASSERT_EQ(trusted.code, 0) << trusted.output;
  const std::string observed = sha("model.pth");
  EXPECT_NE(trusted.output.find("sha256 " + observed + " recorded"), std::string::npos) << trusted.output;
  const json manifest = json::parse(read_text(cache_ / "models/tiny-model/fetched.json"));
  EXPECT_EQ(manifest["files"][0]["sha256"], observed);
  EXPECT_EQ(manifest["files"][0]["sha256_was"], "recorded");
  EXPECT_EQ(manifest["file"], "model.pth");
  EXPECT_NE(fetch("--list").output.find("tiny-model  model  cached  recorded"), std::string::npos) << fetch("--list").output;
}

TEST_F(FetchCli, TheCatalogueAndCacheComeFromTheEnvironmentToo) {
  const std::string path = catalog({model_entry(server_->url("files/model.pth"), sha("model.pth"))});
  const CommandResult r = run_command(fetch_env() + "STATETUNE_FETCH_CATALOG='" + path + "' STATETUNE_CACHE='" +
                                      cache_.string() + "' " + statetune_binary() + " fetch tiny-model");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(cache_ / "models/tiny-model/fetched.json"));
  EXPECT_NE(r.output.find((cache_ / "models/tiny-model").string()), std::string::npos) << r.output;
}

TEST_F(FetchCli, TwoConcurrentFetchesOfOneEntryDownloadItOnce) {
  catalog({model_entry(server_->url("slow/20/model.pth"), sha("model.pth"))});
  const std::string one = fetch_env() + statetune_binary() + " fetch tiny-model --cache '" + cache_.string() +
                          "' --catalog '" + (dir_ / "catalog.json").string() + "'";
  const CommandResult r = run_command("(" + one + " > '" + (dir_ / "out1").string() + "' 2>&1; echo $? > '" +
                                      (dir_ / "rc1").string() + "') & (" + one + " > '" + (dir_ / "out2").string() +
                                      "' 2>&1; echo $? > '" + (dir_ / "rc2").string() + "') & wait");
  EXPECT_EQ(read_text(dir_ / "rc1"), "0\n") << read_text(dir_ / "out1");
  EXPECT_EQ(read_text(dir_ / "rc2"), "0\n") << read_text(dir_ / "out2");
  int gets = 0;
  for (const json& q : server_->requests()) gets += q["path"] == "/slow/20/model.pth";
  EXPECT_EQ(gets, 1) << read_text(dir_ / "out1") << read_text(dir_ / "out2");
  EXPECT_EQ(sha256_of(cache_ / "models/tiny-model/model.pth"), sha("model.pth"));
  EXPECT_FALSE(fs::exists(cache_ / ".partial/tiny-model.lock"));
}

TEST_F(FetchCli, UnknownNamesGetADidYouMeanAndUsageExit) {
  catalog({gsm8k_entry(server_->url("files/gsm8k/train.jsonl"), sha("gsm8k/train.jsonl"))});
  const CommandResult r = fetch("gsm8");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("unknown name 'gsm8' (did you mean 'gsm8k'?)"), std::string::npos) << r.output;
  const CommandResult none = fetch("");
  EXPECT_EQ(none.code, 2) << none.output;
}

}  // namespace
}  // namespace statetune::testing
