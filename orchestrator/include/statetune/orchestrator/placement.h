#pragma once
// Where a command or a run computes, and in what precision: the run keys `device: auto | cpu
// | cuda` and `weights_dtype: auto | fp32 | bf16`, and the commands' --device and
// --weights-dtype. auto is a GPU when LibTorch sees one, else the CPU; weights auto are bf16
// on a GPU and fp32 on the CPU (the state, the WKV recurrence, the loss and the log-softmax
// are fp32 either way, workers/rwkv7_model.h). A process under mpirun or srun takes GPU
// local_rank % (GPUs it sees), so the ranks of a node spread over its GPUs.
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "statetune/sweeps/run_spec.h"
#include "statetune/workers/rwkv7_model.h"

namespace CLI {
class App;
}

namespace statetune::orchestrator {

struct Placement {
  at::Device device = at::kCPU;
  at::ScalarType weights_dtype = at::kFloat;

  // "cuda:1 (NVIDIA H200 (sm_90, 139.8 GiB)), bf16 weights" or "cpu, fp32 weights".
  std::string describe() const;
  // On a GPU, says so on stderr ("computing on ..."); on the CPU, nothing.
  void announce() const;
  // Loads a checkpoint onto this device, in this precision.
  workers::Rwkv7Model load_model(const std::string& path) const;
  // Waits for the work queued on the device (a no-op on the CPU): benches time with it.
  void synchronize() const;
  // The device's peak bytes held by tensors since reset_peak_memory() (0 on the CPU).
  double peak_memory_mib() const;
  void reset_peak_memory() const;
};

// Resolves the choices and, for a GPU, makes it this process's current device. `where`
// names the source of the choice in errors ("run.yaml: device", "--device").
Placement resolve_placement(sweeps::Device device, sweeps::WeightsDtype weights, int local_rank,
                            const std::string& where);

// This process's rank among the ranks of its node from the launcher's environment
// (OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID, MPI_LOCALRANKID, LOCAL_RANK), 0 without one.
int local_rank_from_environment();

// --device and --weights-dtype for a command that loads a model.
struct PlacementOptions {
  std::string device = "auto", weights_dtype = "auto";
  Placement resolve() const;  // with local_rank_from_environment()
};
void add_placement_options(CLI::App& sub, PlacementOptions& options);
// The same two flags for a command driven by run configs (tune, sweep): each appends the
// override `device=...` / `weights_dtype=...` to `overrides`.
void add_placement_overrides(CLI::App& sub, std::vector<std::string>& overrides);

}  // namespace statetune::orchestrator
