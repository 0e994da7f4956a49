#pragma once
// Small typed helpers over the HDF5 C API, all checked with H5_CHECK. `path` is the study
// file's name, used only in error messages.
#include <hdf5.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace statetune::results::detail {

// Owns one hid_t and closes it with the matching H5?close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  Handle(Handle&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = -1; }
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  void reset();

 private:
  hid_t id_ = -1;
  Closer close_ = nullptr;
};

// ---- objects ----------------------------------------------------------------------------
bool link_exists(const std::string& path, hid_t loc, const std::string& name);
Handle open_group(const std::string& path, hid_t loc, const std::string& name);
Handle create_group(const std::string& path, hid_t loc, const std::string& name);
Handle open_or_create_group(const std::string& path, hid_t loc, const std::string& name);
void delete_link(const std::string& path, hid_t loc, const std::string& name);
// Names of the links in a group, sorted.
std::vector<std::string> child_names(const std::string& path, hid_t group);

// ---- attributes (scalar; an existing attribute is replaced) ------------------------------
void write_attr(const std::string& path, hid_t obj, const std::string& name, const std::string& value);
void write_attr(const std::string& path, hid_t obj, const std::string& name, std::int64_t value);
void write_attr(const std::string& path, hid_t obj, const std::string& name, double value);
bool attr_exists(const std::string& path, hid_t obj, const std::string& name);
// Strings may be variable- or fixed-length; a missing attribute is an error naming `where`.
std::string read_string_attr(const std::string& path, hid_t obj, const std::string& name, const std::string& where);
std::int64_t read_int_attr(const std::string& path, hid_t obj, const std::string& name, const std::string& where);
double read_double_attr(const std::string& path, hid_t obj, const std::string& name, const std::string& where);
// Every attribute of obj, read as a string.
std::map<std::string, std::string> read_string_attrs(const std::string& path, hid_t obj, const std::string& where);

// ---- 1-D and 2-D datasets written at once ------------------------------------------------
void write_strings(const std::string& path, hid_t loc, const std::string& name, const std::vector<std::string>& values);
void write_doubles(const std::string& path, hid_t loc, const std::string& name, const std::vector<double>& values);
void write_int8s(const std::string& path, hid_t loc, const std::string& name, const std::vector<std::int8_t>& values);
// Row-major rows x cols.
void write_doubles_2d(const std::string& path, hid_t loc, const std::string& name, std::size_t rows, std::size_t cols,
                      const std::vector<double>& values);

// float32, any rank (dims empty: a scalar), row-major. deflate_level >= 0 asks for a chunked
// dataset compressed at that level; it is stored plainly (contiguous) when this HDF5 build
// cannot encode deflate or the dataset is empty.
void write_floats_nd(const std::string& path, hid_t loc, const std::string& name, const std::vector<hsize_t>& dims,
                     const std::vector<float>& values, int deflate_level);
// Whether this HDF5 build can write deflate-compressed datasets.
bool deflate_available(const std::string& path);

// ---- extendible 1-D datasets (chunked, unlimited) ----------------------------------------
void create_extendible(const std::string& path, hid_t loc, const std::string& name, hid_t type);
void append_value(const std::string& path, hid_t loc, const std::string& name, hid_t mem_type, const void* value);

// ---- reading -----------------------------------------------------------------------------
std::vector<std::string> read_strings(const std::string& path, hid_t loc, const std::string& name);
std::vector<double> read_doubles(const std::string& path, hid_t loc, const std::string& name);
std::vector<std::int64_t> read_int64s(const std::string& path, hid_t loc, const std::string& name);
std::vector<std::int8_t> read_int8s(const std::string& path, hid_t loc, const std::string& name);
// Any rank, row-major; dims is set from the dataset's shape. A dataset whose type is not a
// 4-byte float is refused with an error naming `where`.
std::vector<float> read_floats_nd(const std::string& path, hid_t loc, const std::string& name,
                                  std::vector<hsize_t>& dims, const std::string& where);
// Row-major; rows and cols are set from the dataset's shape.
std::vector<double> read_doubles_2d(const std::string& path, hid_t loc, const std::string& name, std::size_t& rows,
                                    std::size_t& cols);

}  // namespace statetune::results::detail
