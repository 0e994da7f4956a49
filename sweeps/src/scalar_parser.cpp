#include "scalar_parser.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>

#include "statetune/common/error.h"
#include "statetune/common/suggestion.h"
#include "statetune/sweeps/resource_name.h"

namespace statetune::sweeps {
namespace {

[[noreturn]] void fail_type(const FieldSpec& spec, const std::string& text, const std::string& where,
                            const std::string& hint = "") {
  fail("{}: key '{}': expected {}, got '{}'{}", where, spec.key, spec.expected_type(), text, hint);
}

void check_bounds(const FieldSpec& spec, double v, const std::string& text, const std::string& where) {
  const bool below = spec.min && (spec.min_exclusive ? !(v > *spec.min) : !(v >= *spec.min));
  const bool above = spec.max && !(v <= *spec.max);
  if (below || above) fail("{}: key '{}': expected {}, got '{}'", where, spec.key, spec.expected(), text);
}

// from_chars takes no leading '+'; YAML and people do write one.
std::string_view without_plus(const std::string& text) {
  std::string_view view = text;
  if (view.size() > 1 && view[0] == '+' && view[1] != '-') view.remove_prefix(1);
  return view;
}

std::optional<std::int64_t> to_int(const std::string& text) {
  const std::string_view view = without_plus(text);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(view.data(), view.data() + view.size(), value);
  if (ec != std::errc() || end != view.data() + view.size() || view.empty()) return std::nullopt;
  return value;
}

std::optional<double> to_double(const std::string& text) {
  const std::string_view view = without_plus(text);
  double value = 0;
  const auto [end, ec] = std::from_chars(view.data(), view.data() + view.size(), value);
  if (ec != std::errc() || end != view.data() + view.size() || view.empty() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<bool> to_bool(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  if (text == "true") return true;
  if (text == "false") return false;
  return std::nullopt;
}

}  // namespace

std::string resolve_path(const std::string& text, const std::string& base_dir) {
  if (text.empty()) return text;
  std::filesystem::path path(text);
  if (path.is_relative()) path = std::filesystem::path(base_dir) / path;
  return path.lexically_normal().string();
}

Value parse_scalar(const FieldSpec& spec, const std::string& text, const std::string& where,
                   const std::string& base_dir) {
  switch (spec.type) {
    case FieldType::kString:
      return text;
    case FieldType::kPath:
      if (spec.names_allowed && looks_like_resource_name(text) &&
          !std::filesystem::exists(std::filesystem::path(base_dir) / text)) {
        return text;  // a catalogue name, resolved when the run starts
      }
      return resolve_path(text, base_dir);
    case FieldType::kBool:
      if (const auto b = to_bool(text)) return *b;
      fail_type(spec, text, where);
    case FieldType::kEnum:
      if (std::find(spec.choices.begin(), spec.choices.end(), text) != spec.choices.end()) return text;
      fail_type(spec, text, where, did_you_mean(text, spec.choices));
    case FieldType::kInt: {
      const auto i = to_int(text);
      if (!i) fail_type(spec, text, where);
      check_bounds(spec, static_cast<double>(*i), text, where);
      return *i;
    }
    case FieldType::kFloat: {
      const auto d = to_double(text);
      if (!d) fail_type(spec, text, where);
      check_bounds(spec, *d, text, where);
      return *d;
    }
  }
  fail_type(spec, text, where);
}

std::optional<Value> null_value(const FieldSpec& spec, const std::string& where) {
  if (spec.presence == Presence::kOptional) return std::nullopt;
  if (spec.type == FieldType::kString || spec.type == FieldType::kPath) return Value{std::string()};
  fail("{}: key '{}': expected {}, got nothing", where, spec.key, spec.expected_type());
}

}  // namespace statetune::sweeps
