"""Run the test suite's loopback LLM server in its own process, for the benchmark workers.

Why a separate process: the server's CPU would otherwise land in the measured process's
clocks (its threads share the process CPU clock and the GIL with the workload). It prints
its base URL on the first line of stdout and serves until its stdin is closed, so it can
never outlive ``run.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.loopback_server import LoopbackLLMServer


def main() -> None:
    with LoopbackLLMServer() as server:
        sys.stdout.write(server.base_url + "\n")
        sys.stdout.flush()
        # Recorded requests would grow for the whole run; the benchmark never reads them.
        while sys.stdin.readline():
            server.clear()
        server.clear()


if __name__ == "__main__":
    main()
