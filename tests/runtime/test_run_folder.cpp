// Run folders: staging and rename, run.json (format version, stages, checksums) checked on resume, the
// end-of-run hooks, stale partial folders.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/error.h"
#include "runtime/fs_util.h"
#include "runtime/run_folder.h"
#include "tests/support/helpers.h"

using namespace ad;
namespace fs = std::filesystem;
using ad::test::error_of;
using ad::test::TempDir;

#define EXPECT_HAS(msg, part) EXPECT_NE((msg).find(part), std::string::npos) << "message: " << (msg)

namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Makes a finished run with stage "train" and one result file; returns its final path.
std::string finished_run(const TempDir& d) {
  RunFolder run({"test", d.path("runs"), "", "train"});
  EXPECT_TRUE(run.is_new());
  EXPECT_NE(run.path().find(".partial-" + std::to_string(::getpid())), std::string::npos);
  run.record_start("s.json", {{"epochs", 3}}, 7, Device::CPU);
  write_text_atomic(run.file("weights.bin"), std::string("\x01\x02\x03\0", 4));
  std::string final_dir = run.finish();
  EXPECT_FALSE(fs::exists(run.path() + ".partial-" + std::to_string(::getpid())));
  return final_dir;
}
}  // namespace

TEST(RunFolder, NewRunIsRenamedAndRecordsSettingsAndChecksums) {
  TempDir d;
  std::string dir = finished_run(d);
  ASSERT_TRUE(fs::is_directory(dir));
  EXPECT_EQ(dir.find(".partial-"), std::string::npos);
  auto start = nlohmann::json::parse(read_bytes(dir + "/run_train.json"));
  EXPECT_EQ(start["seed"], 7);
  EXPECT_EQ(start["settings"]["epochs"], 3);
  EXPECT_EQ(start["device"], "cpu");
  EXPECT_EQ(start["format_version"], kRunFormatVersion);
  auto run = nlohmann::json::parse(read_bytes(dir + "/run.json"));
  EXPECT_EQ(run["format_version"], kRunFormatVersion);
  EXPECT_EQ(run["stages"], nlohmann::json::array({"train"}));
  EXPECT_EQ(run["files"]["weights.bin"]["bytes"], 4);
  EXPECT_EQ(run["files"]["weights.bin"]["crc32"].get<std::string>().size(), 8u);
  EXPECT_TRUE(run["files"].contains("run_train.json"));
  EXPECT_FALSE(run["files"].contains("run.json"));
}

TEST(RunFolder, ResumeAddsStageAndHooksRunBeforeChecksums) {
  TempDir d;
  std::string dir = finished_run(d);
  {
    RunFolder run({"test", d.path("runs"), dir, "test"});
    EXPECT_FALSE(run.is_new());
    EXPECT_EQ(run.stages_done(), std::vector<std::string>{"train"});
    write_text_atomic(run.file("scores.csv"), "a\n1\n");
    std::string seen;
    run.on_finish([&](const std::string& p) {
      seen = p;
      write_text_atomic(p + "/plot.txt", "plot");
    });
    EXPECT_EQ(run.finish(), dir);
    EXPECT_EQ(seen, dir);
  }
  auto run = nlohmann::json::parse(read_bytes(dir + "/run.json"));
  EXPECT_EQ(run["stages"], nlohmann::json::array({"train", "test"}));
  EXPECT_TRUE(run["files"].contains("plot.txt"));
  EXPECT_TRUE(run["files"].contains("scores.csv"));
}

// plots/ and report.html are drawn again at every finish, and by hand (tools/plot_<model>.py): redrawing
// them must not make the run look tampered with, while a changed result file still does.
TEST(RunFolder, PicturesAreNotChecksummed) {
  TempDir d;
  std::string dir;
  {
    RunFolder run({"test", d.path("runs"), "", "train"});
    write_text_atomic(run.file("scores.csv"), "a\n1\n");
    run.on_finish([](const std::string& p) {
      fs::create_directories(p + "/plots");
      write_text_atomic(p + "/plots/loss.png", "png");
      write_text_atomic(p + "/report.html", "<html>");
    });
    dir = run.finish();
  }
  auto j = nlohmann::json::parse(read_bytes(dir + "/run.json"));
  EXPECT_TRUE(j["files"].contains("scores.csv"));
  EXPECT_FALSE(j["files"].contains("plots/loss.png"));
  EXPECT_FALSE(j["files"].contains("report.html"));
  write_text_atomic(dir + "/plots/loss.png", "redrawn png");
  write_text_atomic(dir + "/report.html", "<html>redrawn");
  EXPECT_NO_THROW(RunFolder({"test", d.path("runs"), dir, "test"}));
  write_text_atomic(dir + "/scores.csv", "a\n2\n");
  EXPECT_HAS(error_of([&] { RunFolder({"test", d.path("runs"), dir, "test"}); }), "scores.csv: CRC-32");
}

