#pragma once
// H5_CHECK(path, call): every HDF5 call of this module goes through it. A negative return
// throws statetune::Error on one line naming the study file, the call, our source file and
// line, and HDF5's innermost error description:
//   out.h5: HDF5 call H5Dopen2(loc, "step", H5P_DEFAULT) failed (study_writer.cpp:88): object 'step' doesn't exist
// (common/ may not depend on HDF5, so the HDF5 checker lives here.)
#include <hdf5.h>

#include <string>

namespace statetune::results::detail {

[[noreturn]] void h5_fail(const std::string& path, const char* call, const char* file, int line);

template <typename T>
T h5_checked(T rc, const std::string& path, const char* call, const char* file, int line) {
  if (rc < 0) h5_fail(path, call, file, line);
  return rc;
}

// Turns off HDF5's own printing of error stacks to stderr (we report them as errors).
void silence_hdf5_error_printing();

}  // namespace statetune::results::detail

#define H5_CHECK(path, call) ::statetune::results::detail::h5_checked((call), (path), #call, __FILE__, __LINE__)
