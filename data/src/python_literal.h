#pragma once
// Internal to the data module: decoding the Python literals of the RWKV vocab file, and the
// UTF-8 well-formedness step shared by that decoder and Utf8StreamDecoder.
#include <cstddef>
#include <string>
#include <string_view>

namespace statetune::data::detail {

// Decodes a Python str literal ('..' or "..", returned UTF-8 encoded) or bytes literal (b'..' or
// b"..", returned as raw bytes), as written by repr(). Throws statetune::Error with a message
// saying what was wrong (no file or line: the caller adds them).
std::string decode_python_literal(std::string_view literal);

enum class Utf8Status { kValid, kInvalid, kIncomplete };
struct Utf8Step {
  Utf8Status status;
  size_t length;  // kValid: the sequence; kInvalid: the maximal ill-formed subpart (one U+FFFD);
                  // kIncomplete: the bytes up to the end of s, a valid start of a sequence
};
// Examines the UTF-8 sequence starting at s[pos] (pos < s.size()), per Unicode table 3-7:
// no overlongs, no surrogates, nothing above U+10FFFF.
Utf8Step utf8_step(std::string_view s, size_t pos);

}  // namespace statetune::data::detail