TEST(RunFolderErrors, ResumeRefusesChangedFilesAndOtherVersions) {
  TempDir d;
  std::string dir = finished_run(d);
  const std::string run_json = read_bytes(dir + "/run.json");
  // Same size, one byte changed.
  write_text_atomic(dir + "/weights.bin", std::string("\x01\x02\x04\0", 4));
  std::string msg = error_of([&] { RunFolder({"prog", d.path("runs"), dir, "test"}); });
  EXPECT_HAS(msg, "prog: " + dir + "/weights.bin: CRC-32");
  EXPECT_HAS(msg, "changed since the run finished");
  write_text_atomic(dir + "/weights.bin", "x");
  EXPECT_HAS(error_of([&] { RunFolder({"prog", "", dir, "test"}); }), "weights.bin: 1 bytes, run.json records 4");
  fs::remove(dir + "/weights.bin");
  EXPECT_HAS(error_of([&] { RunFolder({"prog", "", dir, "test"}); }), "weights.bin: listed in run.json but missing");
  // Another format version.
  auto j = nlohmann::json::parse(run_json);
  j["format_version"] = kRunFormatVersion + 1;
  write_text_atomic(dir + "/run.json", j.dump());
  EXPECT_HAS(error_of([&] { RunFolder({"prog", "", dir, "test"}); }), "run.json: format_version: " +
                                                                         std::to_string(kRunFormatVersion + 1));
  j["format_version"] = kRunFormatVersion;
  j["files"]["../outside"] = {{"bytes", 1}, {"crc32", "00000000"}};
  write_text_atomic(dir + "/run.json", j.dump());
  EXPECT_HAS(error_of([&] { RunFolder({"prog", "", dir, "test"}); }), "not a path inside the run folder");
  write_text_atomic(dir + "/run.json", "{\"format_version\": 1, \"files\": ");
  EXPECT_HAS(error_of([&] { RunFolder({"prog", "", dir, "test"}); }), "run.json: invalid JSON");
  fs::remove(dir + "/run.json");
  EXPECT_HAS(error_of([&] { RunFolder({"prog", "", dir, "test"}); }), "run.json: missing");
  EXPECT_HAS(error_of([&] { RunFolder({"prog", "", d.path("nope"), "test"}); }), "is not a folder");
}

TEST(RunFolderErrors, FailedStageRemovesNewRunAndMarksResumedRun) {
  TempDir d;
  std::string partial;
  try {
    RunFolder run({"test", d.path("runs"), "", "all"});
    partial = run.path();
    write_text_atomic(run.file("half.bin"), "x");
    run.on_finish([](const std::string&) { throw Error("plot failed"); });
    run.finish();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "plot failed");
  }
  EXPECT_FALSE(fs::exists(partial));
  EXPECT_TRUE(fs::is_empty(d.path("runs")));

  std::string dir = finished_run(d);
  try {
    RunFolder run({"test", "", dir, "train"});
    write_text_atomic(run.file("weights.bin"), "retrained, then failed");
    throw Error("diverged");
  } catch (const Error&) {
  }
  auto j = nlohmann::json::parse(read_bytes(dir + "/run.json"));
  EXPECT_EQ(j["failed_stage"], "train");
  EXPECT_EQ(j["stages"], nlohmann::json::array());
  RunFolder again({"test", "", dir, "train"});  // the failed stage's own files do not block a rerun
  EXPECT_TRUE(again.stages_done().empty());
}

// Two runs started in the same second stage under one timestamp (different pids): the one that finishes
// second takes "<timestamp>-2" instead of failing, and the first is untouched.
TEST(RunFolder, RunsStartedInTheSameSecondGetDistinctFolders) {
  TempDir d;
  RunFolder run({"test", d.path("runs"), "", "all"});
  const std::string partial = run.path();
  const std::string name = partial.substr(0, partial.rfind(".partial-"));
  fs::create_directories(name);  // the other run finished first under the same name
  write_text_atomic(name + "/run.json", "{\"other\": 1}");
  write_text_atomic(run.file("scores.csv"), "id,s\n");
  const std::string final_dir = run.finish();
  EXPECT_EQ(final_dir, name + "-2");
  EXPECT_EQ(read_bytes(final_dir + "/scores.csv"), "id,s\n");
  EXPECT_EQ(read_bytes(name + "/run.json"), "{\"other\": 1}");
  EXPECT_FALSE(fs::exists(partial));
  verify_run_folder(final_dir, "test");  // its run.json was written before the rename, under either name
}

