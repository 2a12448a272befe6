#!/usr/bin/env bash
# Makes a known change to perf-workloads' source in the working tree, to
# test the verdicts of `perf check` and `perf compare` against changes they
# never saw (A/A runs, power runs); `revert` restores the files from git.
#
# Usage: scripts/perturb.sh MODE [N]
#   cosmetic         an unused function and another error string: the
#                    code's layout moves, its work does not (an A/A change)
#   tokenize N       the question tokenized N more times inside rag_query's
#                    tokenize stage (one quick check with N = 9 on a 2-core
#                    Xeon, family 6 model 167, AVX-512/AMX: stage +263%,
#                    query latency +4.3%)
#   search BYTES     a scratch buffer of BYTES filled on every HNSW search
#                    (vector_query.hnsw.latency and rag_query's search)
#   spin N           N dependent shift-xor-multiply steps on every HNSW
#                    search: a fixed compute cost, no memory traffic (a
#                    buffer beyond 128 KiB is mmapped per search and the
#                    step jumps; a multiply-add chain LLVM folds 8 steps
#                    into one, which left hnsw.latency unmoved)
#   revert           undo any of the above
# Refuses a tree where those files already differ from HEAD.
set -euo pipefail
cd "$(dirname "$0")/.."

rag=perf-workloads/src/rag.rs
hnsw=perf-workloads/src/index/hnsw.rs
mode=${1:-}

if [ "$mode" = revert ]; then
    git checkout -- "$rag" "$hnsw"
    exit 0
fi
if ! git diff --quiet -- "$rag" "$hnsw"; then
    echo "error: $rag or $hnsw already differs from HEAD: run scripts/perturb.sh revert first" >&2
    exit 2
fi
count=${2:-}
case "$mode" in
    cosmetic)
        cat >>"$rag" <<'EOF'

/// Added by scripts/perturb.sh cosmetic: never called.
#[allow(dead_code)]
#[inline(never)]
fn perturbed_layout(x: u64) -> u64 {
    x.rotate_left(7) ^ 0x5EED
}
EOF
        perl -0pi -e 's/expect\("one vector per question"\)/expect("one vector per question (perturbed)")/' "$rag"
        ;;
    tokenize)
        [[ "$count" =~ ^[0-9]+$ ]] || { echo "error: tokenize needs a count, e.g. scripts/perturb.sh tokenize 9" >&2; exit 2; }
        perl -0pi -e "s/(let batch = timed\(&mut stages, Stage::Tokenize, \|\| \{\n)/\$1            for _ in 0..$count {\n                std::hint::black_box(self.embedder.tokenize(&[question])?);\n            }\n/" "$rag"
        ;;
    search)
        [[ "$count" =~ ^[0-9]+$ ]] || { echo "error: search needs a size in bytes, e.g. scripts/perturb.sh search 65536" >&2; exit 2; }
        perl -0pi -e "s/(fn search\(&self, query: &\[f32\], k: usize\) -> Result<Vec<Hit>, WorkloadError> \{\n)/\$1        std::hint::black_box(vec![1u8; $count]);\n/" "$hnsw"
        ;;
    spin)
        [[ "$count" =~ ^[0-9]+$ ]] || { echo "error: spin needs a count, e.g. scripts/perturb.sh spin 2000" >&2; exit 2; }
        perl -0pi -e "s/(fn search\(&self, query: &\[f32\], k: usize\) -> Result<Vec<Hit>, WorkloadError> \{\n)/\$1        let mut spin = std::hint::black_box(query.len() as u64);\n        for _ in 0..$count {\n            spin = (spin ^ (spin >> 29)).wrapping_mul(0xBF58476D1CE4E5B9);\n        }\n        std::hint::black_box(spin);\n/" "$hnsw"
        ;;
    *)
        echo "error: unknown mode \`$mode\`: cosmetic, tokenize N, search BYTES, spin N or revert" >&2
        exit 2
        ;;
esac
if git diff --quiet -- "$rag" "$hnsw"; then
    echo "error: $mode changed nothing: the source it edits has moved; update scripts/perturb.sh" >&2
    exit 2
fi
git diff --stat -- "$rag" "$hnsw"
