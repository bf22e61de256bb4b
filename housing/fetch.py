"""A registered version's pipeline, fetched from MLflow: both model files and metrics.json
of the run that made it, each file checked against the sha256 the run recorded.

    python -m housing fetch models:/housing-quantized@champion --out DIR

writes DIR/models/float.npz, DIR/models/quantized.npz and DIR/metrics.json, laid out as
artifacts/ is: what `make docker MODEL=...` bakes into the image. The track extra's.
"""
import hashlib
import shutil
import tempfile
from pathlib import Path

from . import track
from .cli import Parser, UserError, command, display, write_out
from .results import load_metrics


def parser():
    p = Parser(prog="housing fetch", description=__doc__.splitlines()[0])
    p.add_argument("model", help="models:/NAME@ALIAS or models:/NAME/VERSION")
    p.add_argument("--out", required=True, help="the folder to write (replaced if it exists)")
    return p


@command("housing fetch")
def main(argv=None) -> int:
    args = parser().parse_args(argv)
    client, version = track.resolve(args.model, "housing fetch")
    recorded = client.get_run(version.run_id).data.tags
    out = Path(args.out)
    with tempfile.TemporaryDirectory(dir=out.parent if out.parent.exists() else None) as folder:
        staging = Path(folder) / "artifacts"
        client.download_artifacts(version.run_id, "models", str(staging))
        client.download_artifacts(version.run_id, "metrics.json", str(staging))
        for kind in track.KINDS:
            path = staging / "models" / f"{kind}.npz"
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "none"
            if digest != recorded.get(f"{kind}_sha256"):
                raise UserError(f"{args.model}: the run's {kind} model file has sha256 "
                                f"{digest[:12]}..., not the "
                                f"{recorded.get(f'{kind}_sha256', '?')[:12]}... it recorded; "
                                f"refusing it")
        load_metrics(staging / "metrics.json")
        shutil.rmtree(out, ignore_errors=True)
        shutil.move(str(staging), str(out))
    write_out(f"fetch: {version.name} version {version.version} (run {version.run_id}) -> "
              f"{display(out)}\n", "the summary")
    return 0
