"""The measuring launcher: `python -I -S bench/launch.py FIGURES.json CMD [ARG...]`.

Spawns CMD, waits for it with `os.wait4` and writes CMD's own wall time (measured here, around
CMD only), user + system CPU time, peak RSS (`ru_maxrss`, KiB) and exit code to FIGURES.json.
It imports as little as possible, because a spawned child starts with its parent's resident
pages and Linux keeps the peak across `exec`: this process's size (about 10 MiB) is the floor
of every peak RSS figure (see `common.py`). CMD's stdin, stdout and stderr are this process's.
"""

import json
import os
import sys
import time


def main(argv: list[str]) -> int:
    figures, *cmd = argv
    start = time.perf_counter()
    pid = os.posix_spawnp(cmd[0], cmd, os.environ)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    result = {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "max_rss_kib": usage.ru_maxrss,  # Linux reports KiB
        "returncode": os.waitstatus_to_exitcode(status),
    }
    with open(figures, "w") as out:
        json.dump(result, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
