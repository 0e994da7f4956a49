// One file over HTTP(S) with libcurl's easy interface: resumable, hashed while it arrives.
#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <vector>

#include "download_parts.h"
#include "statetune/common/byte_size.h"
#include "statetune/common/error.h"

namespace statetune::fetch::detail {
namespace {

namespace fs = std::filesystem;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { ST_CHECK(curl_global_init(CURL_GLOBAL_DEFAULT) == 0, "libcurl: global initialisation failed"); });
}

std::string status_text(long status) {
  switch (status) {
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not found";
    case 410: return "gone";
    case 429: return "too many requests";
    case 500: return "server error";
    case 502: return "bad gateway";
    case 503: return "service unavailable";
    case 504: return "gateway timeout";
    default: return status >= 500 ? "server error" : "client error";
  }
}

struct Transfer {
  CURL* curl = nullptr;
  int fd = -1;
  uint64_t offset = 0;      // bytes already in the .part when this request started
  uint64_t on_disk = 0;     // bytes in the .part now
  uint64_t total = 0;       // the whole file's size, once the response says (0: unknown)
  long status = 0;
  bool checked = false;     // status looked at (first body bytes)
  bool range_ignored = false;  // the server answered a Range request with the whole file
  int write_errno = 0;
  Sha256 sha;
  Progress* progress = nullptr;
};

// The response's status and size, looked at when its first body bytes arrive (after redirects).
bool check_response(Transfer& t) {
  t.checked = true;
  curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &t.status);
  if (t.status >= 400) return false;
  curl_off_t length = -1;
  curl_easy_getinfo(t.curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  if (t.offset > 0 && t.status != 206) {  // the whole file, not the rest: start again from zero
    t.range_ignored = true;
    return false;
  }
  t.total = length >= 0 ? t.offset + static_cast<uint64_t>(length) : 0;
  return true;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  Transfer& t = *static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (!t.checked && !check_response(t)) return 0;
  size_t done = 0;
  while (done < n) {
    const ssize_t w = ::write(t.fd, data + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      t.write_errno = errno;
      return 0;
    }
    done += static_cast<size_t>(w);
  }
  t.sha.update(data, n);
  t.on_disk += n;
  return n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  Transfer& t = *static_cast<Transfer*>(user);
  if (t.checked && t.status < 400) t.progress->update(t.on_disk, t.total);
  return 0;
}

std::string of_total(uint64_t total) { return total > 0 ? fmt::format(" of {}", total) : std::string(" of an unknown number of"); }

// One request. Returns the curl result; the transfer's state says the rest.
CURLcode perform(const std::string& url, Transfer& t, char* error_buffer, const Limits& limits) {
  CURL* curl = curl_easy_init();
  ST_CHECK(curl != nullptr, "libcurl: cannot start a transfer");
  t.curl = curl;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);  // Hugging Face and S3 redirect
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "statetune/0.1.0 (libcurl)");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, limits.connect_timeout_s);
  // Stalled: under 1 KiB/s for limits.stall_s seconds (curl averages over its last few seconds).
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, limits.stall_s);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
  if (t.offset > 0) curl_easy_setopt(curl, CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(t.offset));
  const CURLcode rc = curl_easy_perform(curl);
  if (!t.checked) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &t.status);  // a body-less answer
  curl_easy_cleanup(curl);
  t.curl = nullptr;
  return rc;
}

}  // namespace

