#!/usr/bin/env python3
"""This project's sentence encoder against sentence-transformers (PyTorch),
ONNX Runtime and OpenVINO, on exactly the same chunk texts, taking turns.

The Rust side is perf-workloads' example `embed_throughput`, kept alive and
driven one JSON line at a time; PyTorch's side is
`SentenceTransformer(<the same model folder>).encode(texts, batch_size=b)`.
ONNX Runtime and OpenVINO run that folder's BertModel, exported once to ONNX
(cached under target/perf-tools/onnx): ONNX Runtime in fp32 on its CPU
execution provider with one intra-op thread per core, OpenVINO on "CPU" at
its own default precision (bf16 on hosts with AMX or AVX-512 BF16; the
output says which). Around both, Python does what sentence-transformers does
for all-MiniLM-L6-v2: sort by length, tokenise each batch with the folder's
tokenizer (padded to the batch's longest text, at most 256 tokens), mean-pool
over the attention mask, L2-normalise. Every side's timing includes its
tokenisation.

Per batch size: one warm-up each, then R rounds, every round embedding all N
texts on each side, one side after the other. The order follows a Williams
Latin square, round r taking row r mod 4 of
    torch, ours, OpenVINO, ONNX Runtime
    ours, ONNX Runtime, torch, OpenVINO
    ONNX Runtime, OpenVINO, ours, torch
    OpenVINO, torch, ONNX Runtime, ours
so over every 4 rounds each side runs first (and in each other position)
once, and directly follows each other side once. The short query's calls
come in four blocks, one per row. Only one side computes at any moment.

First use creates target/perf-tools/st-venv and installs PyTorch,
sentence-transformers, ONNX Runtime, OpenVINO and onnx from PyPI into it (run
on the CPU), then re-runs itself there; a venv made before the ONNX Runtime
and OpenVINO sides existed gets those on its next run. A benchmark, not a
test: nothing here is part of `cargo test`.
"""

import argparse
import hashlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

from bench_common import ROOT, OthersMeter, RustSide, build_example, cpu_model

VENV = ROOT / "target" / "perf-tools" / "st-venv"
VENV_PY = VENV / "bin" / "python"
READY = VENV / "installed.json"
ONNX_CACHE = ROOT / "target" / "perf-tools" / "onnx"
QUERY = "How do I declare a mutable variable?"
# PyPI's Linux torch wheel depends on CUDA runtime packages (several GB);
# CPU inference needs none of them.
GPU_ONLY = ("nvidia-", "triton", "cuda-")
# The peers' runtimes, and onnx, which torch.onnx.export writes the model with.
PEER_PACKAGES = ("onnxruntime", "openvino", "onnx")
INSTALL_HELP = (
    f"if the install fails: delete {VENV.relative_to(ROOT)} and run again, or install by hand with "
    f"`{VENV.relative_to(ROOT)}/bin/python -m pip install torch sentence-transformers {' '.join(PEER_PACKAGES)}` "
    "(needs PyPI)"
)
SIDES = ("torch", "ours", "onnxruntime", "openvino")
PEERS = ("torch", "onnxruntime", "openvino")
LABELS = {"torch": "torch", "ours": "ours", "onnxruntime": "ONNX Runtime", "openvino": "OpenVINO"}
# Rows of a Williams Latin square over SIDES (see the docstring).
ORDERS = ((0, 1, 3, 2), (1, 2, 0, 3), (2, 3, 1, 0), (3, 0, 2, 1))
ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
ONNX_OPSET = 17


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


def venv_versions(modules, check=""):
    """{module: version} once `modules` import in the venv and `check` (a
    statement run after the imports) passes; None otherwise."""
    code = (
        f"import json, sys, {', '.join(modules)}; {check}"
        f"print(json.dumps({{m: sys.modules[m].__version__ for m in {list(modules)!r}}}))"
    )
    r = subprocess.run([str(VENV_PY), "-c", code], capture_output=True, text=True)
    if r.returncode != 0:
        last = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "import failed"
        print(f"{' or '.join(modules)} does not work in the venv: {last}", file=sys.stderr)
        return None
    return json.loads(r.stdout)


