#include "statetune/sweeps/field_spec.h"

#include <algorithm>

#include <fmt/format.h>

#include "statetune/common/error.h"
#include "statetune/common/suggestion.h"

namespace statetune::sweeps {

std::string FieldSpec::expected_type() const {
  switch (type) {
    case FieldType::kString: return "a string";
    case FieldType::kPath: return "a path";
    case FieldType::kInt: return "an integer";
    case FieldType::kFloat: return "a number";
    case FieldType::kBool: return "true or false";
    case FieldType::kEnum: return fmt::format("one of {}", fmt::join(choices, "|"));
  }
  return "a value";
}

std::string FieldSpec::expected() const {
  std::string out = expected_type();
  const auto number = [](double v) { return format_value(Value{v}); };
  if (min && max) {
    out += fmt::format(" in {}{}, {}]", min_exclusive ? "(" : "[", number(*min), number(*max));
  } else if (min) {
    out += fmt::format(" {} {}", min_exclusive ? ">" : ">=", number(*min));
  } else if (max) {
    out += fmt::format(" <= {}", number(*max));
  }
  return out;
}

Schema::Schema(std::vector<FieldSpec> fields) : fields_(std::move(fields)) {
  std::sort(fields_.begin(), fields_.end(), [](const FieldSpec& a, const FieldSpec& b) { return a.key < b.key; });
  for (std::size_t i = 1; i < fields_.size(); ++i) {
    ST_CHECK(fields_[i].key != fields_[i - 1].key, "schema: key '{}' is declared twice", fields_[i].key);
  }
}

const FieldSpec* Schema::find(std::string_view key) const {
  const auto it = std::lower_bound(fields_.begin(), fields_.end(), key,
                                   [](const FieldSpec& f, std::string_view k) { return f.key < k; });
  return it != fields_.end() && it->key == key ? &*it : nullptr;
}

bool Schema::is_section(std::string_view name) const {
  return std::any_of(fields_.begin(), fields_.end(), [&](const FieldSpec& f) {
    return f.key.size() > name.size() && f.key.compare(0, name.size(), name) == 0 && f.key[name.size()] == '.';
  });
}

std::string Schema::suggest(std::string_view unknown) const {
  std::vector<std::string> keys;
  for (const auto& f : fields_) keys.push_back(f.key);
  return closest_match(unknown, keys);
}

}  // namespace statetune::sweeps