DownloadResult download(const std::string& url, const fs::path& part, const std::string& name, const std::string& label,
                        std::optional<uint64_t> expected_bytes, const Limits& limits) {
  global_init();
  DownloadResult result;
  for (int attempt = 0; attempt < 2; ++attempt) {  // a second time only when the server did not resume
    Transfer t;
    std::error_code ec;
    const uint64_t existing = fs::exists(part, ec) ? fs::file_size(part, ec) : 0;
    if (existing > 0 && expected_bytes && existing > *expected_bytes) fs::remove(part, ec);  // not this file
    t.fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (t.fd < 0) fail("{}: cannot open for writing: {}", part.string(), std::strerror(errno));
    struct stat st {};
    ::fstat(t.fd, &st);
    t.offset = t.on_disk = static_cast<uint64_t>(st.st_size);
    if (t.offset > 0) {  // the bytes kept by an earlier run, hashed again (streaming)
      uint64_t hashed = 0;
      std::ifstream in(part, std::ios::binary);
      std::vector<char> buffer(1 << 20);
      while (in && hashed < t.offset) {
        in.read(buffer.data(), static_cast<std::streamsize>(std::min<uint64_t>(buffer.size(), t.offset - hashed)));
        const std::streamsize n = in.gcount();
        if (n <= 0) break;
        t.sha.update(buffer.data(), static_cast<size_t>(n));
        hashed += static_cast<uint64_t>(n);
      }
      if (hashed != t.offset) {
        ::close(t.fd);
        fail("{}: cannot read the {} bytes kept by an earlier run", part.string(), t.offset);
      }
      std::fprintf(stderr, "%s: resuming at byte %llu (%s kept by an earlier run)\n", label.c_str(),
                   static_cast<unsigned long long>(t.offset), byte_size_text(t.offset).c_str());
    }
    if (expected_bytes && t.offset == *expected_bytes && t.offset > 0) {  // complete already
      ::close(t.fd);
      result.bytes = t.offset;
      result.sha256 = t.sha.hex();
      return result;
    }
    Progress progress(label);
    t.progress = &progress;
    char error_buffer[CURL_ERROR_SIZE] = {0};
    const CURLcode rc = perform(url, t, error_buffer, limits);
    progress.finish();
    const int close_rc = ::close(t.fd);
    const int close_errno = errno;
    const std::string why = error_buffer[0] != '\0' ? std::string(error_buffer) : std::string(curl_easy_strerror(rc));

    if (t.offset > 0 && attempt == 0 && (t.status == 416 || t.range_ignored || rc == CURLE_RANGE_ERROR)) {
      // The server does not resume (it answered 200 with the whole file), or "Range not
      // satisfiable": the kept bytes are not a prefix of this file. Start again from zero, once.
      std::fprintf(stderr, "%s: the server did not resume at byte %llu (HTTP %ld); downloading it whole again\n",
                   label.c_str(), static_cast<unsigned long long>(t.offset), t.status);
      fs::remove(part, ec);
      continue;
    }
    if (t.status >= 400) {
      fs::remove(part, ec);
      result.failure = Failure::kHttp;
      result.message = fmt::format("{}: HTTP {} ({})", url, t.status, status_text(t.status));
      return result;
    }
    if (t.write_errno != 0 || close_rc != 0) {
      result.failure = Failure::kLocal;
      result.message = fmt::format("{}: cannot write: {}; {} bytes kept; rerun `statetune fetch {}` to resume",
                                   part.string(), std::strerror(t.write_errno != 0 ? t.write_errno : close_errno),
                                   t.on_disk, name);
      return result;
    }
    if (rc != CURLE_OK || (t.total > 0 && t.on_disk != t.total)) {
      result.failure = Failure::kCut;
      if (t.on_disk == 0) {
        fs::remove(part, ec);
        result.message = fmt::format("{}: {} (nothing downloaded); rerun `statetune fetch {}` once the host can be reached",
                                     url, rc != CURLE_OK ? why : "the transfer ended early", name);
      } else {
        result.message = fmt::format("{}: the transfer broke off ({}); {}{} bytes kept in {}; rerun `statetune fetch {}` to resume",
                                     url, rc != CURLE_OK ? why : "the body was shorter than announced", t.on_disk,
                                     of_total(t.total), part.string(), name);
      }
      return result;
    }
    result.bytes = t.on_disk;
    result.sha256 = t.sha.hex();
    return result;
  }
  result.failure = Failure::kHttp;
  result.message = fmt::format("{}: the server refused the download even when starting from zero", url);
  return result;
}

}  // namespace statetune::fetch::detail
