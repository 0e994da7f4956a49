#include "python_literal.h"

#include <cstdint>

#include "statetune/common/error.h"

namespace statetune::data::detail {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads exactly `digits` hex digits at body[i...] (Python requires all of them).
uint32_t read_hex(std::string_view body, size_t i, size_t digits, char escape) {
  if (i + digits > body.size()) fail("\\{} needs {} hex digits", escape, digits);
  uint32_t value = 0;
  for (size_t k = 0; k < digits; ++k) {
    const int h = hex_value(body[i + k]);
    if (h < 0) fail("\\{} needs {} hex digits, got '{}'", escape, digits, body.substr(i, digits));
    value = value * 16 + static_cast<uint32_t>(h);
  }
  return value;
}

void append_utf8(uint32_t cp, std::string& out) {
  // Python str cannot be UTF-8 encoded when it holds a lone surrogate.
  if (cp >= 0xD800 && cp <= 0xDFFF) fail("surrogate U+{:04X} cannot be encoded as UTF-8", cp);
  if (cp > 0x10FFFF) fail("code point U+{:X} is beyond U+10FFFF", cp);
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

std::string decode_python_literal(std::string_view literal) {
  const bool is_bytes = !literal.empty() && literal[0] == 'b';
  const size_t open = is_bytes ? 1 : 0;
  if (open >= literal.size() || (literal[open] != '\'' && literal[open] != '"')) {
    fail("expected a Python literal 'text' or b'bytes'");
  }
  const char quote = literal[open];
  if (literal.size() < open + 2 || literal.back() != quote) fail("no closing {} quote", quote);
  const std::string_view body = literal.substr(open + 1, literal.size() - open - 2);

  // A str escape yields a code point (UTF-8 encoded); a bytes escape yields one byte.
  std::string out;
  auto append_value = [&](uint32_t value) {
    if (!is_bytes) {
      append_utf8(value, out);
    } else {
      if (value > 0xFF) fail("escape value {} does not fit a byte in a bytes literal", value);
      out += static_cast<char>(value);
    }
  };

  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    // An unescaped quote would have ended the literal: what follows it is not part of a literal.
    if (c == quote) fail("unescaped {} inside the literal", quote);
    if (c != '\\') {
      if (is_bytes && static_cast<unsigned char>(c) >= 0x80) {
        fail("non-ASCII byte 0x{:02X} in a bytes literal (Python requires \\x escapes)",
             static_cast<unsigned char>(c));
      }
      out += c;
      continue;
    }
    if (++i == body.size()) fail("lone backslash at the end of the literal");
    const char e = body[i];
    switch (e) {
      case '\\': case '\'': case '"': out += e; break;
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case 'x': append_value(read_hex(body, i + 1, 2, e)); i += 2; break;
      case 'u':
      case 'U': {
        if (is_bytes) fail("\\{} is not an escape in a bytes literal", e);
        const size_t digits = e == 'u' ? 4 : 8;
        append_utf8(read_hex(body, i + 1, digits, e), out);
        i += digits;
        break;
      }
      default: {
        // Octal: one to three digits.
        if (e < '0' || e > '7') {
          // Python would keep an unknown escape verbatim, but repr() never writes one, so in a
          // vocab file it signals corruption.
          fail("unknown escape \\{}", e);
        }
        uint32_t value = 0;
        size_t k = i;
        for (; k < body.size() && k < i + 3 && body[k] >= '0' && body[k] <= '7'; ++k) {
          value = value * 8 + static_cast<uint32_t>(body[k] - '0');
        }
        append_value(value);
        i = k - 1;
      }
    }
  }

  if (!is_bytes) {
    // Escapes always produce valid UTF-8, so this catches raw bytes that are not UTF-8.
    for (size_t pos = 0; pos < out.size();) {
      const Utf8Step step = utf8_step(out, pos);
      if (step.status != Utf8Status::kValid) fail("str literal is not valid UTF-8 (at byte {})", pos);
      pos += step.length;
    }
  }
  return out;
}

Utf8Step utf8_step(std::string_view s, size_t pos) {
  const auto b0 = static_cast<uint8_t>(s[pos]);
  if (b0 < 0x80) return {Utf8Status::kValid, 1};
  // Sequence length and the allowed range of the second byte (later bytes are 80..BF).
  size_t need = 0;
  uint8_t lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return {Utf8Status::kInvalid, 1};  // continuation byte, C0/C1, F5..FF
  }
  for (size_t i = 1; i < need; ++i) {
    if (pos + i >= s.size()) return {Utf8Status::kIncomplete, i};
    const auto b = static_cast<uint8_t>(s[pos + i]);
    if (b < lo || b > hi) return {Utf8Status::kInvalid, i};
    lo = 0x80;
    hi = 0xBF;
  }
  return {Utf8Status::kValid, need};
}

}  // namespace statetune::data::detail
