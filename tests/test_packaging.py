"""The built wheel (not the checkout) ships the guidelines and finds them; NO_COLOR is honoured."""

import json
import os
import subprocess
import sys
import zipfile

import pytest
from conftest import ROOT, cli


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{r.stdout}\n{r.stderr}")
    return next(out.glob("vascular-*.whl"))


def test_wheel_contains_every_bundled_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in (ROOT / "guidelines").glob("*.yaml"):
        assert f"vascular_cli/guidelines/{path.name}" in names, path.name


def test_installed_wheel_finds_its_guidelines_outside_the_checkout(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    env = dict(os.environ, PYTHONPATH=str(site), VASCULAR_CACHE_DIR=str(tmp_path / "cache"))
    code = ("import json, vascular_cli.loader as l, vascular_cli.cli as c, sys; "
            "print(json.dumps([str(l.bundled_dir()), l.__file__])); sys.exit(c.main(['recommend', '--ceap', 'C6', "
            "'--lesion', 'chronic-occlusion', '--format', 'json']))")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    first, rest = r.stdout.split("\n", 1)
    bundled, module = json.loads(first)
    assert bundled.startswith(str(site)) and module.startswith(str(site))
    doc = json.loads(rest)
    assert "svs-avf-2014-vlu/6.14" in [x["id"] for x in doc["recommendations"] if x["status"] == "applies"]
    assert len(doc["guidelines"]) == 14  # the active bundled documents (ESVS 2015 is superseded)


COLOR = ("\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[35m", "\x1b[91m", "\x1b[92m", "\x1b[93m")


def test_no_color_is_honoured_on_a_terminal():
    args = ("recommend", "--ceap", "C6", "--lesion", "chronic-occlusion")
    coloured = cli(*args, env={"FORCE_COLOR": "1", "COLUMNS": "120"}).out
    plain = cli(*args, env={"FORCE_COLOR": "1", "NO_COLOR": "1", "COLUMNS": "120"}).out
    assert any(c in coloured for c in COLOR)
    assert not any(c in plain for c in COLOR)
