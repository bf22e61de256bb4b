"""make publish, end to end, with no registry outside this machine: Debian's
docker-registry on 127.0.0.1 and a free port, `make publish` to it, every local tag of the
image removed, both tags pulled back (the same image), and the pulled image's predictions
compared with housing predict's, byte for byte. The registry is stopped at the end.

    python tests/tools/publish_check.py --image housing:latest --sample artifacts/sample.csv \
        --model artifacts/models/quantized.npz
"""
import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for repo
from repo import free_port, plain_env, wait_answering  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """version: 0.1
storage:
  filesystem:
    rootdirectory: {root}
http:
  addr: 127.0.0.1:{port}
"""


def run(*argv, text=True, **kw):
    return subprocess.run(argv, check=True, capture_output=True, text=text, cwd=ROOT, **kw)


def say(text):
    print(f"publish-check: {text}", flush=True)


def image_id(ref):
    return run("docker", "image", "inspect", "-f", "{{.Id}}", ref).stdout.strip()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--image", required=True)
    p.add_argument("--sample", required=True)
    p.add_argument("--model", required=True)
    args = p.parse_args(argv)
    registry_bin = shutil.which("docker-registry")
    if registry_bin is None:
        sys.exit("publish-check: needs docker-registry: apt-get install docker-registry")
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yml"
        config.write_text(CONFIG.format(root=Path(tmp) / "storage", port=port))
        log = open(Path(tmp) / "registry.log", "w")
        registry = subprocess.Popen([registry_bin, "serve", str(config)], stdout=log, stderr=log)
        try:
            wait_answering(f"http://127.0.0.1:{port}/v2/", registry, Path(tmp) / "registry.log",
                           seconds=30)
            check(args, f"127.0.0.1:{port}/housing")
        finally:
            registry.terminate()
            registry.wait(timeout=30)
            log.close()
    return 0


def check(args, repository):
    original = image_id(args.image)
    pushed = run("make", "publish", f"REGISTRY={repository}", f"IMAGE={args.image}",
                 env=plain_env())
    tags = [line.split()[-1] for line in pushed.stdout.splitlines()
            if line.startswith("publish: pushed ")]
    version = run(sys.executable, "-m", "housing", "--version").stdout.split()[-1]
    revision = run("git", "rev-parse", "--short=12", "HEAD").stdout.strip()
    assert tags == [f"{repository}:{version}", f"{repository}:{revision}"], pushed.stdout
    say(f"make publish pushed {', '.join(tags)}")
    run("docker", "rmi", args.image, *tags)
    say("removed every local tag of the image")
    for tag in tags:
        run("docker", "pull", "-q", tag)
        assert image_id(tag) == original, f"{tag} is not the image that was pushed"
    say(f"pulled both tags back: the same image, {original[:19]}")
    run("docker", "tag", tags[0], args.image)  # as it was before the check
    with open(args.sample, "rb") as rows:
        pulled = run("docker", "run", "-i", "--rm", "--network", "none", "--read-only",
                     tags[0], "python", "-m", "housing", "predict", "--model", args.model,
                     stdin=rows, text=False).stdout
    with open(args.sample, "rb") as rows:
        here = subprocess.run([sys.executable, "-m", "housing", "predict", "--model", args.model],
                              stdin=rows, capture_output=True, check=True, cwd=ROOT).stdout
    assert pulled == here and pulled, (pulled, here)
    say(f"the pulled image predicts {len(here.splitlines())} rows exactly as housing predict does")
    for tag in tags:
        run("docker", "rmi", tag)


if __name__ == "__main__":
    sys.exit(main())
