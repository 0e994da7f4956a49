#include "h5_io.h"

#include <algorithm>

#include "h5_check.h"
#include "statetune/common/error.h"

namespace statetune::results::detail {

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = other.id_;
    close_ = other.close_;
    other.id_ = -1;
  }
  return *this;
}

void Handle::reset() {
  // Closing cannot fail in a way we could act on (ids are valid by construction).
  if (id_ >= 0 && close_ != nullptr) close_(id_);
  id_ = -1;
}

namespace {

Handle utf8_string_type(const std::string& path) {
  Handle type(H5_CHECK(path, H5Tcopy(H5T_C_S1)), H5Tclose);
  H5_CHECK(path, H5Tset_size(type.get(), H5T_VARIABLE));
  H5_CHECK(path, H5Tset_cset(type.get(), H5T_CSET_UTF8));
  return type;
}

Handle scalar_space(const std::string& path) { return Handle(H5_CHECK(path, H5Screate(H5S_SCALAR)), H5Sclose); }

Handle simple_space(const std::string& path, std::vector<hsize_t> dims) {
  return Handle(H5_CHECK(path, H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr)), H5Sclose);
}

Handle replace_attr(const std::string& path, hid_t obj, const std::string& name, hid_t type) {
  if (H5_CHECK(path, H5Aexists(obj, name.c_str())) > 0) H5_CHECK(path, H5Adelete(obj, name.c_str()));
  Handle space = scalar_space(path);
  return Handle(H5_CHECK(path, H5Acreate2(obj, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT)), H5Aclose);
}

Handle open_attr(const std::string& path, hid_t obj, const std::string& name, const std::string& where) {
  if (H5_CHECK(path, H5Aexists(obj, name.c_str())) <= 0) fail("{}: {}: missing attribute '{}'", path, where, name);
  return Handle(H5_CHECK(path, H5Aopen(obj, name.c_str(), H5P_DEFAULT)), H5Aclose);
}

Handle write_dataset(const std::string& path, hid_t loc, const std::string& name, hid_t type,
                     std::vector<hsize_t> dims) {
  Handle space = simple_space(path, std::move(dims));
  return Handle(H5_CHECK(path, H5Dcreate2(loc, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)),
                H5Dclose);
}

Handle open_dataset(const std::string& path, hid_t loc, const std::string& name) {
  return Handle(H5_CHECK(path, H5Dopen2(loc, name.c_str(), H5P_DEFAULT)), H5Dclose);
}

std::vector<hsize_t> dataset_dims(const std::string& path, hid_t dataset) {
  Handle space(H5_CHECK(path, H5Dget_space(dataset)), H5Sclose);
  const int rank = H5_CHECK(path, H5Sget_simple_extent_ndims(space.get()));
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5_CHECK(path, H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr));
  return dims;
}

std::size_t element_count(const std::vector<hsize_t>& dims) {
  std::size_t n = 1;
  for (hsize_t d : dims) n *= static_cast<std::size_t>(d);
  return n;
}

template <typename T>
std::vector<T> read_numbers(const std::string& path, hid_t loc, const std::string& name, hid_t mem_type) {
  Handle dataset = open_dataset(path, loc, name);
  std::vector<T> values(element_count(dataset_dims(path, dataset.get())));
  if (!values.empty()) {
    H5_CHECK(path, H5Dread(dataset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()));
  }
  return values;
}

template <typename T>
void write_numbers(const std::string& path, hid_t loc, const std::string& name, hid_t file_type, hid_t mem_type,
                   const std::vector<T>& values, std::vector<hsize_t> dims) {
  Handle dataset = write_dataset(path, loc, name, file_type, std::move(dims));
  if (!values.empty()) {
    H5_CHECK(path, H5Dwrite(dataset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()));
  }
}

// Chunks of a compressed float tensor: the whole tensor when it fits in HDF5's default
// chunk cache (1 MiB; a state tensor is read whole), else the leading dimensions halved
// until a chunk does.
std::vector<hsize_t> chunk_dims(std::vector<hsize_t> dims, std::size_t element_size) {
  constexpr std::size_t kMaxChunkBytes = std::size_t{1} << 20;
  for (auto& d : dims) {
    while (d > 1 && element_count(dims) * element_size > kMaxChunkBytes) d = (d + 1) / 2;
  }
  return dims;
}

