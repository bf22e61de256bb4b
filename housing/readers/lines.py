"""Binary streams as blocks of text lines, gzip by its content, and a stream read again
from its start: what the line-based readers and format detection share."""
import gzip
import zlib

from ..cli import UserError

MAX_LINE = 1 << 20  # bytes in one line of CSV or JSON Lines


def line_blocks(stream, source, first=1):
    """(number of the first line, its lines) of a binary stream, a block at a time, UTF-8
    decoded, line ends removed; a block of blank lines alone is skipped. No line may exceed
    MAX_LINE bytes, so no block does."""
    rest = b""
    no = first
    while True:
        data = stream.read(MAX_LINE)
        if not data and not rest:
            return
        eof = not data
        data = rest + data
        cut = len(data) if eof else data.rfind(b"\n") + 1
        head = data.find(b"\n", 0, cut)
        if (head if head >= 0 else len(data)) > MAX_LINE:
            raise UserError(f"{source}, line {no}: longer than {MAX_LINE:,} bytes; expected "
                            f"one row per line")
        if cut == 0:
            rest = data
            continue
        block = data[:cut]
        rest = data[cut:]
        if block.isspace():  # blank lines alone, which every reader leaves out: counted, not split
            no += block.count(b"\n")
            continue
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError as e:  # the lines before the bad one first, then the error
            start = block.rfind(b"\n", 0, e.start) + 1
            if start:
                yield no, block[:start].decode("utf-8").split("\n")[:-1]
            line = no + block.count(b"\n", 0, e.start)
            raise UserError(f"{source}, line {line}: expected UTF-8 text, got byte "
                            f"0x{block[e.start]:02x} at position {e.start - start + 1}") from None
        lines = text.split("\n")
        if block.endswith(b"\n"):
            lines.pop()
        if no == 1:
            lines[0] = lines[0].removeprefix("\ufeff")  # byte-order mark, as Excel writes
        if b"\r" in block:  # CRLF line ends
            lines = [line[:-1] if line.endswith("\r") else line for line in lines]
        yield no, lines
        no += len(lines)


class Gunzip:
    """A gzip-compressed binary stream, read decompressed (every member, as gunzip
    reads them); damage is a UserError."""

    def __init__(self, stream, source):
        self.file = gzip.GzipFile(fileobj=stream, mode="rb")
        self.source = source

    def read(self, n=-1):
        try:
            return self.file.read(n)
        except (OSError, EOFError, zlib.error) as e:
            raise UserError(f"{self.source}: not valid gzip data ({e})") from None


class Replay:
    """A binary stream that gives ``head`` again before the rest of ``stream``."""

    def __init__(self, head, stream):
        self.head = head
        self.stream = stream

    def read(self, n=-1):
        if not self.head:
            return self.stream.read(n)
        if n < 0:
            out = self.head
            self.head = b""
        else:
            out = self.head[:n]
            self.head = self.head[n:]
        return out
