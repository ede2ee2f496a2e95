"""The install is the tested one: pinned ccxt, the lock honoured, package data, version.

These guard the promises of the README's set-up section; the wheel built from this tree is
checked outside the checkout by ``.ci/run``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import ccxt
import pytest
import yaml

import adapters
from adapters.paper.session import DEMO_SESSION, find_session, shipped_sessions

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;]+)")


def _lock() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        match = PIN.match(line.strip())
        if match:
            pins[match[1].lower().replace("_", "-")] = match[2]
    return pins


def _pyproject() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        return tomllib.load(fh)


def test_installed_ccxt_is_the_pinned_one() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    assert "ccxt==4.5.70" in project["dependencies"], "pyproject must pin ccxt exactly"
    assert _lock()["ccxt"] == "4.5.70", "constraints.txt must lock the same ccxt"
    assert ccxt.__version__ == "4.5.70", (
        f"ccxt {ccxt.__version__} is installed, but this project is tested on ccxt 4.5.70 "
        "only (the last release with BitMart; the stream fixes patch its internals). "
        "Reinstall with the README's command, which passes -c constraints.txt to pip."
    )


def test_every_installed_dependency_is_the_locked_version() -> None:
    wrong = []
    for name, pinned in sorted(_lock().items()):
        try:
            installed = version(name)
        except PackageNotFoundError:
            continue  # a platform-specific pin (e.g. winloop) or an extra not installed
        if installed != pinned:
            wrong.append(f"{name} {installed} (locked {pinned})")
    assert not wrong, (
        "installed versions differ from constraints.txt: "
        + ", ".join(wrong)
        + "; install with the README's command (pip install -c constraints.txt ...)"
    )


def test_the_distribution_has_its_own_name_and_the_version_comes_from_it() -> None:
    assert adapters.DISTRIBUTION == "typed-spot-adapters"
    assert _pyproject()["project"]["name"] == adapters.DISTRIBUTION  # type: ignore[index]
    assert adapters.__version__ == version("typed-spot-adapters")
    out = subprocess.run(
        [sys.executable, "-m", "adapters", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert out.strip() == f"adapters {adapters.__version__} (typed-spot-adapters)"


def test_shipped_sessions_are_package_data() -> None:
    folder = shipped_sessions("bitstamp_paper_trade")
    assert folder == Path(adapters.__file__).resolve().parent / "sessions" / "bitstamp"
    assert find_session(DEMO_SESSION, "bitstamp").parent == folder
    assert find_session("depth_increase100_derived", "bitmart").is_file()
    assert find_session("markets.spot.json", "bitmart").is_file()
    package_data = _pyproject()["tool"]["setuptools"]["package-data"]["adapters"]  # type: ignore[index]
    shipped = {
        p.relative_to(folder.parent.parent).as_posix()
        for p in folder.parent.rglob("*")
        if p.is_file()
    }
    declared = {
        p.relative_to(folder.parent.parent).as_posix()
        for pattern in package_data
        for p in folder.parent.parent.glob(pattern)
    }
    assert shipped <= declared, f"not declared as package data: {sorted(shipped - declared)}"


@pytest.mark.parametrize("exchange", ["bitstamp", "bitmart"])
def test_shipped_markets_answer_what_the_cassette_answers(exchange: str) -> None:
    shipped = yaml.safe_load((shipped_sessions(exchange) / "markets.yaml").read_text())
    cassette = yaml.safe_load((ROOT / "cassettes" / exchange / "load_markets.yaml").read_text())
    assert shipped["interactions"] == cassette["interactions"]
    assert [s["source"] for s in shipped["sources"]] == [s["source"] for s in cassette["sources"]]


def test_nothing_shipped_cites_a_file_outside_the_repository() -> None:
    package = Path(adapters.__file__).resolve().parent
    offenders = []
    for path in package.rglob("*"):
        if path.suffix not in {".py", ".json", ".jsonl", ".yaml"}:
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("DESIGN.md", "shared/reference", "../shared", "shared reference"):
            if needle in text:
                offenders.append(f"{path.relative_to(package)}: {needle}")
        # A path into the reference data ("bitstamp/rest/x.json") is not in the repository.
        if "reference_file" in text or re.search(
            r"\b(bitstamp|bitmart)/(rest|ws)/\w+\.json\b", text
        ):
            offenders.append(f"{path.relative_to(package)}: reference path")
    assert not offenders


def test_the_runtime_never_looks_for_the_source_tree() -> None:
    package = Path(adapters.__file__).resolve().parent
    climbing = [
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if re.search(r"parents\[\d\]|\"cassettes\"|'cassettes'", p.read_text(encoding="utf-8"))
    ]
    assert not climbing, f"modules that look outside the package: {climbing}"
