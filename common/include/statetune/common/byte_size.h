#pragma once
// A byte count as people read it: "512 B", "1.5 KiB", "364.5 MiB", "2.91 GiB".
#include <cstdint>
#include <string>

namespace statetune {

std::string byte_size_text(std::uint64_t bytes);

}  // namespace statetune
