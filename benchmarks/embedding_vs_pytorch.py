#!/usr/bin/env python3
"""This project's sentence encoder against sentence-transformers (PyTorch),
on exactly the same chunk texts, taking turns.

The Rust side is perf-workloads' example `embed_throughput`, kept alive and
driven one JSON line at a time; the Python side is
`SentenceTransformer(<the same model folder>).encode(texts, batch_size=b)`.
Per batch size: one warm-up each, then R rounds in ABBA order (round 0:
torch then ours, round 1: ours then torch, ...), every round embedding all
N texts on each side. Only one side computes at any moment.

First use creates target/perf-tools/st-venv and installs PyTorch and
sentence-transformers from PyPI into it (run on the CPU), then re-runs
itself there. A benchmark, not a test: nothing here is part of `cargo test`.
"""

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_common import ROOT, OthersMeter, RustSide, build_example, cpu_model

VENV = ROOT / "target" / "perf-tools" / "st-venv"
VENV_PY = VENV / "bin" / "python"
READY = VENV / "installed.json"
QUERY = "How do I declare a mutable variable?"
# PyPI's Linux torch wheel depends on CUDA runtime packages (several GB);
# CPU inference needs none of them.
GPU_ONLY = ("nvidia-", "triton", "cuda-")
INSTALL_HELP = (
    f"if the install fails: delete {VENV.relative_to(ROOT)} and run again, or install by hand with "
    f"`{VENV.relative_to(ROOT)}/bin/python -m pip install torch sentence-transformers` (needs PyPI)"
)


# ---------------------------------------------------------------- environment


def run_pip(*args, quiet=False):
    """pip install; `quiet` keeps its output unless it fails."""
    cmd = [str(VENV_PY), "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off", *args]
    if not quiet:
        subprocess.run(cmd, check=True)
        return
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout + r.stderr, file=sys.stderr)
        raise subprocess.CalledProcessError(r.returncode, cmd)


def requirement_name(req):
    return re.match(r"[A-Za-z0-9._-]+", req).group(0).lower().replace("_", "-")


def install_without(dist, spec, unwanted):
    """`spec` with --no-deps, then its own requirements less the unwanted
    ones (extras left out): pip would otherwise resolve the unwanted ones
    again from the installed package's metadata."""
    run_pip("--no-deps", spec, quiet=True)
    out = subprocess.run(
        [str(VENV_PY), "-c", f"import importlib.metadata as m, json; print(json.dumps(m.requires({dist!r}) or []))"],
        check=True, capture_output=True, text=True,
    ).stdout
    keep = [
        r for r in json.loads(out)
        if "extra ==" not in r and not unwanted(requirement_name(r))
    ]
    if keep:
        run_pip(*keep, quiet=True)


def venv_works():
    check = (
        "import torch, sentence_transformers, json; x = torch.randn(64, 64); "
        "assert torch.isfinite(x @ x).all(); "
        "print(json.dumps({'torch': torch.__version__, "
        "'sentence_transformers': sentence_transformers.__version__}))"
    )
    r = subprocess.run([str(VENV_PY), "-c", check], capture_output=True, text=True)
    if r.returncode != 0:
        last = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "import failed"
        print(f"torch or sentence-transformers does not work in the venv: {last}", file=sys.stderr)
        return None
    return json.loads(r.stdout)


def ensure_venv():
    """Creates and fills the venv once; returns when it imports torch and
    sentence-transformers."""
    if READY.exists() and VENV_PY.exists():
        return
    print(f"first run: creating {VENV.relative_to(ROOT)} with PyTorch (CPU) and sentence-transformers from PyPI", file=sys.stderr)
    print(INSTALL_HELP, file=sys.stderr)
    if not VENV_PY.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    versions = None
    try:
        print("trying torch without its CUDA packages", file=sys.stderr)
        install_without("torch", "torch", lambda n: n.startswith(GPU_ONLY))
        install_without("sentence-transformers", "sentence-transformers", lambda n: n == "torch")
        versions = venv_works()
    except subprocess.CalledProcessError as e:
        print(f"slim install failed ({e})", file=sys.stderr)
    if versions is None:
        # PyPI's Linux x86_64 torch loads the CUDA libraries at import even
        # on a CPU, so this is the usual outcome there.
        print("installing torch with all its dependencies (the CUDA packages: about 5 GB on disk)", file=sys.stderr)
        try:
            run_pip("torch", "sentence-transformers")
        except subprocess.CalledProcessError:
            sys.exit(f"pip could not install torch and sentence-transformers (above): {INSTALL_HELP}")
        versions = venv_works()
    if versions is None:
        sys.exit(f"torch or sentence-transformers does not import in {VENV}: {INSTALL_HELP}")
    READY.write_text(json.dumps(versions) + "\n")
    print(f"installed {versions}", file=sys.stderr)


