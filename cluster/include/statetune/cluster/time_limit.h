#pragma once
// Slurm's time-limit formats (sbatch --time): "MM", "MM:SS", "HH:MM:SS", "D-HH",
// "D-HH:MM", "D-HH:MM:SS".
#include <cstdint>
#include <optional>
#include <string>

namespace statetune::cluster {

// Seconds of a time limit; nullopt when the text is not one of the formats.
std::optional<std::int64_t> parse_time_limit(const std::string& text);

}  // namespace statetune::cluster
