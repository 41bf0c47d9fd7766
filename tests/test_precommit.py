"""The published pre-commit hook, run by pre-commit itself, offline: the hook repository is a local git repository
made from this checkout, and the hook's environment is built from wheels of the packages installed here (no index).

A user repository with other YAML files (the pre-commit config, a docker-compose.yml) and a local protocol that
extends the bundled vocabulary passes; a broken protocol fails with file:line:col and the check code."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from conftest import ROOT

pytest.importorskip("pre_commit")

HOOK_FILES = ("pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml", "vascular_cli", "guidelines")
PROTOCOL = ROOT / "examples" / "local-protocol"


def _closure(names) -> list[metadata.Distribution]:
    """The installed distributions ``names`` need, with their requirements (markers evaluated here)."""
    from packaging.requirements import Requirement

    seen: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        dist = metadata.distribution(name)
        seen[key] = dist
        for req in dist.requires or ():
            r = Requirement(req)
            if r.marker is None or r.marker.evaluate({"extra": ""}):
                todo.append(r.name)
    return list(seen.values())


def _repack(dist: metadata.Distribution, dest: Path) -> None:
    """An installed distribution -> a wheel file (its RECORD lists the files; scripts outside site-packages are
    left out: pip regenerates console scripts from entry_points.txt)."""
    info = next(f for f in dist.files if f.parts[0].endswith(".dist-info"))
    info_dir = info.parts[0]
    wheel_meta = (dist.read_text("WHEEL") or "")
    tags = [line.split(":", 1)[1].strip() for line in wheel_meta.splitlines() if line.startswith("Tag:")] or ["py3-none-any"]
    parts = [list(dict.fromkeys(t.split("-")[i] for t in tags)) for i in range(3)]  # py2-none-any + py3-none-any
    tag = "-".join(".".join(x) for x in parts)
    name = dist.metadata["Name"].replace("-", "_").replace(".", "_")
    path = dest / f"{name}-{dist.version}-{tag}.whl"
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for f in dist.files:
            if f.parts[0] == ".." or "__pycache__" in f.parts or f.name in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
                continue
            src = Path(dist.locate_file(f))
            if not src.is_file():
                continue
            data = src.read_bytes()
            z.writestr(str(f.as_posix()), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            writer.writerow([f.as_posix(), f"sha256={digest}", len(data)])
        if not wheel_meta:
            wheel_meta = "Wheel-Version: 1.0\nGenerator: vascular-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
            z.writestr(f"{info_dir}/WHEEL", wheel_meta)
            writer.writerow([f"{info_dir}/WHEEL", "", ""])
        writer.writerow([f"{info_dir}/RECORD", "", ""])
        z.writestr(f"{info_dir}/RECORD", record.getvalue())


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    base = tmp_path_factory.mktemp("precommit")
    hook_repo = base / "vascular"
    hook_repo.mkdir()
    for name in HOOK_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, hook_repo / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, hook_repo / name)
    _git(hook_repo, "init", "-q")
    _git(hook_repo, "add", "-A")
    _git(hook_repo, "commit", "-q", "-m", "hook")
    rev = _git(hook_repo, "rev-parse", "HEAD")

    wheels = base / "wheels"
    wheels.mkdir()
    for dist in _closure(["typer", "rich", "pyyaml", "hatchling"]):
        _repack(dist, wheels)

    user = base / "user"
    (user / "protocols").mkdir(parents=True)
    for f in PROTOCOL.glob("*.yaml"):
        shutil.copy2(f, user / "protocols" / f.name)
    (user / "docker-compose.yml").write_text("services:\n  web:\n    image: nginx\n")
    (user / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hook_repo.as_posix()}\n    rev: {rev}\n    hooks:\n      - id: vascular-validate\n")
    _git(user, "init", "-q")
    _git(user, "add", "-A")
    env = {**os.environ, "PRE_COMMIT_HOME": str(base / "cache"), "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "VIRTUALENV_NO_PERIODIC_UPDATE": "1", "NO_COLOR": "1",
           "VASCULAR_CACHE_DIR": str(base / "kbcache")}
    env.pop("PYTHONPATH", None)
    return user, env


def _pre_commit(user: Path, env: dict, *args: str):
    return subprocess.run([sys.executable, "-m", "pre_commit", "run", "--color", "never", *args], cwd=user, env=env,
                          capture_output=True, text=True, timeout=600)


def test_hook_passes_a_repository_with_other_yaml_files_and_a_local_protocol(setup):
    user, env = setup
    r = _pre_commit(user, env, "--all-files")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "vascular validate" in r.stdout and "Passed" in r.stdout


def test_hook_on_the_changed_protocol_alone_reads_its_local_vocabulary(setup):
    user, env = setup
    r = _pre_commit(user, env, "--files", "protocols/hospital-iliac-stenting.yaml", "docker-compose.yml")
    assert r.returncode == 0, r.stdout + r.stderr


def test_hook_fails_a_broken_protocol_with_its_position(setup):
    user, env = setup
    path = user / "protocols" / "hospital-iliac-stenting.yaml"
    good = path.read_text()
    try:
        path.write_text(good.replace("action: venous-mdt-review", "action: venous-mdt-reveiw", 1))
        line = next(i for i, x in enumerate(path.read_text().splitlines(), 1) if "venous-mdt-reveiw" in x)
        r = _pre_commit(user, env, "--files", "protocols/hospital-iliac-stenting.yaml")
        assert r.returncode == 1, r.stdout + r.stderr
        assert f"protocols/hospital-iliac-stenting.yaml:{line}:13: VG006 " in r.stdout, r.stdout
    finally:
        path.write_text(good)
