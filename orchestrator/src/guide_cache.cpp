#include "guide_cache.h"

#include <fmt/format.h>

#include <filesystem>
#include <functional>

#include "statetune/common/timer.h"

namespace statetune::orchestrator {

std::shared_ptr<const workers::Rwkv7Model> load_guide(const std::string& path,
                                                      const std::function<void(const std::string&)>& note) {
  static std::string cached_path;
  static std::shared_ptr<const workers::Rwkv7Model> cached;
  const std::string key = std::filesystem::absolute(path).lexically_normal().string();
  if (cached && cached_path == key) return cached;
  cached.reset();  // release the previous guide before reading the next
  Timer timer;
  cached = std::make_shared<const workers::Rwkv7Model>(workers::Rwkv7Model::load(path));
  cached_path = key;
  if (note) {
    const workers::ModelConfig& c = cached->config();
    // Parameters of the blocks (about 12·C² per layer with the LoRA ranks) plus embedding and head.
    const double params = static_cast<double>(c.n_layer) * 12.0 * static_cast<double>(c.n_embd * c.n_embd) +
                          2.0 * static_cast<double>(c.vocab_size * c.n_embd);
    note(fmt::format("guide {}: L={} C={} V={}, about {:.0f} MiB of fp32 weights, loaded in {:.1f} s (kept for the "
                     "next runs of this process)",
                     path, c.n_layer, c.n_embd, c.vocab_size, params * 4.0 / (1 << 20), timer.seconds()));
  }
  return cached;
}

}  // namespace statetune::orchestrator
