"""Move the champion to another registered version: a rollback, recorded with who and why.

    python -m housing promote --version N --reason TEXT

N is a version of housing-quantized; housing-float's version from the same run moves
with it. The gate is not asked: this is the way back to a model that was serving.
"""
from . import track
from .cli import Parser, UserError, bounded, command, write_out


def parser():
    p = Parser(prog="housing promote", description=__doc__.splitlines()[0])
    p.add_argument("--version", required=True, type=bounded(int, lambda n: n >= 1,
                                                            "a version number, 1 or more"),
                   help="the version of housing-quantized to serve")
    p.add_argument("--reason", required=True, help="why, recorded in the registry")
    return p


@command("housing promote")
def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if not args.reason.strip():
        raise UserError("--reason: expected why the champion moves, got nothing")
    client, _ = track.connect("housing promote")
    name = track.registered_name("quantized")
    chosen = {int(version.version): version
              for version in client.search_model_versions(f"name = '{name}'")}
    if args.version not in chosen:
        raise UserError(f"{name} has no version {args.version}; it has "
                        f"{', '.join(map(str, sorted(chosen))) or 'none'}")
    versions = track.versions_of_run(client, chosen[args.version].run_id)
    before = track.champion(client)
    track.move_alias(client, versions, f"rollback: {args.reason}")
    write_out(f"promote: {track.ALIAS} -> {name} version {args.version}, "
              f"{versions['float'].name} version {versions['float'].version} (was "
              f"{name} version {before.version if before else 'none'})\n", "the summary")
    return 0