def in_venv():
    return Path(sys.prefix).resolve() == VENV.resolve()


# ---------------------------------------------------------------- measuring


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    na = sum(x * x for x in a) ** 0.5
    nb = sum(y * y for y in b) ** 0.5
    return dot / (na * nb)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", default="native", choices=["native", "candle"], help="our embedding engine [default: native, the stack's]")
    ap.add_argument("--rounds", type=int, default=3, help="measured rounds per batch size, ABBA [default: 3]")
    ap.add_argument("--count", type=int, default=300, help="first N chunks of the default corpus [default: 300]")
    ap.add_argument("--batches", default="1,10,32,50", help="batch sizes [default: 1,10,32,50]")
    ap.add_argument("--query-calls", type=int, default=50, help="calls of the short query per side [default: 50]")
    ap.add_argument("--json", metavar="OUT", help="also save every figure as JSON")
    args = ap.parse_args()
    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    if args.rounds < 1 or args.count < 1 or args.query_calls < 2 or any(b < 1 for b in batches):
        sys.exit("--rounds, --count, --batches must be positive and --query-calls at least 2")

    if not in_venv():
        ensure_venv()
        os.execv(str(VENV_PY), [str(VENV_PY), str(Path(__file__).resolve()), *sys.argv[1:]])

    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import torch
    import sentence_transformers
    from sentence_transformers import SentenceTransformer

    threads = os.cpu_count()
    torch.set_num_threads(threads)

    target_dir = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    binary = build_example("embed_throughput", target_dir)
    work = target_dir / "perf-runs" / "st-bench"
    work.mkdir(parents=True, exist_ok=True)
    texts_file = work / f"texts-{args.count}.json"
    subprocess.run([str(binary), "--texts-out", str(texts_file), "--count", str(args.count)], check=True)
    texts = json.loads(texts_file.read_text())
    n = len(texts)

    ours = RustSide([binary, "--serve", "--texts", texts_file, "--engine", args.engine], verb="op")
    try:
        h = ours.header
        model = SentenceTransformer(h["model_dir"], device="cpu")
        if model.max_seq_length != h["max_seq_length"]:
            print(f"note: max_seq_length differs: torch {model.max_seq_length}, ours {h['max_seq_length']}", file=sys.stderr)
        torch_tokens = sum(
            len(model.tokenizer(t, truncation=True, max_length=model.max_seq_length)["input_ids"]) for t in texts
        )
        if torch_tokens != h["tokens"]:
            print(f"note: token counts differ: torch {torch_tokens}, ours {h['tokens']}", file=sys.stderr)

        def torch_embed(b):
            start = time.perf_counter()
            model.encode(texts, batch_size=b, show_progress_bar=False)
            return time.perf_counter() - start

        def ours_embed(b):
            return ours.ask(op="embed", batch=b)["seconds"]

        others = OthersMeter(ours.proc.pid)
        rows = []
        for b in batches:
            print(f"batch {b}: warm-up, then {args.rounds} rounds of {n} texts a side", file=sys.stderr)
            torch_embed(b)
            ours_embed(b)
            t_s, o_s, busy = [], [], []

            def timed(side, out):
                m = OthersMeter(ours.proc.pid)
                out.append(side(b))
                busy.append(m.share())

            for r in range(args.rounds):
                if r % 2 == 0:
                    timed(torch_embed, t_s)
                    timed(ours_embed, o_s)
                else:
                    timed(ours_embed, o_s)
                    timed(torch_embed, t_s)
            rows.append({
                "batch": b,
                "ours_seconds": o_s,
                "torch_seconds": t_s,
                # Other processes' share of the cores during each call, in order.
                "others_cpu_share": busy,
                "ours_docs_per_s": statistics.median(n / s for s in o_s),
                "torch_docs_per_s": statistics.median(n / s for s in t_s),
                "ours_tokens_per_s": statistics.median(h["tokens"] / s for s in o_s),
                "torch_tokens_per_s": statistics.median(torch_tokens / s for s in t_s),
                # Per round, ours against the torch run next to it.
                "ratio": statistics.median(t / o for o, t in zip(o_s, t_s)),
                "rounds": args.rounds,
            })

        # One short query: warm-up, then two halves in ABBA order.
        half = args.query_calls // 2
        for _ in range(5):
            model.encode(QUERY, show_progress_bar=False)
        ours.ask(op="query", text=QUERY, repeat=5)
        q_torch, q_ours = [], []
        q_meter = OthersMeter(ours.proc.pid)

        def torch_queries(k):
            for _ in range(k):
                start = time.perf_counter()
                model.encode(QUERY, show_progress_bar=False)
                q_torch.append(time.perf_counter() - start)

        torch_queries(half)
        q_ours += ours.ask(op="query", text=QUERY, repeat=args.query_calls - half)["seconds"]
        q_ours += ours.ask(op="query", text=QUERY, repeat=half)["seconds"]
        torch_queries(args.query_calls - half)
        query = {
            "text": QUERY,
            "calls": args.query_calls,
            "ours_p50_ms": statistics.median(q_ours) * 1e3,
            "torch_p50_ms": statistics.median(q_torch) * 1e3,
            "others_cpu_share": q_meter.share(),
        }

        # Parity: the shortest, median and longest chunk, the first one and
        # the query, as one padded batch on each side.
        by_len = sorted(range(n), key=lambda i: len(texts[i]))
        picks = [texts[by_len[0]], texts[by_len[n // 2]], texts[by_len[-1]], texts[0], QUERY]
        v_ours = ours.ask(op="vectors", texts=picks)["vectors"]
        v_torch = model.encode(picks, batch_size=32, show_progress_bar=False).tolist()
        cosines = [cosine(a, b) for a, b in zip(v_ours, v_torch)]
        others_share, steal_share = others.shares()
    finally:
        ours.close()

    machine = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "sentence_transformers": sentence_transformers.__version__,
        "ours_engine": h["engine"],
        "ours_describe": h["describe"],
        "ours_threads": h["threads"],
        "model_dir": h["model_dir"],
        "weights_sha256": h["weights_sha256"],
        "others_cpu_share": others_share,
        "steal_share": steal_share,
    }
    report = {
        "machine": machine,
        "texts": {
            "count": n,
            "mean_chars": sum(len(t) for t in texts) / n,
            "tokens_ours": h["tokens"],
            "tokens_torch": torch_tokens,
        },
        "batches": rows,
        "query": query,
        "parity": {"texts": len(picks), "cosines": cosines, "min_cosine": min(cosines)},
    }

    print()
    print(f"machine: {machine['cpu']}, {machine['cores']} cores; torch {machine['torch']} "
          f"({machine['torch_threads']} threads), sentence-transformers {machine['sentence_transformers']}; "
          f"ours: {machine['ours_describe']} (--engine {machine['ours_engine']}, {machine['ours_threads']} threads)")
    if others_share is not None:
        print(f"other processes used {others_share:.1%} of the cores while this measured, the hypervisor "
              f"stole {steal_share:.1%}; a figure whose worst call saw more than a few % is not clean "
              "(torch's OpenMP threads suffer most: a busy core stalls every parallel region)")
    print(f"texts: the first {n} chunks of the default corpus, {report['texts']['mean_chars']:.0f} characters "
          f"and {h['tokens'] / n:.1f} tokens on average (ours {h['tokens']}, torch {torch_tokens} tokens)")
    print()
    print("| batch | ours docs/s | torch docs/s | ours tokens/s | torch tokens/s | ratio (ours/torch) | n rounds | others' CPU, worst call |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        worst = max((x for x in r["others_cpu_share"] if x is not None), default=None)
        print(f"| {r['batch']} | {r['ours_docs_per_s']:.1f} | {r['torch_docs_per_s']:.1f} | "
              f"{r['ours_tokens_per_s']:.0f} | {r['torch_tokens_per_s']:.0f} | {r['ratio']:.2f}x | {r['rounds']} | "
              f"{'?' if worst is None else f'{worst:.0%}'} |")
    print()
    print(f"one short query ({QUERY!r}), p50 of {args.query_calls} calls: "
          f"ours {query['ours_p50_ms']:.2f} ms, torch {query['torch_p50_ms']:.2f} ms "
          f"(ratio {query['torch_p50_ms'] / query['ours_p50_ms']:.2f}x; others' CPU meanwhile "
          f"{'?' if query['others_cpu_share'] is None else format(query['others_cpu_share'], '.0%')})")
    print(f"parity: min cosine ours vs torch over {len(picks)} texts (one padded batch): {min(cosines):.6f}")
    print("docs/s and tokens/s: medians over rounds; ratio: median over rounds of ours/torch docs/s, "
          "each round's pair measured back to back")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"saved {args.json}")


if __name__ == "__main__":
    main()
