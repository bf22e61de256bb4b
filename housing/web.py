"""The HTTP plumbing under the server: statuses, the error that carries one, and reading a
request body within a size and a time limit. No protocol and no model here."""
import os

from gunicorn.http.errors import ParseException

from .cli import UserError

# Settable from the environment, as a container is configured.
MAX_BODY = int(os.environ.get("HOUSING_MAX_BODY", 16 << 20))  # bytes; larger is a 413
BODY_TIMEOUT = float(os.environ.get("HOUSING_BODY_TIMEOUT", 30))  # seconds; slower is a 408
STATUS = {200: "200 OK", 400: "400 Bad Request", 404: "404 Not Found",
          405: "405 Method Not Allowed", 408: "408 Request Timeout",
          413: "413 Content Too Large", 415: "415 Unsupported Media Type",
          500: "500 Internal Server Error"}


class HTTPError(UserError):
    """A request the server refuses, with its status."""

    def __init__(self, status, message, headers=()):
        super().__init__(message)
        self.status, self.headers = status, list(headers)


def internal_error(e):
    """What a client is told of a bug of ours: its kind, not its traceback."""
    return f"internal error ({type(e).__name__})"


def media_type(environ):
    return environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()


def read_body(environ, accepted):
    """The request body: 415 for another media type, 413 past MAX_BODY (refused before
    a byte of it is read), 408 when the client sends it too slowly."""
    kind = media_type(environ)
    if kind not in accepted:
        raise HTTPError(415, f"Content-Type {kind or 'none'!r} is not accepted here; expected "
                             f"{' or '.join(a for a in accepted if a)}")
    length = environ.get("CONTENT_LENGTH") or ""
    if length and (not length.isdigit() or int(length) > MAX_BODY):
        raise HTTPError(413, f"a body of {length} bytes; the limit is {MAX_BODY:,} "
                             f"(HOUSING_MAX_BODY)")
    sock = environ.get("gunicorn.socket")
    if sock is not None:
        # left set for the response too (a client that will not read times out alike);
        # gunicorn makes the socket blocking again, with no timeout, for the next request
        sock.settimeout(BODY_TIMEOUT)
    try:
        body = environ["wsgi.input"].read(int(length) if length else MAX_BODY + 1)
    except (TimeoutError, OSError):
        raise HTTPError(408, f"the body did not arrive within {BODY_TIMEOUT:g} s "
                             f"(HOUSING_BODY_TIMEOUT)") from None
    except ParseException as e:  # gunicorn's, from a broken chunked encoding
        raise HTTPError(400, f"the body is not valid HTTP: {e}") from None
    if len(body) > MAX_BODY:
        raise HTTPError(413, f"a body over {MAX_BODY:,} bytes (HOUSING_MAX_BODY)")
    return body
