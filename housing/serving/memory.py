"""How much request data a worker may hold, from the memory limit of the container (its
cgroup) the server runs in.

A worker holds the bodies that are still arriving, and parses one at a time (the event
loop runs one handler at once). Parsing a JSON body of numbers takes over ten times its
size at its peak (a Python float and a list slot for every few bytes of text), so under
a limit the largest body is a sixteenth of a worker's share past its own footprint, and
the bodies held at once three sixteenths: a parse's peak and the bodies held stay within
the share.
"""
from typing import NamedTuple

MAX_BODY = 16 << 20  # bytes: the default without a memory limit
FOOTPRINT = 48 << 20  # bytes a worker takes before any request (bench-serve prints it)
UNLIMITED = 1 << 60  # cgroup v1 says "no limit" with a number near 2**63


class Bounds(NamedTuple):
    """What a worker may hold: the largest body, and all the bodies it holds at once."""
    max_body: int
    max_held: int


def limit(proc_cgroup="/proc/self/cgroup", root="/sys/fs/cgroup"):
    """The memory limit of this process' cgroup in bytes (v2's memory.max, or v1's
    memory.limit_in_bytes), or None where there is none or none can be read."""
    try:
        with open(proc_cgroup) as f:
            lines = [line.rstrip("\n").split(":", 2) for line in f]
    except OSError:
        return None
    for _, controllers, path in lines:
        if "memory" in controllers.split(","):  # v1: its own hierarchy
            found = read_number(f"{root}/memory{path}/memory.limit_in_bytes")
            if found is not None:
                return found
    for number, controllers, path in lines:
        if number == "0" and not controllers:  # v2: the unified hierarchy
            for base in (root, f"{root}/unified"):
                found = read_number(f"{base}{path}/memory.max")
                if found is not None:
                    return found
    return None


def read_number(path):
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    if not text.isdigit() or int(text) >= UNLIMITED:
        return None  # "max", or v1's no limit
    return int(text)


def bounds(memory_limit, workers, max_body=None):
    """The Bounds for ``workers`` processes under ``memory_limit`` bytes (None: none), the
    largest body ``max_body`` where it is given."""
    if memory_limit is None:
        max_body = max_body or MAX_BODY
        return Bounds(max_body, 4 * max_body)
    usable = max(memory_limit // workers - FOOTPRINT, 16 << 10)
    max_body = max_body or min(MAX_BODY, usable // 16)
    return Bounds(max_body, max(max_body, usable * 3 // 16))
