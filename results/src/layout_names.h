#pragma once
// The names of layout.h, in one place, for the writer, the reader and merge.
namespace statetune::results::names {

// root attributes
inline constexpr const char* kFormatVersion = "format_version";
inline constexpr const char* kStudyName = "study_name";
inline constexpr const char* kSweepYaml = "sweep_yaml";
inline constexpr const char* kStatetuneVersion = "statetune_version";
inline constexpr const char* kCreated = "created";
inline constexpr const char* kUpdated = "updated";

// groups
inline constexpr const char* kStudyGroup = "study";
inline constexpr const char* kRunsGroup = "runs";
inline constexpr const char* kAxesGroup = "axes";
inline constexpr const char* kConfigGroup = "config";
inline constexpr const char* kMetricsGroup = "metrics";
inline constexpr const char* kEvalGroup = "eval";
inline constexpr const char* kItemsGroup = "items";
inline constexpr const char* kStateGroup = "state";

// run attributes
inline constexpr const char* kStatus = "status";
inline constexpr const char* kConfigYaml = "config_yaml";
inline constexpr const char* kCanonicalText = "canonical_text";
inline constexpr const char* kMethod = "method";
inline constexpr const char* kAttempts = "attempts";
inline constexpr const char* kStarted = "started";
inline constexpr const char* kFinished = "finished";
inline constexpr const char* kWallSeconds = "wall_seconds";
inline constexpr const char* kRanks = "ranks";
inline constexpr const char* kHost = "host";
inline constexpr const char* kMessage = "message";
inline constexpr const char* kTunedStatePath = "tuned_state_path";
inline constexpr const char* kBaseline = "baseline";  // format 2

}  // namespace statetune::results::names