herr_t collect_name(hid_t /*group*/, const char* name, const H5L_info_t* /*info*/, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(name);
  return 0;
}

herr_t collect_attr_name(hid_t /*obj*/, const char* name, const H5A_info_t* /*info*/, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(name);
  return 0;
}

}  // namespace

// ---- objects ----------------------------------------------------------------------------

bool link_exists(const std::string& path, hid_t loc, const std::string& name) {
  return H5_CHECK(path, H5Lexists(loc, name.c_str(), H5P_DEFAULT)) > 0;
}

Handle open_group(const std::string& path, hid_t loc, const std::string& name) {
  return Handle(H5_CHECK(path, H5Gopen2(loc, name.c_str(), H5P_DEFAULT)), H5Gclose);
}

Handle create_group(const std::string& path, hid_t loc, const std::string& name) {
  return Handle(H5_CHECK(path, H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)), H5Gclose);
}

Handle open_or_create_group(const std::string& path, hid_t loc, const std::string& name) {
  return link_exists(path, loc, name) ? open_group(path, loc, name) : create_group(path, loc, name);
}

void delete_link(const std::string& path, hid_t loc, const std::string& name) {
  H5_CHECK(path, H5Ldelete(loc, name.c_str(), H5P_DEFAULT));
}

std::vector<std::string> child_names(const std::string& path, hid_t group) {
  std::vector<std::string> names;
  hsize_t index = 0;
  H5_CHECK(path, H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &index, collect_name, &names));
  std::sort(names.begin(), names.end());
  return names;
}

// ---- attributes --------------------------------------------------------------------------

void write_attr(const std::string& path, hid_t obj, const std::string& name, const std::string& value) {
  Handle type = utf8_string_type(path);
  Handle attr = replace_attr(path, obj, name, type.get());
  const char* text = value.c_str();
  H5_CHECK(path, H5Awrite(attr.get(), type.get(), &text));
}

void write_attr(const std::string& path, hid_t obj, const std::string& name, std::int64_t value) {
  Handle attr = replace_attr(path, obj, name, H5T_STD_I64LE);
  H5_CHECK(path, H5Awrite(attr.get(), H5T_NATIVE_INT64, &value));
}

void write_attr(const std::string& path, hid_t obj, const std::string& name, double value) {
  Handle attr = replace_attr(path, obj, name, H5T_IEEE_F64LE);
  H5_CHECK(path, H5Awrite(attr.get(), H5T_NATIVE_DOUBLE, &value));
}

bool attr_exists(const std::string& path, hid_t obj, const std::string& name) {
  return H5_CHECK(path, H5Aexists(obj, name.c_str())) > 0;
}

std::string read_string_attr(const std::string& path, hid_t obj, const std::string& name, const std::string& where) {
  Handle attr = open_attr(path, obj, name, where);
  Handle stored(H5_CHECK(path, H5Aget_type(attr.get())), H5Tclose);
  if (H5_CHECK(path, H5Tget_class(stored.get())) != H5T_STRING) {
    fail("{}: {}: attribute '{}' is not a string", path, where, name);
  }
  if (H5_CHECK(path, H5Tis_variable_str(stored.get())) > 0) {
    Handle type = utf8_string_type(path);
    char* text = nullptr;
    H5_CHECK(path, H5Aread(attr.get(), type.get(), &text));
    std::string value = text != nullptr ? text : "";
    H5free_memory(text);
    return value;
  }
  // Fixed-length (numpy "S" strings written by other tools): read the bytes, drop padding.
  const std::size_t size = H5Tget_size(stored.get());
  std::string value(size, '\0');
  H5_CHECK(path, H5Aread(attr.get(), stored.get(), value.data()));
  value.erase(std::find(value.begin(), value.end(), '\0'), value.end());
  return value;
}

std::int64_t read_int_attr(const std::string& path, hid_t obj, const std::string& name, const std::string& where) {
  Handle attr = open_attr(path, obj, name, where);
  Handle stored(H5_CHECK(path, H5Aget_type(attr.get())), H5Tclose);
  if (H5_CHECK(path, H5Tget_class(stored.get())) != H5T_INTEGER) {
    fail("{}: {}: attribute '{}' is not an integer", path, where, name);
  }
  std::int64_t value = 0;
  H5_CHECK(path, H5Aread(attr.get(), H5T_NATIVE_INT64, &value));
  return value;
}

