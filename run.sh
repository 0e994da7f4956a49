#!/usr/bin/env bash
# statetune's two set-up commands on a fresh Debian 12 machine (as root):
#   bash run.sh demo   installs what is missing, builds, runs the built-in demo
#   bash run.sh test   installs what is missing, builds, runs the whole test suite
# What is missing is installed from Debian's archive (apt) and PyPI (the torch wheel, whose
# LibTorch the program links; once per machine). Environment: BUILD_DIR (default build), JOBS
# (default: all cores), STATETUNE_SHARED_DIR (default ../shared beside the checkout: tokenizer
# vocab, benchmark subsets, golden fixtures), STATETUNE_TORCH_ENV (default
# ~/.cache/statetune/torch-2.11.0, or under STATETUNE_CACHE).
set -euo pipefail
cd "$(dirname "$0")"
what="${1:-}"
case "$what" in
  demo|test|build) ;;
  *) echo "usage: bash run.sh demo|test|build" >&2; exit 2 ;;
esac

# LibTorch is not among these: it comes from PyPI's torch wheel below. python3-venv makes the
# wheel's environment; h5py/numpy/pandas/matplotlib serve the results tools (/usr/bin/python3).
# libcurl/libarchive/libssl: `statetune fetch`'s downloader (built without them, it says so).
packages=(cmake ninja-build g++ ccache python3-venv libopenmpi-dev openmpi-bin libhdf5-dev libyaml-cpp-dev
          libfmt-dev libgtest-dev nlohmann-json3-dev libcli11-dev libcurl4-openssl-dev libarchive-dev libssl-dev
          python3-h5py python3-numpy python3-pandas python3-matplotlib)
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

# LibTorch: the one inside PyPI's torch==2.11.0 wheel, the GPU machine's version (CUDA 13.0,
# with its CUDA libraries as nvidia-* wheels; it builds and links without a GPU). It goes into
# a virtual environment outside the checkout, once per machine: every later run and every
# fresh clone on this machine reuses it (about 4.6 GB, 1-2 minutes to download). A half-made
# environment (no .complete stamp) is removed and made again.
torch_version=2.11.0
torch_env="${STATETUNE_TORCH_ENV:-${STATETUNE_CACHE:-$HOME/.cache/statetune}/torch-$torch_version}"
if [ ! -f "$torch_env/.complete" ]; then
  echo "== installing torch==$torch_version from PyPI into $torch_env (once per machine)"
  rm -rf "$torch_env"
  mkdir -p "$(dirname "$torch_env")"
  /usr/bin/python3 -m venv "$torch_env"
  "$torch_env/bin/pip" install --no-cache-dir --disable-pip-version-check -q "torch==$torch_version"
  "$torch_env/bin/python" -W ignore -c "import torch; assert torch.__version__.startswith('$torch_version'), torch.__version__"
  touch "$torch_env/.complete"
fi
torch_prefix=$("$torch_env/bin/python" -W ignore -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null)

build="${BUILD_DIR:-build}"
jobs="${JOBS:-$(nproc)}"
shared="${STATETUNE_SHARED_DIR:-$(cd .. && pwd)/shared}"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# ccache caches sources compiled against a precompiled header only with these (CMakeLists: PCH).
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"
echo "== configuring $build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTATETUNE_SHARED_DIR="$shared" "${launcher[@]}" \
  -DCMAKE_PREFIX_PATH="$torch_prefix" -DSTATETUNE_TORCH_PYTHON="$torch_env/bin/python"
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
