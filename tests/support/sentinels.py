"""Sentinels: a unique marker inside every seeded secret value, and the detector run on every output.

A sentinel is `SENTINEL-<uuid4 hex>`. The registry also holds extra strings that would betray a value
(the base64 text of a binary secret). `check` fails the test when any registered string, the hex body of
any sentinel, or the marker `SENTINEL-` shows up in a process's output; its message names the stream
and never quotes the output. (The marker is matched case-sensitively: pytest's tmp_path directories are
named after tests, and a test name may well contain "sentinel".)
"""

import threading
import uuid

import pytest

MARKER = "SENTINEL-"


class SentinelRegistry:
    def __init__(self):
        self._lock = threading.Lock()
        self._needles = set()

    def new(self):
        """A fresh sentinel, registered."""
        hexpart = uuid.uuid4().hex
        with self._lock:
            self._needles.add(hexpart)  # also catches a value that was transformed around it
        return f"{MARKER}{hexpart}"

    def add(self, text):
        """Register another string that must never be printed (e.g. a binary secret's base64)."""
        if len(text) < 8:
            raise ValueError("too short to be a meaningful needle")
        with self._lock:
            self._needles.add(text)

    def __len__(self):
        return len(self._needles)

    def find(self, text):
        """True when `text` (str or bytes) holds any registered needle or the marker."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        if MARKER in text:
            return True
        with self._lock:
            needles = list(self._needles)
        return any(n in text for n in needles)

    def check(self, text, stream, what="the binary"):
        """Fail the current test if `text` leaks a secret value; say only where."""
        if self.find(text):
            pytest.fail(f"a seeded secret value (sentinel) appeared on {stream} of {what}", pytrace=False)
