#include "statetune/orchestrator/placement.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>

#include "statetune/common/error.h"
#include "statetune/kernels/cuda_backend.h"

namespace statetune::orchestrator {
namespace {

template <typename E>
E parse_choice(const std::string& text, const char* flag) {
  const auto& names = sweeps::EnumNames<E>::names;
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == text) return static_cast<E>(i);
  std::string all;
  for (const auto& n : names) all += (all.empty() ? "" : ", ") + std::string(n);
  fail("{} {}: expected one of {}", flag, text, all);
}

}  // namespace

std::string Placement::describe() const {
  const char* precision = weights_dtype == at::kBFloat16 ? "bf16" : weights_dtype == at::kDouble ? "fp64" : "fp32";
  if (!device.is_cuda()) return fmt::format("{}, {} weights", device.str(), precision);
  return fmt::format("{} ({}), {} weights", device.str(), kernels::cuda_device_description(device.index()), precision);
}

void Placement::announce() const {
  if (device.is_cuda()) std::fprintf(stderr, "computing on %s\n", describe().c_str());
}

workers::Rwkv7Model Placement::load_model(const std::string& path) const {
  return workers::Rwkv7Model::load(path, weights_dtype, device);
}

void Placement::synchronize() const {
  if (device.is_cuda()) kernels::cuda_synchronize(device.index());
}

double Placement::peak_memory_mib() const {
  if (!device.is_cuda()) return 0;
  return static_cast<double>(kernels::cuda_memory_peak(device.index()).allocated) / (1024.0 * 1024.0);
}

void Placement::reset_peak_memory() const {
  if (device.is_cuda()) kernels::cuda_reset_memory_peak(device.index());
}

Placement resolve_placement(sweeps::Device device, sweeps::WeightsDtype weights, int local_rank,
                            const std::string& where) {
  const int gpus = kernels::cuda_device_count();
  Placement p;
  if (device == sweeps::Device::kCuda) {
    ST_CHECK(gpus > 0, "{}: cuda, but LibTorch sees no CUDA GPU ({}; CUDA_VISIBLE_DEVICES={}); use cpu or auto", where,
             kernels::cuda_backend_compiled() ? "this build has CUDA" : "this build has no CUDA",
             std::getenv("CUDA_VISIBLE_DEVICES") ? std::getenv("CUDA_VISIBLE_DEVICES") : "unset");
  }
  if (device != sweeps::Device::kCpu && gpus > 0) {
    p.device = at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(local_rank % gpus));
    kernels::cuda_set_device(p.device.index());
  }
  switch (weights) {
    case sweeps::WeightsDtype::kAuto: p.weights_dtype = p.device.is_cuda() ? at::kBFloat16 : at::kFloat; break;
    case sweeps::WeightsDtype::kFp32: p.weights_dtype = at::kFloat; break;
    case sweeps::WeightsDtype::kBf16: p.weights_dtype = at::kBFloat16; break;
  }
  return p;
}

int local_rank_from_environment() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID", "LOCAL_RANK"}) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') continue;
    char* end = nullptr;
    const long rank = std::strtol(value, &end, 10);
    if (*end == '\0' && rank >= 0) return static_cast<int>(rank);
  }
  return 0;
}

Placement PlacementOptions::resolve() const {
  return resolve_placement(parse_choice<sweeps::Device>(device, "--device"),
                           parse_choice<sweeps::WeightsDtype>(weights_dtype, "--weights-dtype"),
                           local_rank_from_environment(), "--device");
}

namespace {

constexpr const char* kDeviceHelp =
    "Where to compute: auto (a GPU when LibTorch sees one; under mpirun/srun GPU local_rank % GPUs), cpu or cuda";
constexpr const char* kWeightsHelp =
    "Precision of the model's weights: auto (bf16 on a GPU, fp32 on the CPU), fp32 or bf16; states, the WKV "
    "recurrence and log-probs are fp32";

}  // namespace

void add_placement_options(CLI::App& sub, PlacementOptions& options) {
  sub.add_option("--device", options.device, kDeviceHelp)
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  sub.add_option("--weights-dtype", options.weights_dtype, kWeightsHelp)
      ->check(CLI::IsMember({"auto", "fp32", "bf16"}))
      ->capture_default_str();
}

void add_placement_overrides(CLI::App& sub, std::vector<std::string>& overrides) {
  sub.add_option_function<std::string>(
         "--device", [&overrides](const std::string& v) { overrides.push_back("device=" + v); },
         std::string(kDeviceHelp) + "; the same as the override device=... (default: the config's `device`, auto)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  sub.add_option_function<std::string>(
         "--weights-dtype", [&overrides](const std::string& v) { overrides.push_back("weights_dtype=" + v); },
         std::string(kWeightsHelp) + "; the same as the override weights_dtype=...")
      ->check(CLI::IsMember({"auto", "fp32", "bf16"}));
}

}  // namespace statetune::orchestrator
