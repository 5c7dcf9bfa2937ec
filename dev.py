"""Bootstrap for a fresh clone: create .venv, install mimamori, then run the demo or the tests.

Usage:
    python3 dev.py demo [mimamori demo options...]
    python3 dev.py test [pytest options...]
    python3 dev.py wheelhouse [win_amd64|win32|linux]   (on a connected machine, for offline sites)

Installs from ``wheelhouse/<platform>/`` without network when that folder exists (offline sites),
otherwise from the configured package index. Re-running skips the install when
``pyproject.toml`` has not changed since the last install.
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


def _venv_python() -> Path:
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def _platform_folder() -> str:
    if os.name != "nt":
        return "linux"
    return "win_amd64" if sys.maxsize > 2**32 else "win32"


def _requirements_fingerprint() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_environment() -> Path:
    """Create the virtual environment and install the package with test extras if needed."""
    python = _venv_python()
    if not python.exists():
        print(f"[dev] creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    fingerprint = _requirements_fingerprint()
    if STAMP.exists() and STAMP.read_text() == fingerprint:
        return python
    wheelhouse = ROOT / "wheelhouse" / _platform_folder()
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    if wheelhouse.is_dir():
        pip += ["--no-index", "--find-links", str(wheelhouse)]
    print("[dev] installing mimamori and its dependencies (first run only)", flush=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(fingerprint)
    return python


def build_wheelhouse(platform: str) -> int:
    """Download every wheel an offline site needs into ``wheelhouse/<platform>/``.

    Windows wheelhouses also get pywin32, which xlwings needs for COM. The mimamori wheel
    itself is built from this checkout.
    """
    python = ensure_environment()
    target = ROOT / "wheelhouse" / platform
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(python), "-m", "pip", "wheel", "--no-deps", "-w", str(target), str(ROOT)], check=True)
    download = [str(python), "-m", "pip", "download", "-d", str(target), "--only-binary=:all:"]
    if platform != "linux":
        download += ["--platform", platform, "--python-version", "3.11", "--implementation", "cp"]
    requirements = [f"{ROOT}[dev]"] if platform == "linux" else [f"{ROOT}[dev]", "pywin32"]
    subprocess.run([*download, *requirements], check=True)
    print(f"[dev] wheelhouse ready: {target}")
    return 0


def main(argv: list[str]) -> int:
    if argv and argv[0] == "wheelhouse":
        return build_wheelhouse(argv[1] if len(argv) > 1 else "win_amd64")
    if not argv or argv[0] not in {"demo", "test"}:
        print(__doc__)
        return 2
    python = ensure_environment()
    command, rest = argv[0], argv[1:]
    if command == "demo":
        return subprocess.call([str(python), "-m", "macros_py.cli", "demo", *rest], cwd=ROOT)
    return subprocess.call([str(python), "-m", "pytest", *rest], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
