"""Bootstrap for a fresh clone: create .venv, install mimamori, then run the demo or the tests.

Usage:
    python3 dev.py demo [mimamori demo options...]
    python3 dev.py test [pytest options...]   (on every core; ``-n0`` runs in one process)
    python3 dev.py wheelhouse [win_amd64|win32|linux]   (on a connected machine, for offline sites)
    python3 dev.py lock                                 (deliberate upgrade: see below)

Every install is constrained by ``constraints.txt``: the exact versions the test suite passes
with, so the versions tested are the versions installed (here, in CI and from a wheelhouse).
Installs from ``wheelhouse/<platform>/`` without network when that folder exists (offline sites),
otherwise from the configured package index. Re-running skips the install when neither
``pyproject.toml`` nor ``constraints.txt`` has changed since the last install.

``test`` runs the suite with pytest-xdist, one worker per core up to 4 (``-n N --dist loadscope``:
each test module stays on one worker, so its module fixtures are built once; every worker builds
the session's village templates, so more workers cost memory for little) unless the options
already choose (``-n0``, ``-n 1``, ``-p no:xdist``, ``--pdb``).

``lock`` upgrades ``.venv`` to the newest versions ``pyproject.toml`` allows, runs the suite and
rewrites ``constraints.txt`` only when it passes (otherwise it reinstalls the locked versions).
Commit the new file on its own: an upgrade is a deliberate, tested change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".mimamori-install-stamp"
CONSTRAINTS = ROOT / "constraints.txt"
# Packages for Windows only: kept in the lock by hand (they are never installed here).
WINDOWS_ONLY_PINS = ("colorama", "pywin32")


def _venv_python() -> Path:
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def _platform_folder() -> str:
    if os.name != "nt":
        return "linux"
    return "win_amd64" if sys.maxsize > 2**32 else "win32"


def _requirements_fingerprint() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(CONSTRAINTS.read_bytes())
    return digest.hexdigest()


def _pip(python: Path) -> list[str]:
    """pip install with the lock applied, offline when a wheelhouse is present."""
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    wheelhouse = ROOT / "wheelhouse" / _platform_folder()
    if wheelhouse.is_dir():
        pip += ["--no-index", "--find-links", str(wheelhouse)]
    return pip


def ensure_environment() -> Path:
    """Create the virtual environment and install the package with test extras if needed."""
    python = _venv_python()
    if not python.exists():
        print(f"[dev] creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    fingerprint = _requirements_fingerprint()
    if STAMP.exists() and STAMP.read_text() == fingerprint:
        return python
    print("[dev] installing mimamori and its locked dependencies (first run only)", flush=True)
    subprocess.run([*_pip(python), "-c", str(CONSTRAINTS), "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(fingerprint)
    return python


# Options by which the caller has already chosen how pytest distributes the tests (``-n0``,
# ``--numprocesses=2``, ``--dist=load``), or that pytest-xdist cannot honour (the debugger).
_DISTRIBUTION_CHOSEN = ("-n", "--numprocesses", "--dist", "--pdb", "--trace")
MAX_TEST_WORKERS = 4


def _chooses_distribution(extra: list[str]) -> bool:
    for index, argument in enumerate(extra):
        if argument.startswith(_DISTRIBUTION_CHOSEN) or argument.startswith("-pno:xdist"):
            return True
        if argument == "-p" and extra[index + 1 : index + 2] == ["no:xdist"]:
            return True
    return False


def pytest_arguments(extra: list[str]) -> list[str]:
    """pytest's arguments for ``dev.py test``: the suite on every core unless ``extra`` chooses.

    Args:
        extra: the options given after ``dev.py test``.

    Returns:
        ``extra``, preceded by ``-n <cores, at most 4> --dist loadscope`` when it does not choose.
    """
    if _chooses_distribution(extra):
        return list(extra)
    # The cores this process may use (CI's container may allow fewer than the machine has).
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return ["-n", str(min(cores, MAX_TEST_WORKERS)), "--dist", "loadscope", *extra]


def _frozen_versions(python: Path) -> list[str]:
    frozen = subprocess.run(
        [str(python), "-m", "pip", "freeze", "--exclude-editable", "--disable-pip-version-check"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return sorted((line for line in frozen if "==" in line), key=str.casefold)


def lock() -> int:
    """Upgrade within pyproject's ranges, run the suite, and rewrite the lock only if it passes."""
    python = ensure_environment()
    print("[dev] upgrading .venv within pyproject.toml's ranges (no constraints)", flush=True)
    subprocess.run([*_pip(python), "--upgrade", "-e", f"{ROOT}[dev]"], check=True)
    if subprocess.call([str(python), "-m", "pytest", *pytest_arguments([])], cwd=ROOT) != 0:
        print("[dev] the suite fails with the upgraded versions: constraints.txt is unchanged", flush=True)
        STAMP.unlink(missing_ok=True)  # the next run reinstalls the locked versions
        ensure_environment()
        return 1
    header = [line for line in CONSTRAINTS.read_text().splitlines() if line.startswith("#")][:4]
    windows = [
        line for line in CONSTRAINTS.read_text().splitlines() if line.split("==")[0] in WINDOWS_ONLY_PINS
    ]
    lines = [
        *header,
        *_frozen_versions(python),
        "# Windows only (not installed on Linux; pinned so the wheelhouse is reproducible).",
        *windows,
    ]
    CONSTRAINTS.write_text("\n".join(lines) + "\n")
    STAMP.write_text(_requirements_fingerprint())
    print("[dev] constraints.txt rewritten: review the diff and commit it on its own", flush=True)
    return 0


def build_wheelhouse(platform: str) -> int:
    """Download every wheel an offline site needs into ``wheelhouse/<platform>/``.

    Windows wheelhouses also get pywin32, which xlwings needs for COM. The mimamori wheel
    itself is built from this checkout.
    """
    python = ensure_environment()
    target = ROOT / "wheelhouse" / platform
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(python), "-m", "pip", "wheel", "--no-deps", "-w", str(target), str(ROOT)], check=True)
    download = [
        *(str(python), "-m", "pip", "download", "-d", str(target), "--only-binary=:all:"),
        *("-c", str(CONSTRAINTS)),
    ]
    if platform != "linux":
        download += ["--platform", platform, "--python-version", "3.11", "--implementation", "cp"]
    requirements = [f"{ROOT}[dev]"] if platform == "linux" else [f"{ROOT}[dev]", "pywin32"]
    subprocess.run([*download, *requirements], check=True)
    print(f"[dev] wheelhouse ready: {target}")
    return 0


def main(argv: list[str]) -> int:
    if argv and argv[0] == "wheelhouse":
        return build_wheelhouse(argv[1] if len(argv) > 1 else "win_amd64")
    if argv and argv[0] == "lock":
        return lock()
    if not argv or argv[0] not in {"demo", "test"}:
        print(__doc__)
        return 2
    python = ensure_environment()
    command, rest = argv[0], argv[1:]
    if command == "demo":
        return subprocess.call([str(python), "-m", "macros_py.cli", "demo", *rest], cwd=ROOT)
    return subprocess.call([str(python), "-m", "pytest", *pytest_arguments(rest)], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
