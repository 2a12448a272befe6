#!/usr/bin/env python3
"""This project's vector search (usearch HNSW and exact search, as the RAG
stack runs them) against hnswlib, FAISS's IndexHNSWFlat and numpy, on
exactly the same vectors, taking turns.

The vectors are the stack's own: every chunk of the default corpus and the
default questions, embedded by the stack's embedder (through its on-disk
cache) and exported by perf-workloads' example `search_throughput`, which
then serves our side, kept alive and driven one JSON line at a time. Every
engine builds with M=16, ef_construction=128 on one thread, and searches one
query per call, as a RAG query pays it. Per ef: one warm-up turn each, then
R rounds in ABBA order (round 0: the peers then ours, round 1: ours then the
peers, ...), every turn searching every query once. Only one side computes
at any moment.

First use creates target/perf-tools/ann-venv and installs numpy, hnswlib
and (if it installs) faiss-cpu from PyPI into it, then re-runs itself there.
A benchmark, not a test: nothing here is part of `cargo test`.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_common import ROOT, OthersMeter, RustSide, build_example, cpu_model

VENV = ROOT / "target" / "perf-tools" / "ann-venv"
VENV_PY = VENV / "bin" / "python"
READY = VENV / "installed.json"
INSTALL_HELP = (
    f"if the install fails: delete {VENV.relative_to(ROOT)} and run again, or install by hand with "
    f"`{VENV.relative_to(ROOT)}/bin/python -m pip install numpy hnswlib faiss-cpu` (needs PyPI)"
)
# One thread on every side: BLAS (numpy's exact search) and OpenMP (FAISS)
# read these at import.
ONE_THREAD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# ---------------------------------------------------------------- environment


def pip_install(*specs):
    """pip install; returns None, or the last line of pip's error."""
    cmd = [str(VENV_PY), "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off", *specs]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode == 0:
        return None
    lines = [line for line in (r.stdout + r.stderr).strip().splitlines() if line.strip()]
    print(r.stdout + r.stderr, file=sys.stderr)
    return lines[-1].strip() if lines else f"pip exited with {r.returncode}"


def venv_versions():
    check = (
        "import json, importlib.metadata as m, numpy, hnswlib; "
        "i = hnswlib.Index(space='ip', dim=4); i.init_index(max_elements=2); "
        "i.add_items(numpy.eye(2, 4, dtype='float32')); "
        "print(json.dumps({'numpy': numpy.__version__, 'hnswlib': m.version('hnswlib')}))"
    )
    r = subprocess.run([str(VENV_PY), "-c", check], capture_output=True, text=True)
    if r.returncode != 0:
        last = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "import failed"
        print(f"numpy or hnswlib does not work in the venv: {last}", file=sys.stderr)
        return None
    return json.loads(r.stdout)


def faiss_version():
    r = subprocess.run(
        [str(VENV_PY), "-c", "import faiss; faiss.IndexHNSWFlat(4, 4); print(faiss.__version__)"],
        capture_output=True, text=True,
    )
    if r.returncode != 0:
        return None, (r.stderr.strip().splitlines() or ["import faiss failed"])[-1]
    return r.stdout.strip(), None


def ensure_venv():
    """Creates and fills the venv once; returns when it imports numpy and
    hnswlib (FAISS is optional: why it is missing is kept in installed.json)."""
    if READY.exists() and VENV_PY.exists():
        return
    print(f"first run: creating {VENV.relative_to(ROOT)} with numpy, hnswlib and faiss-cpu from PyPI", file=sys.stderr)
    print(INSTALL_HELP, file=sys.stderr)
    if not VENV_PY.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    # hnswlib is published as source: pip compiles it (a C++ compiler needed).
    why = pip_install("numpy", "hnswlib")
    if why is not None:
        sys.exit(f"pip could not install numpy and hnswlib ({why}; output above): {INSTALL_HELP}")
    versions = venv_versions()
    if versions is None:
        sys.exit(f"numpy or hnswlib does not import in {VENV}: {INSTALL_HELP}")
    why = pip_install("faiss-cpu")
    version, import_error = faiss_version() if why is None else (None, None)
    if version is not None:
        versions["faiss"] = version
    else:
        versions["faiss_missing"] = f"pip install faiss-cpu failed: {why}" if why else f"import faiss failed: {import_error}"
        print(f"faiss: not installed ({versions['faiss_missing']}); going on without it", file=sys.stderr)
    READY.write_text(json.dumps(versions) + "\n")
    print(f"installed {versions}", file=sys.stderr)


def in_venv():
    return Path(sys.prefix).resolve() == VENV.resolve()


# ---------------------------------------------------------------- measuring


