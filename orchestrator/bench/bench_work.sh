# Sourced by the bench scripts after they set $build: $bin (that build's statetune), $here (this
# folder), a temporary working folder as the current directory (removed on exit), and in it
# vocab.txt, a byte-level vocabulary (byte_vocab.py).
bin="$(cd "$build" && pwd)/orchestrator/statetune"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
python3 "$here/byte_vocab.py" vocab.txt
