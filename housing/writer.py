"""Printing predictions from a second process, so that a large input is parsed on one core
while its predictions are printed on another: numpy's parser and Python's shortest float
``repr`` each hold the GIL, and together they are most of predict's time.

The parent sends each chunk of predictions as float64 bytes down a pipe; the child prints
them, one ``repr`` per line, to the same standard output, in order.
"""
import os
import signal
import struct

import numpy as np

FORK_AFTER = 1 << 17  # rows printed in-process first: a small input never forks
BROKEN_PIPE = 3  # the child's exit status when the reader of stdout went away


class ForkedLines:
    """One prediction per line, printed by a child process to file descriptor ``fd``."""

    def __init__(self, fd):
        read, self.pipe = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: print until the pipe closes, then leave at once
            os.close(self.pipe)
            os._exit(_print_lines(read, fd))
        os.close(read)

    def write(self, values):
        """Send values, ndarray of shape (n,), float64, to be printed."""
        data = np.ascontiguousarray(values, np.float64).tobytes()
        _write_all(self.pipe, struct.pack("<Q", len(data)) + data)

    def close(self):
        """Wait until every line is printed; BrokenPipeError if stdout's reader left."""
        os.close(self.pipe)
        _, status = os.waitpid(self.pid, 0)
        if os.waitstatus_to_exitcode(status) == BROKEN_PIPE:
            raise BrokenPipeError


def _print_lines(read, fd):
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends the child quietly
    with os.fdopen(read, "rb", buffering=1 << 20) as pipe:
        try:
            while header := pipe.read(8):
                values = np.frombuffer(pipe.read(struct.unpack("<Q", header)[0]), np.float64)
                _write_all(fd, ("\n".join(map(repr, values.tolist())) + "\n").encode())
        except BrokenPipeError:
            return BROKEN_PIPE
    return 0


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def fileno(stream):
    """The file descriptor behind ``stream``, flushed; None when it has none (a test's
    capture, say), and then predictions are printed in-process."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    stream.flush()
    return fd
