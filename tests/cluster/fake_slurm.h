#pragma once
// Stand-ins for sbatch, scontrol, squeue and scancel, so `statetune submit` and `status` can
// be tested end to end without a Slurm. Each logs its arguments to FAKE_DIR/<name>.log.
//   sbatch    prints job ids 100, 101, ...; fails like the real one for a script with
//             --partition=nosuch, and for every call after FAKE_SBATCH_FAIL_AFTER successes
//   scontrol  `show config` prints MaxArraySize = FAKE_MAX_ARRAY_SIZE (default 1001)
//   squeue    `-j IDS` prints FAKE_DIR/squeue_rows (else "Invalid job id", exit 1); the
//             queue listing used for limits is empty
#include <filesystem>
#include <string>

#include "cluster_files.h"

namespace statetune::testing {

inline const char* kFakeSbatchScript = R"SH(#!/bin/bash
echo "$*" >> "$FAKE_DIR/sbatch.log"
script="${@: -1}"
if grep -q -- '--partition=nosuch' "$script"; then
  echo "sbatch: error: invalid partition specified: nosuch" >&2
  echo "sbatch: error: Batch job submission failed: Invalid partition name specified" >&2
  exit 1
fi
n=$(cat "$FAKE_DIR/submitted" 2>/dev/null || echo 0)
if [ -n "${FAKE_SBATCH_FAIL_AFTER:-}" ] && [ "$n" -ge "$FAKE_SBATCH_FAIL_AFTER" ]; then
  echo "sbatch: error: QOSMaxSubmitJobPerUserLimit" >&2
  exit 1
fi
echo $((n + 1)) > "$FAKE_DIR/submitted"
echo $((100 + n))
)SH";

inline const char* kFakeScontrolScript = R"SH(#!/bin/bash
echo "$*" >> "$FAKE_DIR/scontrol.log"
if [ "$1 $2" = "show config" ]; then
  echo "Configuration data as of 2025-01-31T12:00:00"
  echo "MaxArraySize            = ${FAKE_MAX_ARRAY_SIZE:-1001}"
  echo "MaxJobCount             = 10000"
fi
)SH";

inline const char* kFakeSqueueScript = R"SH(#!/bin/bash
echo "$*" >> "$FAKE_DIR/squeue.log"
case " $* " in
  *" -j "*)
    if [ -f "$FAKE_DIR/squeue_rows" ]; then cat "$FAKE_DIR/squeue_rows"; exit 0; fi
    echo "slurm_load_jobs error: Invalid job id specified" >&2
    exit 1 ;;
esac
)SH";

inline const char* kFakeScancelScript = R"SH(#!/bin/bash
echo "$*" >> "$FAKE_DIR/scancel.log"
)SH";

// Writes the stand-ins to dir/bin; returns the environment prefix that puts them first on PATH.
inline std::string install_fake_slurm(const std::string& dir) {
  for (const auto& [name, text] : {std::pair{"sbatch", kFakeSbatchScript}, {"scontrol", kFakeScontrolScript},
                                   {"squeue", kFakeSqueueScript}, {"scancel", kFakeScancelScript}}) {
    const std::string path = write_file(dir + "/bin", name, text);
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  }
  return "env PATH=" + dir + "/bin:$PATH FAKE_DIR=" + dir + " ";
}

}  // namespace statetune::testing