def torch_versions():
    return venv_versions(
        ("torch", "sentence_transformers"),
        "x = torch.randn(64, 64); assert torch.isfinite(x @ x).all(); ",
    )


def install_torch():
    """PyTorch (CPU) and sentence-transformers; returns their versions."""
    print(f"first run: creating {VENV.relative_to(ROOT)} with PyTorch (CPU) and sentence-transformers from PyPI", file=sys.stderr)
    print(INSTALL_HELP, file=sys.stderr)
    versions = None
    try:
        print("trying torch without its CUDA packages", file=sys.stderr)
        install_without("torch", "torch", lambda n: n.startswith(GPU_ONLY))
        install_without("sentence-transformers", "sentence-transformers", lambda n: n == "torch")
        versions = torch_versions()
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
        versions = torch_versions()
    if versions is None:
        sys.exit(f"torch or sentence-transformers does not import in {VENV}: {INSTALL_HELP}")
    return versions


def install_peers():
    """ONNX Runtime, OpenVINO and onnx; returns their versions."""
    print(f"installing ONNX Runtime, OpenVINO and onnx from PyPI into {VENV.relative_to(ROOT)}", file=sys.stderr)
    print(INSTALL_HELP, file=sys.stderr)
    try:
        run_pip(*PEER_PACKAGES, quiet=True)
    except subprocess.CalledProcessError:
        sys.exit(f"pip could not install {', '.join(PEER_PACKAGES)} (above): {INSTALL_HELP}")
    versions = venv_versions(PEER_PACKAGES)
    if versions is None:
        sys.exit(f"{', '.join(PEER_PACKAGES)} do not import in {VENV}: {INSTALL_HELP}")
    return versions


def ensure_venv():
    """Creates and fills the venv once, adding the peers to a venv made
    before them; returns when it imports everything."""
    versions = json.loads(READY.read_text()) if READY.exists() and VENV_PY.exists() else {}
    if all(m in versions for m in ("torch", "sentence_transformers", *PEER_PACKAGES)):
        return
    if not VENV_PY.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if "torch" not in versions:
        versions = install_torch()
    versions.update(install_peers())
    READY.write_text(json.dumps(versions) + "\n")
    print(f"installed {versions}", file=sys.stderr)


def in_venv():
    return Path(sys.prefix).resolve() == VENV.resolve()


# ---------------------------------------------------------------- the ONNX peers


def onnx_model(model_dir, weights_sha256, tokenizer):
    """The folder's BertModel as ONNX (token embeddings out, batch and
    sequence axes dynamic); exported once per weights, config and torch
    version, which the file name's key stands for."""
    import torch
    from transformers import AutoModel

    key = hashlib.sha256(
        "\n".join([weights_sha256, (Path(model_dir) / "config.json").read_text(), torch.__version__, str(ONNX_OPSET)]).encode()
    ).hexdigest()[:16]
    path = ONNX_CACHE / f"{Path(model_dir).name}-{key}.onnx"
    if path.exists():
        return path
    print(f"exporting {model_dir} to {path}", file=sys.stderr)
    # Eager attention: plain MatMul/Softmax; the SDPA path branches in Python
    # on its inputs, which a trace would freeze.
    bert = AutoModel.from_pretrained(model_dir, attn_implementation="eager").eval()

    class TokenEmbeddings(torch.nn.Module):
        # Inputs by name: BertModel's positional parameters differ across
        # transformers versions.
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
            ).last_hidden_state

    # A padded sample, so no part of the traced mask handling sees all ones.
    sample = tokenizer(["Hi.", QUERY], padding=True, return_tensors="pt")
    ONNX_CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter (it needs only onnx; the torch.export one
        # also needs onnxscript) warns that it is deprecated and that traced
        # shape checks became constants; the parity check tests the result.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            TokenEmbeddings(), tuple(sample[k] for k in ONNX_INPUTS), str(partial),
            input_names=list(ONNX_INPUTS), output_names=["last_hidden_state"],
            dynamic_axes={k: {0: "batch", 1: "sequence"} for k in (*ONNX_INPUTS, "last_hidden_state")},
            opset_version=ONNX_OPSET, dynamo=False,
        )
    os.replace(partial, path)
    return path


