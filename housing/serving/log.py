"""The server's log on stdout: a line at start and stop, and an access line per request.

Access lines are gathered and written once a turn of the event loop, with the metrics'
counts (``AccessLog.flush``), as text or as one JSON object a line. A log that cannot be
written (a closed pipe, a full disk) is said once on stderr, and serving goes on.
"""
import json
import os
import re
import sys
import time

# a client's request id is kept when it is fit for one field of a log line
REQUEST_ID = re.compile(r"[!-~]{1,128}")


def escaped(text):
    """``text`` fit for one field of a text log line: spaces, quotes, backslashes, control
    characters and non-ASCII as JSON escapes."""
    plain = text.isascii() and text.isprintable() and not any(c in text for c in ' "\\')
    return text if plain else json.dumps(text)[1:-1].replace(" ", "\\u0020")


class Clock:
    """The time, UTC, ISO 8601 to the millisecond; each second formatted once."""

    def __init__(self):
        self.second = None
        self.second_text = ""

    def now(self):
        now = time.time()
        if int(now) != self.second:
            self.second = int(now)
            self.second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
        return f"{self.second_text}.{int(now % 1 * 1000):03d}Z"


class RequestIds:
    """Request ids unique to this run: a random prefix per process, then a count."""

    def __init__(self):
        self.prefix = None  # made when first used in a worker, after the fork
        self.issued = 0

    def of(self, client_id):
        """The client's id when it sent one fit for a log line, else a new one."""
        if REQUEST_ID.fullmatch(client_id):
            return client_id
        if self.prefix is None:
            self.prefix = os.urandom(6).hex()
        self.issued += 1
        return f"{self.prefix}{self.issued:08x}"


class AccessLog:
    """Lines to ``stream``: ``log_format`` "text" or "json"."""

    def __init__(self, stream, log_format="text"):
        self.stream = stream
        self.log_format = log_format
        self.clock = Clock()
        self.pending = []
        self.broken = False

    def request(self, client, request_id, method, path, status, rows, seconds):
        if self.broken:
            return
        if self.log_format == "json":
            line = json.dumps({"time": self.clock.now(), "event": "request", "client": client,
                               "request_id": request_id, "method": method, "path": path,
                               "status": status, "rows": rows, "ms": round(seconds * 1000, 3)})
        else:
            line = (f"{self.clock.now()} {client} {request_id} {method} {escaped(path)} "
                    f"{status} {rows} {seconds * 1000:.2f}ms")
        self.pending.append(line + "\n")

    def event(self, event, text, **fields):
        """One line now: the time, then ``text``; as JSON, the time, event and ``fields``."""
        if self.log_format == "json":
            line = json.dumps({"time": self.clock.now(), "event": event, **fields})
        else:
            line = f"{self.clock.now()} {text}"
        self.pending.append(line + "\n")
        self.flush()

    def flush(self):
        if not self.pending:
            return
        lines = "".join(self.pending)
        self.pending.clear()
        if self.broken:
            return
        try:
            self.stream.write(lines)
            self.stream.flush()
        except (OSError, ValueError) as e:
            self.broken = True
            try:  # what is still buffered can never be written: drop it with the stream
                os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())
            except (AttributeError, OSError, ValueError):
                pass  # a stream with no file behind it
            why = e.strerror if isinstance(e, OSError) else str(e)
            print(f"housing serve: the log cannot be written ({why}); logging stops, "
                  f"serving goes on", file=sys.stderr, flush=True)
