"""`make run` and `make test` install the Debian packages they need as root, or stop with the command to type."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "system-packages.sh"


@pytest.fixture
def bare_machine(tmp_path):
    """A PATH holding only the shell's basics and a recording apt-get: no chromium, no dot."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("id", "cat"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    log = tmp_path / "apt.log"
    apt = bin_dir / "apt-get"
    apt.write_text(f"#!/bin/bash\necho \"$*\" >> {log}\n")
    apt.chmod(0o755)
    env = {"PATH": str(bin_dir), "DEJAVU_FONT": str(tmp_path / "no-font.ttf"), "NGINX": str(tmp_path / "no-nginx"),
           "HOME": str(tmp_path)}
    return env, log


def run(env, purpose, **extra):
    return subprocess.run(["/bin/bash", str(SCRIPT), purpose], env={**env, **extra}, capture_output=True,
                          text=True, timeout=30)


def test_a_user_without_root_is_told_the_exact_command(bare_machine):
    env, log = bare_machine
    result = run(env, "test", SYSTEM_PACKAGES_AS_ROOT="0")
    assert result.returncode == 1
    assert "apt-get update && apt-get install -y fonts-dejavu-core graphviz chromium nginx systemd" in result.stderr
    assert not log.exists()


def test_root_installs_what_is_missing(bare_machine):
    env, log = bare_machine
    result = run(env, "test", SYSTEM_PACKAGES_AS_ROOT="1")
    assert result.returncode == 0, result.stderr
    assert log.read_text().splitlines() == ["update -qq",
                                              "install -y -qq fonts-dejavu-core graphviz chromium nginx systemd"]


def test_make_run_does_not_need_chromium(bare_machine):
    env, log = bare_machine
    result = run(env, "run", SYSTEM_PACKAGES_AS_ROOT="0")
    assert "chromium" not in result.stderr and "nginx" not in result.stderr
    assert "apt-get install -y fonts-dejavu-core graphviz" in result.stderr


def test_nothing_is_installed_when_everything_is_there(bare_machine, tmp_path):
    env, log = bare_machine
    font = tmp_path / "DejaVuSans.ttf"
    font.write_bytes(b"")
    for tool in ("dot", "chromium", "nginx", "systemd-analyze"):
        stub = Path(env["PATH"]) / tool
        stub.write_text("#!/bin/bash\n")
        stub.chmod(0o755)
    result = run(env, "test", SYSTEM_PACKAGES_AS_ROOT="1", DEJAVU_FONT=str(font))
    assert result.returncode == 0
    assert not log.exists()


def test_the_makefile_checks_before_anything_else():
    makefile = (SCRIPT.parents[1] / "Makefile").read_text()
    assert "test: system-test setup" in makefile
    assert "migrate: system-run setup" in makefile
