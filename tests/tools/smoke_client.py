"""Send rows to a running server and print its predictions as ``predict`` would.

The image's smoke test (make docker-run runs it inside the container, which has no curl),
and an example of both protocols from the standard library alone; not part of the package.

    python tests/tools/smoke_client.py http://127.0.0.1:8080 --protocol oip --model quantized < rows.csv
    python tests/tools/smoke_client.py http://127.0.0.1:8080 --protocol mlflow < rows.csv

``oip`` sends the rows as one FP64 tensor of shape [n, 8] to /v2/models/MODEL/infer;
``mlflow`` sends the CSV as it is to /invocations (the server's default model).
"""
import io
import json
import sys
import urllib.error
import urllib.request

from housing import readers
from housing.cli import Parser, UserError, command
from housing.config import FEATURES
from housing.readers.chunk import all_rows
from housing.serving import oip


def post(url, body, content_type):
    """The parsed JSON answer to a POST; a UserError with the server's message on a 4xx."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        raise UserError(f"{url}: {e.code}: {refusal(e.read())}") from None
    except urllib.error.URLError as e:
        raise UserError(f"{url}: cannot connect ({e.reason})") from None


def refusal(body):
    """The message of a server's error body: {"error"} (the Open Inference Protocol) or
    MLflow's {"message"}; the body's start when it is neither."""
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("error", doc.get("message")), str):
        return doc.get("error", doc.get("message"))
    return repr(body[:200].decode("utf-8", "replace"))


def _parser():
    p = Parser(prog="smoke_client", description=__doc__.splitlines()[0])
    p.add_argument("url", help="the server, e.g. http://127.0.0.1:8080")
    p.add_argument("--protocol", choices=("oip", "mlflow"), default="oip")
    p.add_argument("--model", default="quantized", help="the model name, for oip")
    return p


@command("smoke_client")
def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    body = sys.stdin.buffer.read()
    url = args.url.rstrip("/")
    if args.protocol == "mlflow":
        y = post(f"{url}/invocations", body, "text/csv")["predictions"]
    else:
        X = all_rows(readers.read(io.BytesIO(body), FEATURES, "<stdin>", "csv").chunks)
        answer = post(f"{url}/v2/models/{args.model}/infer",
                      json.dumps(oip.request_for(X)).encode(), "application/json")
        y = answer["outputs"][0]["data"]
    sys.stdout.write("".join(f"{v!r}\n" for v in y))
    return 0


if __name__ == "__main__":
    sys.exit(main())
