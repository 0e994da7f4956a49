#include "h5_check.h"

#include <cstring>

#include "statetune/common/error.h"

namespace statetune::results::detail {

namespace {

// HDF5 walks its error stack from the API call down to the cause; keep the deepest entry.
herr_t keep_innermost(unsigned /*n*/, const H5E_error2_t* err, void* client) {
  auto* out = static_cast<std::string*>(client);
  if (err != nullptr && err->desc != nullptr) *out = err->desc;
  return 0;
}

const char* base_name(const char* file) {
  const char* slash = std::strrchr(file, '/');
  return slash != nullptr ? slash + 1 : file;
}

}  // namespace

void h5_fail(const std::string& path, const char* call, const char* file, int line) {
  std::string cause;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, keep_innermost, &cause);
  H5Eclear2(H5E_DEFAULT);
  for (char& c : cause) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  fail("{}: HDF5 call {} failed ({}:{}){}{}", path, call, base_name(file), line, cause.empty() ? "" : ": ", cause);
}

void silence_hdf5_error_printing() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

}  // namespace statetune::results::detail
