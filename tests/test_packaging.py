"""What pyproject.toml installs: the package list written by hand (nothing left out), plugins, version, sdist."""

from __future__ import annotations

import fnmatch
import importlib.metadata
import tomllib
from pathlib import Path

from hub import __version__
from hub.config import load_settings
from hub.plugins import Plugins

ROOT = Path(__file__).resolve().parent.parent
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _folder(package: str) -> Path:
    """Where a listed package's files are, through `package-dir` (`hub_plugins.slack` -> plugins/slack)."""
    top, _, rest = package.partition(".")
    return ROOT / SETUPTOOLS["package-dir"][top] / rest.replace(".", "/")


def _package(folder: Path) -> str:
    for name, source in SETUPTOOLS["package-dir"].items():
        if folder == ROOT / source or (ROOT / source) in folder.parents:
            return ".".join([name, *folder.relative_to(ROOT / source).parts])
    raise AssertionError(f"{folder} is under no package-dir entry")


def test_every_folder_of_python_code_is_a_listed_package():
    listed = set(SETUPTOOLS["packages"])
    folders = {path.parent for top in ("hub", "plugins") for path in (ROOT / top).rglob("*.py")}
    found = {_package(folder) for folder in folders if "__pycache__" not in folder.parts}
    assert not found - listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
    assert all(_folder(package).is_dir() for package in listed)


def test_every_file_of_the_web_app_is_package_data():
    data = SETUPTOOLS["package-data"]
    web = ROOT / SETUPTOOLS["package-dir"]["hub_web"]
    served = [path for path in web.rglob("*") if path.is_file() and path.suffix != ".py"]
    assert served
    for path in served:
        package = _package(path.parent)
        assert any(fnmatch.fnmatch(path.name, pattern) for pattern in data.get(package, [])), (
            f"{path.relative_to(ROOT)} is not in [tool.setuptools.package-data] {package}"
        )


def test_every_built_in_plugin_is_an_entry_point_of_the_hub():
    """The hub finds its own plugins as it finds a third party's (hub/plugins.py), so each needs its entry point."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["hub.plugins"]
    folders = {path.parent.name for path in (ROOT / "plugins").glob("*/__init__.py")}
    assert declared == {name: f"hub_plugins.{name}" for name in folders}
    ours = [ep for ep in importlib.metadata.entry_points(group="hub.plugins") if ep.dist.name == "hub"]
    assert {ep.name: ep.value for ep in ours} == declared, "stale metadata: reinstall (`./run` does on a change)"
    plugins = {info.name: info for info in Plugins(load_settings(environ={})).info()}
    assert all(plugins[name].builtin and plugins[name].version == __version__ for name in declared)


def test_the_version_is_written_once():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert SETUPTOOLS["dynamic"]["version"] == {"attr": "hub.__version__"}
    assert importlib.metadata.version("hub") == __version__


def test_the_sdist_carries_the_files_the_docs_point_to():
    manifest = (ROOT / "MANIFEST.in").read_text()
    for linked in ("config.example.toml", "docs/plugins.md", "tests/example_plugin"):
        assert linked in manifest, f"{linked} is linked from the docs but left out of the sdist"
