"""Request bodies: read whole within a size limit and a deadline, then decompressed.

The deadline is kept by one watch per worker's event loop, once a second, rather than a
timer per request (asyncio.timeout): tests/bench/micro.py measures the difference.
"""
import asyncio
import time
import zlib

from .http import HTTPError

ENCODINGS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}  # deflate: zlib's


class BodyReader:
    """Reads bodies of at most ``max_body`` bytes, compressed or not, arriving within
    ``timeout`` seconds, while all the bodies this worker holds (arriving, or waiting for
    their answer; decompressed ones counted again) stay within ``max_held`` bytes: past
    it, a 503 to retry, before the worker outgrows its memory."""

    def __init__(self, max_body, timeout, max_held=None):
        self.max_body = max_body
        self.timeout = timeout
        self.max_held = max(max_held or 4 * max_body, max_body)
        self.held = 0  # bytes of the bodies held now
        self.deadlines = {}  # task -> when its body is due; None once cancelled for it
        self.watched_loop = None

    async def read(self, request, receive):
        """The request body, decompressed: 413 past max_body (refused before a byte is
        read when its length says so, and never expanded past it), 408 when it takes
        longer than the timeout to arrive, 415 for an encoding other than gzip or deflate."""
        length = request.header(b"content-length")
        if length and (not length.isascii() or not length.isdigit()
                       or len(length) > 20 or int(length) > self.max_body):
            raise HTTPError(413, f"a body of {length[:40]} bytes; the limit is "
                                 f"{self.max_body:,} (--max-body)")
        transfer = request.tokens(b"transfer-encoding")
        if any(coding not in ("chunked", "") for coding in transfer):
            raise HTTPError(400, f"Transfer-Encoding {request.header(b'transfer-encoding')[:40]!r} "
                                 f"is not accepted; expected chunked alone (a compressed body "
                                 f"says so in Content-Encoding)")
        encoding = request.header(b"content-encoding").strip().lower()
        if encoding not in ("", "identity", *ENCODINGS):
            raise HTTPError(415, f"Content-Encoding {encoding[:40]!r} is not accepted; "
                                 f"expected gzip, deflate or none")
        body = await self.arrive(request, receive)
        if encoding in ENCODINGS:
            body = self.inflate(body, encoding)
            self.hold(request, len(body))
        return body

    def hold(self, request, size):
        """Count ``size`` more bytes held for ``request``; a 503 past max_held."""
        if self.held + size > self.max_held:
            raise HTTPError(503, f"the server holds all the request data it may now "
                                 f"({self.max_held:,} bytes, --max-held); retry shortly",
                            [(b"retry-after", b"1")])
        self.held += size
        request.held += size

    def release(self, request):
        """The request is answered: what it held is free."""
        self.held -= request.held
        request.held = 0

    async def arrive(self, request, receive):
        task = asyncio.current_task()
        self.watch_loop(task.get_loop())
        chunks = []
        size = 0
        self.deadlines[task] = time.monotonic() + self.timeout
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise HTTPError(400, "the client closed the connection before the body "
                                         "was complete")
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                if size > self.max_body:
                    raise HTTPError(413, f"a body over {self.max_body:,} bytes (--max-body)")
                self.hold(request, len(chunks[-1]))
                if not message.get("more_body"):
                    return b"".join(chunks)
        except asyncio.CancelledError:
            if self.deadlines[task] is not None:
                raise  # not the watch's doing
            task.uncancel()
            raise HTTPError(408, f"the body did not arrive within {self.timeout:g} s "
                                 f"(--body-timeout)") from None
        finally:
            del self.deadlines[task]

    def watch_loop(self, loop):
        if self.watched_loop is not loop:  # one watch a loop (a worker's)
            self.watched_loop = loop
            loop.call_later(1, self.cancel_late, loop)

    def cancel_late(self, loop):
        """Once a second: cancel the reads of bodies past their deadline, marked None."""
        now = time.monotonic()
        for task, deadline in self.deadlines.items():
            if deadline is not None and deadline <= now:
                self.deadlines[task] = None
                task.cancel()
        loop.call_later(1, self.cancel_late, loop)

    def inflate(self, body, encoding):
        """``body`` decompressed, every gzip member of it (as gunzip reads them), never
        past max_body; bytes after the last stream are refused."""
        out = []
        size = 0
        rest = body
        while True:
            inflate = zlib.decompressobj(ENCODINGS[encoding])
            try:
                out.append(inflate.decompress(rest, self.max_body + 1 - size))
            except zlib.error as e:
                raise HTTPError(400, f"request body: not valid {encoding} data ({e})") from None
            size += len(out[-1])
            if size > self.max_body or inflate.unconsumed_tail:
                raise HTTPError(413, f"a body over {self.max_body:,} bytes once decompressed "
                                     f"(--max-body)")
            if not inflate.eof:
                raise HTTPError(400, f"request body: the {encoding} data ends early")
            rest = inflate.unused_data
            if not rest:
                return b"".join(out)
            if encoding != "gzip" or not rest.startswith(b"\x1f\x8b"):
                raise HTTPError(400, f"request body: {len(rest)} bytes after the end of the "
                                     f"{encoding} data")
