// sha256 (OpenSSL EVP) and the progress line.
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <vector>

#include "download_parts.h"
#include "statetune/common/byte_size.h"
#include "statetune/common/error.h"

namespace statetune::fetch::detail {

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  ST_CHECK(impl_->ctx != nullptr, "sha256: out of memory");
  reset();
}

Sha256::~Sha256() { EVP_MD_CTX_free(impl_->ctx); }

void Sha256::reset() { ST_CHECK(EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) == 1, "sha256: init failed"); }

void Sha256::update(const void* data, size_t size) {
  ST_CHECK(EVP_DigestUpdate(impl_->ctx, data, size) == 1, "sha256: update failed");
}

std::string Sha256::hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  ST_CHECK(EVP_DigestFinal_ex(impl_->ctx, digest, &length) == 1, "sha256: final failed");
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += digits[digest[i] >> 4];
    out += digits[digest[i] & 15];
  }
  return out;
}

std::string sha256_file(const std::filesystem::path& path, uint64_t* bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open for reading: {}", path.string(), std::strerror(errno));
  Sha256 sha;
  std::vector<char> buffer(1 << 20);
  uint64_t total = 0;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const std::streamsize n = in.gcount();
    if (n <= 0) break;
    sha.update(buffer.data(), static_cast<size_t>(n));
    total += static_cast<uint64_t>(n);
  }
  if (in.bad()) fail("{}: read error", path.string());
  if (bytes != nullptr) *bytes = total;
  return sha.hex();
}

std::string verified_line(const std::string& label, uint64_t bytes, const std::string& sha256, bool pinned) {
  if (pinned) return fmt::format("{}: {}, sha256 {} verified (matches the catalogue's pin)", label, byte_size_text(bytes), sha256);
  return fmt::format("{}: {}, sha256 {} recorded in the manifest (no pin was known: trust on first use; compare it "
                     "with the publisher's page)",
                     label, byte_size_text(bytes), sha256);
}

Progress::Progress(std::string label) : label_(std::move(label)), tty_(::isatty(STDERR_FILENO) == 1) {}

std::string Progress::line(uint64_t now, uint64_t total, double rate) const {
  const bool big = std::max(now, total) >= (1u << 20);  // MiB for big files, KiB for small ones
  const double unit = big ? 1024.0 * 1024.0 : 1024.0;
  const char* name = big ? "MiB" : "KiB";
  std::string text;
  if (total > 0) {
    const int pct = static_cast<int>(100.0 * static_cast<double>(now) / static_cast<double>(total));
    text = fmt::format("{}: {:.1f} / {:.1f} {} ({}%)", label_, now / unit, total / unit, name, pct);
  } else {
    text = fmt::format("{}: {:.1f} {}", label_, now / unit, name);
  }
  if (rate > 0) {
    text += fmt::format("  {:.1f} {}/s", rate / unit, name);
    if (total > now) text += fmt::format("  ETA {:.0f} s", std::ceil(static_cast<double>(total - now) / rate));
  }
  return text;
}

void Progress::update(uint64_t now, uint64_t total) {
  const auto t = std::chrono::steady_clock::now();
  if (!started_) {
    started_ = true;
    start_ = last_ = t;
    start_bytes_ = now;  // a resumed file's rate counts what this run moves
    return;
  }
  const double since_start = std::chrono::duration<double>(t - start_).count();
  const double since_last = std::chrono::duration<double>(t - last_).count();
  const double rate = since_start > 0 ? static_cast<double>(now - std::min(now, start_bytes_)) / since_start : 0;
  if (tty_) {
    if (since_last < 0.25 && !(total > 0 && now == total)) return;
    std::fprintf(stderr, "\r%s\033[K", line(now, total, rate).c_str());
    printed_ = true;
  } else {
    const int decile = total > 0 ? static_cast<int>(10 * now / total) : -1;
    const bool step = total > 0 && decile > last_decile_ && decile > 0;
    if (!step && since_last < 5.0) return;
    last_decile_ = std::max(last_decile_, decile);
    std::fprintf(stderr, "%s\n", line(now, total, rate).c_str());
  }
  last_ = t;
  std::fflush(stderr);
}

void Progress::finish() {
  if (tty_ && printed_) std::fprintf(stderr, "\n");
  printed_ = false;
}

}  // namespace statetune::fetch::detail