def recall(found, truth):
    """Mean over queries of |found ∩ truth| / |truth|."""
    return statistics.fmean(len(set(f) & set(t)) / len(t) for f, t in zip(found, truth))


def fmt_us(ns):
    return "-" if ns is None else f"{ns / 1e3:.1f}"


def fmt_share(x):
    return "?" if x is None else f"{x:.0%}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=20, help="measured rounds per ef, ABBA; a turn searches every query once [default: 20]")
    ap.add_argument("--efs", default="16,32,64,128", help="search expansion factors [default: 16,32,64,128]")
    ap.add_argument("--k", type=int, default=10, help="neighbours per query, and the k of recall@k [default: 10]")
    ap.add_argument("--m", type=int, default=16, help="HNSW M (usearch connectivity) [default: 16]")
    ap.add_argument("--ef-construction", type=int, default=128, help="HNSW ef_construction (usearch expansion_add) [default: 128]")
    ap.add_argument("--storage", choices=["f32", "f16"], default=None,
                    help="element type our graph stores [default: the stack's default, [index] storage]")
    ap.add_argument("--json", metavar="OUT", help="also save every figure as JSON")
    args = ap.parse_args()
    efs = [int(e) for e in args.efs.split(",") if e.strip()]
    if args.rounds < 1 or args.k < 1 or args.m < 2 or args.ef_construction < 1 or not efs or any(e < 1 for e in efs):
        sys.exit("--rounds, --k, --ef-construction and --efs must be positive, --m at least 2")

    for var in ONE_THREAD:
        os.environ[var] = "1"
    if not in_venv():
        ensure_venv()
        os.execv(str(VENV_PY), [str(VENV_PY), str(Path(__file__).resolve()), *sys.argv[1:]])

    import importlib.metadata
    import numpy as np
    import hnswlib
    installed = json.loads(READY.read_text())
    try:
        import faiss
        faiss.omp_set_num_threads(1)
        faiss_note = None
    except ImportError as e:
        faiss = None
        faiss_note = installed.get("faiss_missing") or f"import faiss failed: {e}"

    target_dir = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    binary = build_example("search_throughput", target_dir)
    work = target_dir / "perf-runs" / "ann-bench"
    subprocess.run([str(binary), "--export", str(work)], check=True)
    meta = json.loads((work / "meta.json").read_text())
    n, d, nq, k = meta["n"], meta["dims"], meta["nq"], args.k
    X = np.fromfile(work / "vectors.f32", dtype="<f4").reshape(n, d)
    Q = np.fromfile(work / "queries.f32", dtype="<f4").reshape(nq, d)
    norms = np.linalg.norm(np.concatenate([X, Q]), axis=1)
    if np.abs(norms - 1).max() > 1e-3:
        print(f"note: vectors are not unit length (norms {norms.min():.4f}..{norms.max():.4f}): "
              "inner product is not cosine", file=sys.stderr)
    qs = [np.ascontiguousarray(Q[i]) for i in range(nq)]
    qs_row = [q.reshape(1, d) for q in qs]

    # Ground truth: exact inner products in f64, ties by id.
    scores = Q.astype(np.float64) @ X.astype(np.float64).T
    truth = np.argsort(-scores, axis=1, kind="stable")[:, :k].tolist()

    ours = RustSide([binary, "--serve", work], verb="cmd")
    try:
        h = ours.header
        if (h["n"], h["dims"], h["nq"]) != (n, d, nq):
            sys.exit(f"the Rust side read {h}, not n={n} dims={d} nq={nq}")
        others = OthersMeter(ours.proc.pid)

        # ------------------------------------------------ builds, one thread each
        builds = {}
        storage = {"storage": args.storage} if args.storage else {}
        b = ours.ask(cmd="build", m=args.m, ef_construction=args.ef_construction, **storage)
        builds["ours"] = {"seconds": b["seconds"], "memory_bytes": b["memory_bytes"], "info": b["info"]}

        hnsw = hnswlib.Index(space="ip", dim=d)
        hnsw.init_index(max_elements=n, ef_construction=args.ef_construction, M=args.m)
        hnsw.set_num_threads(1)
        start = time.perf_counter()
        hnsw.add_items(X, np.arange(n), num_threads=1)
        builds["hnswlib"] = {"seconds": time.perf_counter() - start}

        if faiss is not None:
            fidx = faiss.IndexHNSWFlat(d, args.m, faiss.METRIC_INNER_PRODUCT)
            fidx.hnsw.efConstruction = args.ef_construction
            start = time.perf_counter()
            fidx.add(X)
            builds["faiss"] = {"seconds": time.perf_counter() - start}

        # ------------------------------------------------ one turn of each engine

        def py_turn(search):
            ns, ids = [], []
            for i in range(nq):
                t0 = time.perf_counter_ns()
                found = search(i)
                ns.append(time.perf_counter_ns() - t0)
                ids.append(found)
            return ns, ids

        def hnswlib_turn(ef):
            hnsw.set_ef(ef)
            return py_turn(lambda i: hnsw.knn_query(qs[i], k=k, num_threads=1)[0][0].tolist())

        def faiss_turn(ef):
            fidx.hnsw.efSearch = ef
            return py_turn(lambda i: fidx.search(qs_row[i], k)[1][0].tolist())

        def numpy_turn(_ef):
            def exact(i):
                s = X @ qs[i]
                top = np.argpartition(-s, k - 1)[:k]
                return top[np.argsort(-s[top])].tolist()
            return py_turn(exact)

        def ours_turn(ef):
            r = ours.ask(cmd="search", ef=ef, k=k, repeat=1)
            return r["ns"][0], r["ids"]

        def ours_exact_turn(_ef):
            r = ours.ask(cmd="exact", k=k, repeat=1)
            return r["ns"][0], r["ids"]

        def measure(ef, ours_side, peers):
            """Warm-up turn each, then ABBA rounds: peers then ours, ours
            then peers, ... Per engine: every call's ns and the last ids;
            and other processes' CPU share over all the rounds (a turn
            lasts a few ms, less than /proc's 10 ms tick)."""
            sides = {"ours": ours_side, **peers}
            res = {name: {"ns": []} for name in sides}
            for turn in sides.values():
                turn(ef)
            meter = OthersMeter(ours.proc.pid)
            for r in range(args.rounds):
                order = ["ours", *peers] if r % 2 else [*peers, "ours"]
                for name in order:
                    ns, ids = sides[name](ef)
                    res[name]["ns"] += ns
                    res[name]["ids"] = ids
            for name, x in res.items():
                x["p50_ns"] = statistics.median(x["ns"])
                x["recall"] = recall(x["ids"], truth)
                del x["ids"]
            return res, meter.share()

        peers = {"hnswlib": hnswlib_turn}
        if faiss is not None:
            peers["faiss"] = faiss_turn
        rows = []
        for ef in efs:
            print(f"ef {ef}: warm-up, then {args.rounds} rounds of {nq} single-query calls a side", file=sys.stderr)
            res, busy = measure(ef, ours_turn, peers)
            # All queries in one call: hnswlib without the per-call Python
            # overhead (an estimate of what the single-call figure carries).
            # Best of three calls.
            hnsw.set_ef(ef)
            batched = []
            for _ in range(3):
                t0 = time.perf_counter_ns()
                hnsw.knn_query(Q, k=k, num_threads=1)
                batched.append((time.perf_counter_ns() - t0) / nq)
            res["hnswlib"]["batched_ns_per_query"] = min(batched)
            rows.append({"ef": ef, "others_cpu_share": busy, **res})

        print(f"exact search: warm-up, then {args.rounds} rounds of {nq} single-query calls a side", file=sys.stderr)
        exact, exact_busy = measure(None, ours_exact_turn, {"numpy": numpy_turn})
        exact["others_cpu_share"] = exact_busy
        others_share, steal_share = others.shares()
    finally:
        ours.close()

    def ratio(peer_ns, ours_ns):
        """Ours' QPS over the peer's, from the p50 latencies; above 1 means
        ours is faster."""
        return peer_ns / ours_ns

    # Per recall level the peer reaches (at its smallest ef reaching it),
    # ours at the smallest ef reaching at least as much.
    matched = {}
    for peer in peers:
        matched[peer] = []
        for row in sorted(rows, key=lambda r: r["ef"]):
            want = row[peer]["recall"]
            if any(abs(e["recall"] - want) < 1e-9 for e in matched[peer]):
                continue
            hit = next((o for o in sorted(rows, key=lambda r: r["ef"]) if o["ours"]["recall"] >= want - 1e-9), None)
            matched[peer].append({
                "peer_ef": row["ef"],
                "recall": want,
                "ours_ef": hit and hit["ef"],
                "ours_recall": hit and hit["ours"]["recall"],
                "peer_p50_ns": row[peer]["p50_ns"],
                "ours_p50_ns": hit and hit["ours"]["p50_ns"],
                "qps_ratio": hit and ratio(row[peer]["p50_ns"], hit["ours"]["p50_ns"]),
            })

    machine = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "hnswlib": importlib.metadata.version("hnswlib"),
        "faiss": faiss.__version__ if faiss is not None else None,
        "faiss_missing": faiss_note,
        "usearch": h["usearch"],
        "ours_dot_kernel": "avx512" if h["avx512"] else "baseline x86-64",
        "others_cpu_share": others_share,
        "steal_share": steal_share,
    }
    report = {
        "machine": machine,
        "vectors": {k_: v for k_, v in meta.items() if k_ != "questions"},
        "settings": {"m": args.m, "ef_construction": args.ef_construction, "k": k, "rounds": args.rounds, "efs": efs},
        "builds": builds,
        "search": rows,
        "matched_recall": matched,
        "exact": exact,
    }

    print()
    print(f"machine: {machine['cpu']}, {machine['cores']} cores; python {machine['python']}, numpy {machine['numpy']}, "
          f"hnswlib {machine['hnswlib']}, "
          + (f"faiss {machine['faiss']}" if faiss is not None else f"faiss: not installed ({faiss_note})")
          + f"; ours: usearch {machine['usearch']} with the perf-workloads dot kernel ({machine['ours_dot_kernel']}); "
          "one thread on every side")
    if others_share is not None:
        print(f"other processes used {others_share:.1%} of the cores while this measured, the hypervisor "
              f"stole {steal_share:.1%}; a row whose share (last column, over its rounds) is more than a few % is not clean")
    print(f"vectors: {n} chunks of the default corpus and {nq} questions, {d} dimensions, unit length "
          f"({meta['model']}, {meta['engine']}; {meta['cache_hits']} of {n} chunk vectors from the cache)")
    print(f"build (M={args.m}, ef_construction={args.ef_construction}, one thread): "
          + ", ".join(f"{name} {b['seconds']:.2f} s" for name, b in builds.items()))
    print()
    print(f"| ef | ours µs p50 | hnswlib µs p50 | faiss µs p50 | recall@{k} ours / hnswlib / faiss | ratio ours/hnswlib QPS | others' CPU |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        f = row.get("faiss")
        recalls = f"{row['ours']['recall']:.3f} / {row['hnswlib']['recall']:.3f} / " + (f"{f['recall']:.3f}" if f else "-")
        print(f"| {row['ef']} | {fmt_us(row['ours']['p50_ns'])} | {fmt_us(row['hnswlib']['p50_ns'])} | "
              f"{fmt_us(f['p50_ns']) if f else '-'} | {recalls} | "
              f"{ratio(row['hnswlib']['p50_ns'], row['ours']['p50_ns']):.2f}x | {fmt_share(row['others_cpu_share'])} |")
    print()
    print("hnswlib with all queries in one call (no per-call Python overhead; best of 3), µs per query: "
          + ", ".join(f"ef {row['ef']} {row['hnswlib']['batched_ns_per_query'] / 1e3:.1f}" for row in rows))
    for peer, entries in matched.items():
        print()
        print(f"at matched recall (per recall@{k} level {peer} reaches, at its smallest ef: ours at the smallest ef reaching it):")
        print(f"| {peer} ef | {peer} recall | ours ef | ours recall | {peer} µs p50 | ours µs p50 | ratio ours/{peer} QPS |")
        print("|---|---|---|---|---|---|---|")
        for e in entries:
            if e["ours_ef"] is None:
                print(f"| {e['peer_ef']} | {e['recall']:.3f} | not reached at ef ≤ {max(efs)} | - | "
                      f"{fmt_us(e['peer_p50_ns'])} | - | - |")
            else:
                print(f"| {e['peer_ef']} | {e['recall']:.3f} | {e['ours_ef']} | {e['ours_recall']:.3f} | "
                      f"{fmt_us(e['peer_p50_ns'])} | {fmt_us(e['ours_p50_ns'])} | {e['qps_ratio']:.2f}x |")
    print()
    print(f"exact search (top-{k} of {n}, one query per call): ours (FlatIndex) {fmt_us(exact['ours']['p50_ns'])} µs p50, "
          f"numpy (X @ q, argpartition) {fmt_us(exact['numpy']['p50_ns'])} µs p50, "
          f"ratio ours/numpy QPS {ratio(exact['numpy']['p50_ns'], exact['ours']['p50_ns']):.2f}x; "
          f"recall@{k} against the f64 ground truth: ours {exact['ours']['recall']:.3f}, numpy {exact['numpy']['recall']:.3f}; "
          f"others' CPU meanwhile {fmt_share(exact_busy)}")
    print(f"µs p50: median over {nq} queries x {args.rounds} rounds of single-query calls, each side timing itself "
          "(ours in Rust around HnswIndex/FlatIndex::search, the peers in Python around the call); "
          "ratio: peer p50 / ours p50, above 1 means ours is faster")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"saved {args.json}")


if __name__ == "__main__":
    main()
