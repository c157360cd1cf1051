"""Run the real lambda-secrets binary with a clean environment and check its output for leaks."""

import hashlib
import json
import os
import subprocess
import time
from dataclasses import dataclass, field


def sha(value):
    """sha256 hex of a str (UTF-8) or bytes: what envreport.py prints for a variable."""
    if isinstance(value, str):
        value = value.encode()
    return hashlib.sha256(value).hexdigest()


def clean_env(env=None, base=None):
    """`base` (default: PATH, HOME and LANG from this process) plus `env`, where a None value removes
    the variable: the environment every process the tests start gets, and nothing else."""
    out = dict(base) if base is not None else {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    for key, value in (env or {}).items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def stop_process(proc, timeout=10):
    """Terminate a helper process, kill it if it has not exited after `timeout` s, and reap it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Result:
    rc: int
    stdout: str
    stderr: str
    pid: int
    elapsed: float
    counts: dict = field(default_factory=dict)

    @property
    def lines(self):
        """stderr, one entry per non-empty line."""
        return [line for line in self.stderr.splitlines() if line.strip()]

    @property
    def child(self):
        """The JSON envreport.py printed (None if stdout is not exactly one JSON object)."""
        try:
            report = json.loads(self.stdout)
        except ValueError:
            return None
        return report if isinstance(report, dict) and "pid" in report else None

    def env(self, name):
        """The child's sha256 of variable `name` (None when unset); fails if the child did not run."""
        report = self.child
        assert report is not None, f"the command did not run (rc {self.rc}); stderr:\n{self.stderr}"
        return report["env"][name]

    def count(self, operation):
        return self.counts.get(operation, 0)

    def __repr__(self):  # what pytest shows on a failed assert: no sentinel can be here (checked first)
        return f"Result(rc={self.rc}, counts={self.counts}, stdout={self.stdout!r}, stderr={self.stderr!r})"


class Runner:
    def __init__(self, binary, base_path, registry, moto=None):
        self.binary = binary
        self.base_path = base_path
        self.registry = registry
        self.moto = moto

    def run(self, args, env=None, timeout=30, input=None):
        """Run `binary args...` with only PATH plus `env` (a None value drops the variable; names and
        values may be bytes). `input` (bytes) is fed to stdin, which is otherwise /dev/null.

        Resets and reads the launcher's request counts around the run when a launcher is attached.
        Every run's stdout and stderr are checked against the sentinel registry.
        """
        full_env = clean_env(env, {"PATH": self.base_path})
        if self.moto is not None:
            self.moto.reset_counts()
        start = time.monotonic()
        proc = subprocess.Popen(
            [self.binary, *args], env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
        )
        try:
            out, err = proc.communicate(input=input, timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            self._check(out, err)
            raise AssertionError(f"lambda-secrets did not finish within {timeout} s")
        elapsed = time.monotonic() - start
        self._check(out, err)
        counts = self.moto.counts() if self.moto is not None else {}
        return Result(proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
                      proc.pid, elapsed, counts)

    def _check(self, out, err):
        self.registry.check(out, "stdout")
        self.registry.check(err, "stderr")


def assert_within_deadline(r, deadline_ms):
    """The run ended by its deadline, not at the end of whatever it waited for. The callers wait for
    something that does not end on its own (a stalled server, a port that never answers, a throttle
    that never lifts, retries), so without the deadline the run would last until the Runner's 30 s
    timeout: any bound well below that proves the cut. Twice the deadline plus 3 s leaves seconds for process
    start and exit on a loaded machine, and still catches a deadline that is not kept."""
    bound = 2 * deadline_ms / 1000 + 3
    assert r.elapsed < bound, f"{r.elapsed:.2f} s against a deadline of {deadline_ms} ms (bound {bound:.1f} s): {r!r}"


def requests_made(r):
    """Every request the launcher counted during the run, whatever the operation."""
    return sum(v for k, v in r.counts.items() if k != "batch_sizes")


def assert_no_command(r):
    """The command was not started: envreport would have printed its JSON on stdout."""
    assert r.stdout == "", r


def lines_with(r, *needles):
    """stderr lines holding every needle."""
    return [line for line in r.lines if all(n in line for n in needles)]


def expect_env(r, expected):
    """The child saw exactly these values (None = unset); compares sha256 hashes and on a mismatch
    names only the variables, never a value."""
    report = r.child
    if report is None:
        raise AssertionError(f"the command did not run: {r!r}")
    wrong = []
    for name, value in expected.items():
        want = None if value is None else sha(value)
        if name not in report["env"]:
            wrong.append(f"{name}: not in ENVREPORT_NAMES")
            continue
        got = report["env"][name]
        if got != want:
            state = "unset" if got is None else "set to another value"
            wrong.append(f"{name}: {state}, expected {'unset' if want is None else 'the seeded value'}")
    if wrong:
        raise AssertionError("child environment mismatch: " + "; ".join(wrong) + f"\nstderr:\n{r.stderr}")
