#pragma once
// FNV-1a, 64 bit: a stable hash of bytes. A run's identity must not change across
// compilers, platforms or releases (std::hash promises none of that), and must not need a
// dependency; FNV-1a is a few lines and is well specified.
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace statetune {

inline constexpr std::uint64_t kFnv1a64Basis = 0xcbf29ce484222325ull;  // the FNV-1a 64-bit offset basis

// `hash`: where an earlier call left off, to hash a sequence of pieces as one.
constexpr std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t hash = kFnv1a64Basis) {
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;  // the FNV 64-bit prime
  }
  return hash;
}

// 16 lower-case hex digits, zero-padded: how hashes are printed and stored.
inline std::string hex16(std::uint64_t value) { return fmt::format("{:016x}", value); }

}  // namespace statetune
