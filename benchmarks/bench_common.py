"""What the side-by-side benchmarks share: the Rust side as a served
process, building it, and how busy the machine was while they measured.

Imported by the scripts beside it (Python puts a script's own folder on
the path), inside their venvs; standard library only.
"""

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class RustSide:
    """A perf-workloads example run with `--serve`: one JSON request line
    in, one JSON reply line out. `verb` is the request key naming the
    operation ("op" or "cmd"); `quit` ends it."""

    def __init__(self, argv, verb):
        self.verb = verb
        self.proc = subprocess.Popen(
            [str(a) for a in argv],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )
        line = self.proc.stdout.readline()
        if not line:
            sys.exit(f"the Rust side did not start (exit {self.proc.wait()}); its error is above")
        self.header = json.loads(line)

    def ask(self, **req):
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        what = req.get(self.verb)
        if not line:
            sys.exit(f"the Rust side ended during {what} (exit {self.proc.wait()})")
        reply = json.loads(line)
        if "error" in reply:
            sys.exit(f"the Rust side failed {what}: {reply['error']}")
        return reply

    def close(self):
        if self.proc.poll() is None:
            self.ask(**{self.verb: "quit"})
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


def build_example(name, target_dir):
    """Builds perf-workloads' example `name`; returns the binary.

    Without llama.cpp (`--no-default-features`): the examples never use it,
    and building it here without xtask's build settings (ggml's instruction
    set, cmake, libclang) would rebuild llama.cpp differently for every
    later `cargo xtask` build."""
    cmd = ["cargo", "build", "--release", "-p", "perf-workloads", "--no-default-features", "--example", name]
    print("building: " + " ".join(cmd), file=sys.stderr)
    if subprocess.run(cmd, cwd=ROOT).returncode != 0:
        sys.exit(f"cargo build of the {name} example failed (above)")
    return target_dir / "release" / "examples" / name


def cpu_model():
    """The CPU's name and its widest vector extensions."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wide = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16") if f in flags]
    return f"{name} ({', '.join(wide)})" if wide else name


def machine_ticks():
    """Busy and stolen clock ticks of the whole machine, all cores."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return f[0] + f[1] + f[2] + f[5] + f[6], f[7]  # user nice system irq softirq; steal


def cpu_ticks(pid):
    """Busy clock ticks of one process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime stime


class OthersMeter:
    """Share of the machine's cores that other processes used meanwhile,
    and the share the hypervisor stole (a VM's neighbours): the benchmark
    is only as clean as these are small."""

    def __init__(self, child_pid):
        self.child = child_pid
        self.start = self.sample()

    def sample(self):
        return time.monotonic(), machine_ticks(), cpu_ticks(os.getpid()), cpu_ticks(self.child)

    def shares(self):
        """(others, stolen) as shares of all cores' time; None if /proc is unreadable."""
        try:
            (t0, (m0, st0), s0, c0), (t1, (m1, st1), s1, c1) = self.start, self.sample()
        except (OSError, IndexError, ValueError):
            return None, None
        others = (m1 - m0) - (s1 - s0) - (c1 - c0)
        cores_ticks = os.sysconf("SC_CLK_TCK") * (t1 - t0) * os.cpu_count()
        return max(others, 0) / cores_ticks, (st1 - st0) / cores_ticks

    def share(self):
        return self.shares()[0]