double read_double_attr(const std::string& path, hid_t obj, const std::string& name, const std::string& where) {
  Handle attr = open_attr(path, obj, name, where);
  double value = 0;
  H5_CHECK(path, H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &value));
  return value;
}

std::map<std::string, std::string> read_string_attrs(const std::string& path, hid_t obj, const std::string& where) {
  std::vector<std::string> names;
  hsize_t index = 0;
  H5_CHECK(path, H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &index, collect_attr_name, &names));
  std::map<std::string, std::string> values;
  for (const auto& name : names) values[name] = read_string_attr(path, obj, name, where);
  return values;
}

// ---- datasets written at once ------------------------------------------------------------

void write_strings(const std::string& path, hid_t loc, const std::string& name, const std::vector<std::string>& values) {
  Handle type = utf8_string_type(path);
  Handle dataset = write_dataset(path, loc, name, type.get(), {values.size()});
  if (values.empty()) return;
  std::vector<const char*> pointers;
  pointers.reserve(values.size());
  for (const auto& v : values) pointers.push_back(v.c_str());
  H5_CHECK(path, H5Dwrite(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()));
}

void write_doubles(const std::string& path, hid_t loc, const std::string& name, const std::vector<double>& values) {
  write_numbers(path, loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, values, {values.size()});
}

void write_int8s(const std::string& path, hid_t loc, const std::string& name, const std::vector<std::int8_t>& values) {
  write_numbers(path, loc, name, H5T_STD_I8LE, H5T_NATIVE_INT8, values, {values.size()});
}

void write_doubles_2d(const std::string& path, hid_t loc, const std::string& name, std::size_t rows, std::size_t cols,
                      const std::vector<double>& values) {
  ST_CHECK(values.size() == rows * cols, "{}: dataset '{}': {} values for a {}x{} table", path, name, values.size(),
           rows, cols);
  write_numbers(path, loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, values, {rows, cols});
}

bool deflate_available(const std::string& path) {
  if (H5_CHECK(path, H5Zfilter_avail(H5Z_FILTER_DEFLATE)) <= 0) return false;
  unsigned int config = 0;
  H5_CHECK(path, H5Zget_filter_info(H5Z_FILTER_DEFLATE, &config));
  return (config & H5Z_FILTER_CONFIG_ENCODE_ENABLED) != 0;
}

void write_floats_nd(const std::string& path, hid_t loc, const std::string& name, const std::vector<hsize_t>& dims,
                     const std::vector<float>& values, int deflate_level) {
  const std::size_t n = element_count(dims);
  ST_CHECK(values.size() == n, "{}: dataset '{}': {} values for {} elements", path, name, values.size(), n);
  Handle space = dims.empty() ? scalar_space(path) : simple_space(path, dims);
  Handle props(H5_CHECK(path, H5Pcreate(H5P_DATASET_CREATE)), H5Pclose);
  // Scalars and empty datasets cannot be chunked (and have nothing to compress).
  if (deflate_level >= 0 && !dims.empty() && n > 0 && deflate_available(path)) {
    const std::vector<hsize_t> chunk = chunk_dims(dims, sizeof(float));
    H5_CHECK(path, H5Pset_chunk(props.get(), static_cast<int>(chunk.size()), chunk.data()));
    // Byte-shuffling first groups the floats' exponent bytes, which deflate then finds alike
    // (bench study: the measured ratio).
    H5_CHECK(path, H5Pset_shuffle(props.get()));
    H5_CHECK(path, H5Pset_deflate(props.get(), static_cast<unsigned>(deflate_level)));
  }
  Handle dataset(H5_CHECK(path, H5Dcreate2(loc, name.c_str(), H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, props.get(),
                                           H5P_DEFAULT)),
                 H5Dclose);
  if (n > 0) H5_CHECK(path, H5Dwrite(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()));
}

// ---- extendible datasets -----------------------------------------------------------------

