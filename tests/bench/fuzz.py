"""`make fuzz`: schemathesis against a live server, from the OpenAPI description it serves.

Starts `housing serve` on a free local port with the pipeline's models, runs schemathesis
(from its own environment) with every check but one, bounded in examples and time, and
stops the server. The check left out, positive_data_acceptance, expects every body the
description allows to be accepted; a description cannot state CSV's or a tensor's rules
(eight numbers a row, data as long as the shape says), so such a body may still get a
400 that names what is wrong. Every answer must still be described: no 5xx, no status,
content type, header or body the description does not list.
"""
import argparse
import os
import subprocess
import sys
import tempfile

from repo import serving


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--schemathesis", required=True, help="the schemathesis command")
    p.add_argument("--examples", type=int, default=25, help="test cases per operation")
    p.add_argument("--seconds", type=int, default=120, help="the whole run's time budget")
    args = p.parse_args()
    folder = tempfile.mkdtemp()  # where schemathesis leaves its own files
    with serving(os.getcwd(), os.path.join(folder, "serve.log"), "--workers", "2") as port:
        return subprocess.run([os.path.abspath(args.schemathesis), "run",
                               f"http://127.0.0.1:{port}/openapi.json", "--checks", "all",
                               "--exclude-checks", "positive_data_acceptance",
                               "--max-examples", str(args.examples), "--max-time",
                               str(args.seconds), "--request-timeout", "10",
                               "--generation-deterministic"], timeout=args.seconds + 120,
                              cwd=folder).returncode


if __name__ == "__main__":
    sys.exit(main())