TEST(RunFolder, StalePartialsAreReportedAndRemovedOnRequest) {
  TempDir d;
  const std::string runs = d.path("runs");
  // pid 2^22+1 is above Linux's pid_max limit, so no process has it.
  const std::string stale = runs + "/20260101-000000.partial-4194305";
  const std::string live = runs + "/20260101-000001.partial-" + std::to_string(::getpid());
  fs::create_directories(stale);
  fs::create_directories(live);
  auto found = find_stale_partials(runs);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].path, stale);
  EXPECT_EQ(found[0].pid, 4194305);
  std::ostringstream log;
  { RunFolder run({"test", runs, "", "all"}, &log); }
  EXPECT_HAS(log.str(), "note: stale partial run folder " + stale);
  EXPECT_TRUE(fs::exists(stale));
  std::ostringstream log2;
  { RunFolder run({"test", runs, "", "all", /*remove_stale_partials=*/true}, &log2); }
  EXPECT_HAS(log2.str(), "removed stale partial run folder " + stale);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(live));
}

namespace {
// A finished "all" run of a three-stage program; returns its path.
std::string three_stage_run(const TempDir& d) {
  RunOptions o{"prog", d.path("runs"), "", "all"};
  o.stage_order = {"train", "alpha", "test"};
  RunFolder run(o);
  run.record_start("s.json", nlohmann::json::object(), 1, Device::CPU);
  run.begin_stage("train");
  write_text_atomic(run.file("checkpoint.bin"), "weights");
  run.begin_stage("alpha");
  write_text_atomic(run.file("alphas.json"), "{}");
  run.begin_stage("test");
  write_text_atomic(run.file("scores.csv"), "id,s\n");
  return run.finish();
}
RunOptions resume(const std::string& dir, const std::string& stage, bool force = false) {
  RunOptions o{"prog", "", dir, stage};
  o.stage_order = {"train", "alpha", "test"};
  o.force = force;
  return o;
}
}  // namespace

TEST(RunFolder, StageOutputsAreRecordedAndLaterStagesRemovedOnRerun) {
  TempDir d;
  const std::string dir = three_stage_run(d);
  auto j = nlohmann::json::parse(read_bytes(dir + "/run.json"));
  EXPECT_EQ(j["stages"], nlohmann::json::array({"train", "alpha", "test"}));
  EXPECT_EQ(j["outputs"]["train"], nlohmann::json::array({"checkpoint.bin"}));
  EXPECT_EQ(j["outputs"]["alpha"], nlohmann::json::array({"alphas.json"}));
  EXPECT_EQ(j["outputs"]["test"], nlohmann::json::array({"scores.csv"}));
  {
    std::ostringstream log;
    RunFolder run(resume(dir, "alpha"), &log);
    EXPECT_HAS(log.str(), "removed 2 result files of stage alpha and later stages");
    EXPECT_FALSE(fs::exists(dir + "/scores.csv"));  // depended on the old alphas
    EXPECT_FALSE(fs::exists(dir + "/alphas.json"));
    EXPECT_TRUE(fs::exists(dir + "/checkpoint.bin"));
    EXPECT_EQ(run.stages_done(), std::vector<std::string>{"train"});
    run.begin_stage("alpha");
    write_text_atomic(run.file("alphas.json"), "{\"new\": 1}");
    run.finish();
  }
  j = nlohmann::json::parse(read_bytes(dir + "/run.json"));
  EXPECT_EQ(j["stages"], nlohmann::json::array({"train", "alpha"}));
  EXPECT_FALSE(j["outputs"].contains("test"));
  EXPECT_FALSE(j.contains("failed_stage"));
  RunFolder check(resume(dir, "test"));  // checksums match after the removal and the rerun
}

TEST(RunFolderErrors, RerunningTheFirstStageNeedsForce) {
  TempDir d;
  const std::string dir = three_stage_run(d);
  std::string msg = error_of([&] { RunFolder run(resume(dir, "train")); });
  EXPECT_HAS(msg, "prog: " + dir + ": stage train is already done in this run");
  EXPECT_HAS(msg, "pass --force");
  EXPECT_HAS(error_of([&] { RunFolder run(resume(dir, "all")); }), "stage train is already done");
  EXPECT_TRUE(fs::exists(dir + "/checkpoint.bin"));  // refused: nothing removed
  {
    RunFolder run(resume(dir, "train", /*force=*/true));
    EXPECT_FALSE(fs::exists(dir + "/checkpoint.bin"));
    EXPECT_FALSE(fs::exists(dir + "/alphas.json"));
    EXPECT_FALSE(fs::exists(dir + "/scores.csv"));
    EXPECT_TRUE(fs::exists(dir + "/run_all.json"));  // the settings echo of the first invocation stays
    // Ends without finish(): run.json already says train is not done, and matches the folder.
  }
  auto j = nlohmann::json::parse(read_bytes(dir + "/run.json"));
  EXPECT_EQ(j["failed_stage"], "train");
  EXPECT_EQ(j["stages"], nlohmann::json::array());
  RunFolder again(resume(dir, "train"));  // not done any more: no --force needed
}
