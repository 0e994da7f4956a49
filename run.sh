#!/usr/bin/env bash
# statetune's two set-up commands on a fresh Debian 12 machine (as root):
#   bash run.sh demo   installs what is missing, builds, runs the built-in demo (no download)
#   bash run.sh test   installs what is missing, builds, runs the whole test suite
# Environment: BUILD_DIR (default build), JOBS (default: all cores), STATETUNE_SHARED_DIR
# (default ../shared beside the checkout: tokenizer vocab, benchmark subsets, golden fixtures).
set -euo pipefail
cd "$(dirname "$0")"
what="${1:-}"
case "$what" in
  demo|test|build) ;;
  *) echo "usage: bash run.sh demo|test|build" >&2; exit 2 ;;
esac

# libopenblas0-openmp: without it LibTorch falls back to the reference BLAS, ~70x slower here.
packages=(cmake ninja-build g++ ccache libtorch-dev libopenblas0-openmp libopenmpi-dev openmpi-bin libhdf5-dev libyaml-cpp-dev
          libfmt-dev libgtest-dev nlohmann-json3-dev libcli11-dev libspdlog-dev
          python3-torch python3-h5py python3-numpy python3-pandas python3-matplotlib)
# The Slurm tests run against a real single-node Slurm started for them (test only).
if [ "$what" = test ]; then packages+=(slurm-wlm munge); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

build="${BUILD_DIR:-build}"
jobs="${JOBS:-$(nproc)}"
shared="${STATETUNE_SHARED_DIR:-$(cd .. && pwd)/shared}"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
echo "== configuring $build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTATETUNE_SHARED_DIR="$shared" "${launcher[@]}"
echo "== building with $jobs jobs"
cmake --build "$build" -j "$jobs"

case "$what" in
  demo)
    vocab=()
    [ -f "$shared/data/tokenizer/rwkv_vocab_v20230424.txt" ] && vocab=(--vocab "$shared/data/tokenizer/rwkv_vocab_v20230424.txt")
    "$build/orchestrator/statetune" demo --out "$build/demo" "${vocab[@]}"
    ;;
  test)
    export STATETUNE_SHARED_DIR="$shared"
    # mpirun refuses root without these; the MPI tests set them too.
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    # A local single-node Slurm for the cluster tests (they skip loudly without one); stopped
    # by its pid files at the end, pass or fail.
    if [ "$(id -u)" = 0 ] && [ -x /usr/sbin/slurmctld ]; then
      eval "$(bash cluster/scripts/start_local_slurm.sh)"
      trap 'bash cluster/scripts/stop_local_slurm.sh "$STATETUNE_LOCAL_SLURM"' EXIT
    fi
    ctest --test-dir "$build" --output-on-failure -j "$jobs"
    ;;
esac