void create_extendible(const std::string& path, hid_t loc, const std::string& name, hid_t type) {
  // 64 rows (512 bytes) per chunk: small for the many short runs of a sweep, and a curve of
  // a few thousand steps is still only tens of chunks.
  const hsize_t dims[1] = {0}, max_dims[1] = {H5S_UNLIMITED}, chunk[1] = {64};
  Handle space(H5_CHECK(path, H5Screate_simple(1, dims, max_dims)), H5Sclose);
  Handle props(H5_CHECK(path, H5Pcreate(H5P_DATASET_CREATE)), H5Pclose);
  H5_CHECK(path, H5Pset_chunk(props.get(), 1, chunk));
  Handle dataset(
      H5_CHECK(path, H5Dcreate2(loc, name.c_str(), type, space.get(), H5P_DEFAULT, props.get(), H5P_DEFAULT)),
      H5Dclose);
}

void append_value(const std::string& path, hid_t loc, const std::string& name, hid_t mem_type, const void* value) {
  Handle dataset = open_dataset(path, loc, name);
  const hsize_t old_size = dataset_dims(path, dataset.get()).at(0);
  const hsize_t new_size[1] = {old_size + 1};
  H5_CHECK(path, H5Dset_extent(dataset.get(), new_size));
  Handle file_space(H5_CHECK(path, H5Dget_space(dataset.get())), H5Sclose);
  const hsize_t start[1] = {old_size}, count[1] = {1};
  H5_CHECK(path, H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr));
  Handle mem_space = simple_space(path, {1});
  H5_CHECK(path, H5Dwrite(dataset.get(), mem_type, mem_space.get(), file_space.get(), H5P_DEFAULT, value));
}

// ---- reading -----------------------------------------------------------------------------

std::vector<std::string> read_strings(const std::string& path, hid_t loc, const std::string& name) {
  Handle dataset = open_dataset(path, loc, name);
  const std::size_t n = element_count(dataset_dims(path, dataset.get()));
  std::vector<std::string> values;
  if (n == 0) return values;
  Handle type = utf8_string_type(path);
  std::vector<char*> pointers(n, nullptr);
  H5_CHECK(path, H5Dread(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()));
  values.reserve(n);
  for (char* p : pointers) values.emplace_back(p != nullptr ? p : "");
  Handle space(H5_CHECK(path, H5Dget_space(dataset.get())), H5Sclose);
  H5_CHECK(path, H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, pointers.data()));
  return values;
}

std::vector<double> read_doubles(const std::string& path, hid_t loc, const std::string& name) {
  return read_numbers<double>(path, loc, name, H5T_NATIVE_DOUBLE);
}

std::vector<std::int64_t> read_int64s(const std::string& path, hid_t loc, const std::string& name) {
  return read_numbers<std::int64_t>(path, loc, name, H5T_NATIVE_INT64);
}

std::vector<std::int8_t> read_int8s(const std::string& path, hid_t loc, const std::string& name) {
  return read_numbers<std::int8_t>(path, loc, name, H5T_NATIVE_INT8);
}

std::vector<float> read_floats_nd(const std::string& path, hid_t loc, const std::string& name,
                                  std::vector<hsize_t>& dims, const std::string& where) {
  Handle dataset = open_dataset(path, loc, name);
  Handle stored(H5_CHECK(path, H5Dget_type(dataset.get())), H5Tclose);
  if (H5_CHECK(path, H5Tget_class(stored.get())) != H5T_FLOAT || H5Tget_size(stored.get()) != sizeof(float)) {
    fail("{}: {}: expected a float32 dataset", path, where);
  }
  dims = dataset_dims(path, dataset.get());
  std::vector<float> values(element_count(dims));
  if (!values.empty()) {
    H5_CHECK(path, H5Dread(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()));
  }
  return values;
}

std::vector<double> read_doubles_2d(const std::string& path, hid_t loc, const std::string& name, std::size_t& rows,
                                    std::size_t& cols) {
  Handle dataset = open_dataset(path, loc, name);
  const auto dims = dataset_dims(path, dataset.get());
  if (dims.size() != 2) fail("{}: dataset '{}' has {} dimensions, expected 2", path, name, dims.size());
  rows = static_cast<std::size_t>(dims[0]);
  cols = static_cast<std::size_t>(dims[1]);
  std::vector<double> values(rows * cols);
  if (!values.empty()) {
    H5_CHECK(path, H5Dread(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()));
  }
  return values;
}

}  // namespace statetune::results::detail
