#include "guide_cache.h"

#include <fmt/format.h>

#include <filesystem>
#include <functional>

#include "statetune/common/timer.h"

namespace statetune::orchestrator {

std::shared_ptr<const workers::Rwkv7Model> load_guide(const std::string& path, const Placement& placement,
                                                      const std::function<void(const std::string&)>& note) {
  static std::string cached_key;
  static std::shared_ptr<const workers::Rwkv7Model> cached;
  const std::string key = std::filesystem::absolute(path).lexically_normal().string() + " on " + placement.describe();
  if (cached && cached_key == key) return cached;
  cached.reset();  // release the previous guide before reading the next
  Timer timer;
  cached = std::make_shared<const workers::Rwkv7Model>(placement.load_model(path));
  cached_key = key;
  if (note) {
    const workers::ModelConfig& c = cached->config();
    note(fmt::format("guide {}: L={} C={} V={}, {:.0f} MiB of weights on {}, loaded in {:.1f} s (kept for the "
                     "next runs of this process)",
                     path, c.n_layer, c.n_embd, c.vocab_size, static_cast<double>(cached->weight_bytes()) / (1 << 20),
                     placement.describe(), timer.seconds()));
  }
  return cached;
}

}  // namespace statetune::orchestrator