def pooled_encoder(tokenizer, max_length, run):
    """encode(texts, batch) as sentence-transformers does it for
    all-MiniLM-L6-v2, with `run` (inputs by name -> token embeddings) as the
    model: longest texts first, each batch padded to its longest, mean over
    the attention mask, L2 norm, back in the texts' order."""
    import numpy as np  # the venv's: this file starts outside it

    def encode(texts, batch):
        order = np.argsort([-len(t) for t in texts])
        parts = []
        for start in range(0, len(texts), batch):
            enc = tokenizer(
                [texts[i] for i in order[start:start + batch]],
                padding=True, truncation=True, max_length=max_length, return_tensors="np",
            )
            hidden = run({k: enc[k] for k in ONNX_INPUTS})
            mask = enc["attention_mask"][:, :, None].astype(hidden.dtype)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            parts.append(pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12))
        return np.concatenate(parts)[np.argsort(order)]

    return encode


# ---------------------------------------------------------------- measuring


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    na = sum(x * x for x in a) ** 0.5
    nb = sum(y * y for y in b) ** 0.5
    return dot / (na * nb)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", default="native", choices=["native", "candle"], help="our embedding engine [default: native, the stack's]")
    ap.add_argument("--rounds", type=int, default=4, help="measured rounds per batch size; a multiple of 4 lets every side run first equally often [default: 4]")
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

    if args.rounds % len(ORDERS):
        print(f"note: --rounds {args.rounds} is not a multiple of {len(ORDERS)}: the sides do not run first equally often", file=sys.stderr)
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import onnxruntime
    import openvino
    import torch
    import sentence_transformers
    from sentence_transformers import SentenceTransformer
    from transformers import AutoTokenizer

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

        # The ONNX peers: their own tokenizer instance from the same folder.
        tokenizer = AutoTokenizer.from_pretrained(h["model_dir"])
        peer_tokens = sum(
            len(tokenizer(t, truncation=True, max_length=model.max_seq_length)["input_ids"]) for t in texts
        )
        if peer_tokens != torch_tokens:
            print(f"note: token counts differ: ONNX peers {peer_tokens}, torch {torch_tokens}", file=sys.stderr)
        onnx_path = onnx_model(h["model_dir"], h["weights_sha256"], tokenizer)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        ort_encode = pooled_encoder(tokenizer, model.max_seq_length, lambda feed: session.run(None, feed)[0])
        compiled = openvino.Core().compile_model(str(onnx_path), "CPU")
        request = compiled.create_infer_request()
        ov_encode = pooled_encoder(tokenizer, model.max_seq_length, lambda feed: request.infer(feed)[0])

        def timed(encode):
            def run(b):
                start = time.perf_counter()
                encode(b)
                return time.perf_counter() - start
            return run

        embed = {
            "torch": timed(lambda b: model.encode(texts, batch_size=b, show_progress_bar=False)),
            "ours": lambda b: ours.ask(op="embed", batch=b)["seconds"],
            "onnxruntime": timed(lambda b: ort_encode(texts, b)),
            "openvino": timed(lambda b: ov_encode(texts, b)),
        }
        tokens = {"torch": torch_tokens, "ours": h["tokens"], "onnxruntime": peer_tokens, "openvino": peer_tokens}

        others = OthersMeter(ours.proc.pid)
        rows = []
        for b in batches:
            print(f"batch {b}: warm-up, then {args.rounds} rounds of {n} texts a side", file=sys.stderr)
            for side in SIDES:
                embed[side](b)
            seconds = {side: [] for side in SIDES}
            busy, orders = [], []
            for r in range(args.rounds):
                order = [SIDES[i] for i in ORDERS[r % len(ORDERS)]]
                orders.append(order)
                for side in order:
                    m = OthersMeter(ours.proc.pid)
                    seconds[side].append(embed[side](b))
                    busy.append(m.share())
            row = {"batch": b}
            for side in SIDES:
                row[f"{side}_seconds"] = seconds[side]
                row[f"{side}_docs_per_s"] = statistics.median(n / s for s in seconds[side])
                row[f"{side}_tokens_per_s"] = statistics.median(tokens[side] / s for s in seconds[side])
            # Per round, ours against each peer's run in the same round.
            ratios = {p: statistics.median(t / o for o, t in zip(seconds["ours"], seconds[p])) for p in PEERS}
            best = max(PEERS, key=lambda p: row[f"{p}_docs_per_s"])
            row.update({
                "order": orders,
                # Other processes' share of the cores during each call, in the order above.
                "others_cpu_share": busy,
                "ratio": ratios["torch"],
                "ratio_onnxruntime": ratios["onnxruntime"],
                "ratio_openvino": ratios["openvino"],
                "best_peer": best,
                "ratio_best_peer": ratios[best],
                "rounds": args.rounds,
            })
            rows.append(row)

        # One short query: warm-up, then four blocks of calls, one per row of ORDERS.
        def python_queries(encode):
            def run(k):
                out = []
                for _ in range(k):
                    start = time.perf_counter()
                    encode()
                    out.append(time.perf_counter() - start)
                return out
            return run

        queries = {
            "torch": python_queries(lambda: model.encode(QUERY, show_progress_bar=False)),
            "ours": lambda k: ours.ask(op="query", text=QUERY, repeat=k)["seconds"],
            "onnxruntime": python_queries(lambda: ort_encode([QUERY], 1)),
            "openvino": python_queries(lambda: ov_encode([QUERY], 1)),
        }
        for side in SIDES:
            queries[side](5)
        q_seconds = {side: [] for side in SIDES}
        q_meter = OthersMeter(ours.proc.pid)
        for i, order in enumerate(ORDERS):
            k = args.query_calls * (i + 1) // len(ORDERS) - args.query_calls * i // len(ORDERS)
            if k:
                for side in (SIDES[j] for j in order):
                    q_seconds[side] += queries[side](k)
        query = {"text": QUERY, "calls": args.query_calls}
        for side in SIDES:
            query[f"{side}_p50_ms"] = statistics.median(q_seconds[side]) * 1e3
        query["others_cpu_share"] = q_meter.share()

        # Parity: the shortest, median and longest chunk, the first one and
        # the query, as one padded batch on each side, against torch's.
        by_len = sorted(range(n), key=lambda i: len(texts[i]))
        picks = [texts[by_len[0]], texts[by_len[n // 2]], texts[by_len[-1]], texts[0], QUERY]
        v_torch = model.encode(picks, batch_size=32, show_progress_bar=False).tolist()
        vectors = {
            "ours": ours.ask(op="vectors", texts=picks)["vectors"],
            "onnxruntime": ort_encode(picks, 32).tolist(),
            "openvino": ov_encode(picks, 32).tolist(),
        }
        cosines = {side: [cosine(a, b) for a, b in zip(v, v_torch)] for side, v in vectors.items()}
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
        "onnxruntime": onnxruntime.__version__,
        "onnxruntime_providers": session.get_providers(),
        "onnxruntime_threads": options.intra_op_num_threads,
        "openvino": openvino.__version__,
        # OpenVINO's own choice on this CPU, nothing set here.
        "openvino_precision": compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name(),
        "openvino_threads": compiled.get_property("INFERENCE_NUM_THREADS"),
        "openvino_performance_hint": str(compiled.get_property("PERFORMANCE_HINT")),
        "onnx_model": str(onnx_path),
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
            "tokens_onnx_peers": peer_tokens,
        },
        "batches": rows,
        "query": query,
        "parity": {
            "texts": len(picks),
            "cosines": cosines["ours"],
            "min_cosine": min(cosines["ours"]),
            **{p: {"cosines": cosines[p], "min_cosine": min(cosines[p])} for p in ("onnxruntime", "openvino")},
        },
    }

    print()
    print(f"machine: {machine['cpu']}, {machine['cores']} cores")
    print(f"torch {machine['torch']} ({machine['torch_threads']} threads), sentence-transformers "
          f"{machine['sentence_transformers']}; ONNX Runtime {machine['onnxruntime']} (fp32, "
          f"{machine['onnxruntime_providers'][0]}, {machine['onnxruntime_threads']} threads); OpenVINO "
          f"{machine['openvino'].split('-')[0]} ({machine['openvino_precision']}, its default here; "
          f"{machine['openvino_threads']} threads); ours: {machine['ours_describe']} "
          f"(--engine {machine['ours_engine']}, {machine['ours_threads']} threads)")
    if others_share is not None:
        print(f"other processes used {others_share:.1%} of the cores while this measured, the hypervisor "
              f"stole {steal_share:.1%}; a figure whose worst call saw more than a few % is not clean "
              "(torch's OpenMP threads suffer most: a busy core stalls every parallel region)")
    print(f"texts: the first {n} chunks of the default corpus, {report['texts']['mean_chars']:.0f} characters "
          f"and {h['tokens'] / n:.1f} tokens on average (ours {h['tokens']}, torch {torch_tokens}, "
          f"ONNX peers {peer_tokens} tokens)")
    print()
    print("| batch | ours docs/s | torch docs/s | ONNX Runtime docs/s | OpenVINO docs/s | ours tokens/s | torch tokens/s "
          "| ratio (ours/torch) | ratio (ours/best peer) | n rounds | others' CPU, worst call |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        worst = max((x for x in r["others_cpu_share"] if x is not None), default=None)
        print(f"| {r['batch']} | {r['ours_docs_per_s']:.1f} | {r['torch_docs_per_s']:.1f} | "
              f"{r['onnxruntime_docs_per_s']:.1f} | {r['openvino_docs_per_s']:.1f} | "
              f"{r['ours_tokens_per_s']:.0f} | {r['torch_tokens_per_s']:.0f} | {r['ratio']:.2f}x | "
              f"{r['ratio_best_peer']:.2f}x ({LABELS[r['best_peer']]}) | {r['rounds']} | "
              f"{'?' if worst is None else f'{worst:.0%}'} |")
    print()
    best_q = min(PEERS, key=lambda p: query[f"{p}_p50_ms"])
    print(f"one short query ({QUERY!r}), p50 of {args.query_calls} calls: "
          + ", ".join(f"{LABELS[s]} {query[f'{s}_p50_ms']:.2f} ms" for s in SIDES)
          + f" (ratio ours/torch {query['torch_p50_ms'] / query['ours_p50_ms']:.2f}x, ours/best peer "
          f"{query[f'{best_q}_p50_ms'] / query['ours_p50_ms']:.2f}x ({LABELS[best_q]}); others' CPU meanwhile "
          f"{'?' if query['others_cpu_share'] is None else format(query['others_cpu_share'], '.0%')})")
    print(f"parity: min cosine against torch over {len(picks)} texts (one padded batch): "
          + ", ".join(f"{LABELS[s]} {min(c):.6f}" for s, c in cosines.items()))
    print("docs/s and tokens/s: medians over rounds; ratio: median over rounds of ours/peer docs/s, "
          "each against the peer's run in the same round; best peer: the highest docs/s of torch, "
          "ONNX Runtime and OpenVINO at that batch size")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"saved {args.json}")


if __name__ == "__main__":
    main()
