#!/usr/bin/env bash
# Makes a scratch branch to try `perf bisect` and change-point detection
# on: COMMITS commits on top of BASE, each changing only a note in
# benchmarks/bisect-notes.txt (nothing measurable), except
# commit AT, which tokenizes every rag_query question COUNT more times
# (scripts/perturb.sh tokenize: COUNT 11 slowed rag_query.latency by 4-8%
# in paired compares on a 2-core Xeon, family 6 model 167, AVX-512/AMX). Built in a temporary worktree: the
# working tree and index are not touched.
#
# Usage: scripts/bisect-branch.sh [BRANCH] [BASE] [COMMITS] [AT] [COUNT]
#   defaults: scratch/bisect HEAD 16 11 11
# Prints the branch name and the commit that slows the query.
set -euo pipefail
cd "$(dirname "$0")/.."

branch=${1:-scratch/bisect}
base=$(git rev-parse --verify "${2:-HEAD}^{commit}")
commits=${3:-16}
at=${4:-11}
count=${5:-11}
if git rev-parse -q --verify "refs/heads/$branch" >/dev/null; then
    echo "error: branch $branch exists: delete it (git branch -D $branch) or name another" >&2
    exit 2
fi
tree=$(mktemp -d "${TMPDIR:-/tmp}/bisect-branch.XXXXXX")
trap 'git worktree remove --force "$tree" >/dev/null 2>&1 || true; rm -rf "$tree"' EXIT
git worktree add --quiet --detach "$tree" "$base"
slow=""
for i in $(seq 1 "$commits"); do
    if [ "$i" = "$at" ]; then
        (cd "$tree" && scripts/perturb.sh tokenize "$count")
        git -C "$tree" commit --quiet -am "bisect scratch $i: tokenize each question $count more times"
        slow=$(git -C "$tree" rev-parse HEAD)
    else
        mkdir -p "$tree/benchmarks"
        echo "note $i" >>"$tree/benchmarks/bisect-notes.txt"
        git -C "$tree" add benchmarks/bisect-notes.txt
        git -C "$tree" commit --quiet -m "bisect scratch $i: a note, nothing measurable"
    fi
done
git branch "$branch" "$(git -C "$tree" rev-parse HEAD)"
echo "branch $branch: $commits commits on ${base:0:12}; the slow one is ${slow:0:12} (commit $at)"
