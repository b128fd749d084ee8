"""`pip install .` builds the extension against the running Python's torch and installs an importable package."""
import os
import subprocess
import sys
import venv
from pathlib import Path

from conftest import ROOT, BUILD


def test_pip_install_into_a_venv(tmp_path, golden):
    environment = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(environment)  # torch from the system
    python = environment / "bin" / "python"
    env = dict(os.environ, MOULIN_PIP_BUILD_DIR=str(BUILD / "pip-build"))
    env.pop("PYTHONPATH", None)
    result = subprocess.run([str(python), "-m", "pip", "install", "--no-build-isolation", "--no-deps", "--no-index",
                             str(ROOT)], capture_output=True, text=True, env=env, timeout=3000)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    check = subprocess.run([str(python), "-c",
                            "import moulin, torch, sys; "
                            f"m = moulin.Model.from_pretrained({str(golden / 'tiny-mha')!r}); "
                            "print(moulin.__file__); print(tuple(m(torch.tensor([[1, 2, 3]])).shape))"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert check.returncode == 0, check.stderr
    location, shape = check.stdout.strip().splitlines()
    assert str(environment) in location, "imported from the venv, not the build tree"
    assert shape == "(1, 3, 300)"
