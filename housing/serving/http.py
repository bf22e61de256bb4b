"""What every route shares: the request a handler reads, the response it returns, and the
error that becomes a 4xx. No protocol is named here."""
import json
import re
from dataclasses import dataclass, field

from ..cli import UserError


class HTTPError(UserError):
    """A request the server refuses, with its status and any headers the refusal needs."""

    def __init__(self, status, message, headers=()):
        super().__init__(message)
        self.status = status
        self.headers = list(headers)


ABSOLUTE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*")  # scheme and authority
REFUSED = re.compile(r"\s*[qQ]\s*=\s*0(?:\.0{0,3})?\s*")  # a weight of zero: q=0, q=0.000


class Request:
    """What a handler reads, and leaves as it is: the path's parameters, the headers and
    the decompressed body."""

    def __init__(self, scope):
        self.method = scope["method"]
        self.path = scope["path"]  # percent-decoded: for messages and logs
        # routes match the target as sent, as a proxy's rules do, so that %2F is never a
        # separator; an absolute-form target (http://host/path) is its path
        target = (scope.get("raw_path") or self.path.encode()).decode("latin-1")
        if not target.startswith("/"):
            target = ABSOLUTE.sub("", target, count=1) or "/"
        self.target = target
        self.headers = dict(scope["headers"])
        self.params = {}
        self.body = b""
        self.held = 0  # bytes of body data counted against the worker's bound
        self.kind = self.header(b"content-type").split(";")[0].strip().lower()

    def header(self, name):
        """The value of header ``name`` (lower-case bytes) as text, or ""."""
        return self.headers.get(name, b"").decode("latin-1")

    def tokens(self, name):
        """The comma-separated values of header ``name``, without parameters, lower case,
        leaving out any with q=0, which RFC 9110 reads as "not acceptable"."""
        return [value.strip().lower() for value, *params in
                (item.split(";") for item in self.header(name).split(","))
                if not any(REFUSED.fullmatch(param) for param in params)]

    def expect_kind(self, *accepted):
        """415 unless the body's Content-Type is one of ``accepted`` ("" for none)."""
        if self.kind not in accepted:
            raise HTTPError(415, f"Content-Type {self.kind or 'none'!r} is not accepted here; "
                                 f"expected {' or '.join(a for a in accepted if a)}")


@dataclass
class Response:
    """A handler's answer: a JSON value, or ``data`` bytes of media type ``kind``.

    prediction : a served.Prediction, when the model answered: what the access log, the
    metrics and the request log read of it
    """
    json: object = None
    data: bytes = None
    kind: str = "application/json"
    headers: list = field(default_factory=list)
    status: int = 200
    prediction: object = None

    @property
    def rows(self):
        """How many rows were predicted."""
        return 0 if self.prediction is None else len(self.prediction.y)


STRICT = json.JSONEncoder(allow_nan=False)  # strict JSON in every answer, built once


def encoded(response):
    """(the body's bytes, its media type) of a Response."""
    if response.data is not None:
        return response.data, response.kind
    return STRICT.encode(response.json).encode(), "application/json"
