"""The versions the suite runs with are the locked versions (constraints.txt)."""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WINDOWS_ONLY = {"colorama", "pywin32"}
# Installer tooling and the project itself are not part of the lock.
NOT_LOCKED = {"pip", "setuptools", "wheel", "mimamori"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin"
            pins[_canonical(name)] = version
    return pins


def _installed() -> dict[str, str]:
    return {_canonical(dist.metadata["Name"]): dist.version for dist in metadata.distributions()}


def test_every_locked_package_is_installed_at_its_locked_version():
    installed = _installed()
    wrong = {
        name: (version, installed.get(name))
        for name, version in _locked().items()
        if name not in WINDOWS_ONLY and installed.get(name) != version
    }
    assert not wrong, f"locked vs installed (run `python3 dev.py test` to reinstall): {wrong}"


@pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="only meaningful inside the project's venv")
def test_every_installed_package_is_locked():
    locked = _locked()
    unlocked = sorted(set(_installed()) - set(locked) - NOT_LOCKED)
    assert not unlocked, (
        f"installed but not in constraints.txt (add them with `python3 dev.py lock`): {unlocked}"
    )


def test_the_lock_satisfies_the_project_requirements():
    from packaging.requirements import Requirement

    locked = _locked()
    requirements = metadata.requires("mimamori") or []
    for text in requirements:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": "dev"}):
            continue  # postgres and bench extras: not part of the tested install
        name = _canonical(requirement.name)
        assert name in locked, f"{requirement.name} is required but not locked"
        assert requirement.specifier.contains(locked[name]), f"{name}=={locked[name]} violates {requirement}"
