"""The pinned packages (constraints.txt) install on the oldest Python the project supports: the
one of Debian 12, which deploy/README.md installs on. A pin whose release needs a newer
Python (soupsieve 4.x asks for 3.11.5) makes `pip install` fail there with a resolver error."""

from __future__ import annotations

import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.helpers import ROOT

DEBIAN_12_PYTHON = Version("3.11.2")


def pins() -> dict[str, Version]:
    found = {}
    for written in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = written.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            [specifier] = requirement.specifier
            found[requirement.name] = Version(specifier.version)
    return found


def test_the_project_claims_the_python_of_debian_12() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert DEBIAN_12_PYTHON in SpecifierSet(project["requires-python"])


def test_every_pinned_package_installs_on_the_python_of_debian_12() -> None:
    needing_newer = {}
    for name, version in pins().items():
        try:
            installed = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # a pin of a package for another platform or extra: not installed here
        if Version(installed.version) != version:
            continue  # the environment is not the pinned one: nothing to read from it
        wanted = installed.metadata["Requires-Python"]
        if wanted and DEBIAN_12_PYTHON not in SpecifierSet(wanted):
            needing_newer[name] = f"{version} needs Python {wanted}"
    assert needing_newer == {}
