"""Packaging: what `python -m build` ships, and that the wheel alone makes a working provider.

The wheel and sdist are built once, with the running interpreter's ``build``, from a copy of the files git
would commit (tracked plus untracked-but-not-ignored), into a temporary directory. Building from the copy
keeps the work tree clean: setuptools' sdist step writes ``<package>.egg-info`` into whatever source
directory it is given, even with ``--outdir`` (building the wheel from the sdist only avoids ``build/``).

The last tests install the built wheel into a fresh virtualenv (pip resolves Apache Airflow from the
package index configured on the machine; that install is the only network use here) and ask Airflow
itself, there, whether it finds the provider, and whether the bundled schemas load from the wheel.
"""

from __future__ import annotations

import ast
import configparser
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from importlib import metadata
from pathlib import Path

import pytest
from airflow_line import LINE_PINS

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "airflow_provider_journeys"
DISTRIBUTION = "airflow-provider-journeys"
SCHEMAS = [f"{PACKAGE}/schemas/{name}.json" for name in ("audience", "common", "trigger", "exit")]
ENTRY_POINT_GROUP = "apache_airflow_provider"
PROVIDER_INFO_ENTRY_POINT = f"{PACKAGE}.get_provider_info:get_provider_info"
# Paths whose appearance (or rewrite) in the work tree means a build wrote into it.
ARTEFACT_DIRS = ("build", "dist")

BUILD_TIMEOUT_SECONDS = 180
VENV_TIMEOUT_SECONDS = 60
# A cold cache downloads Airflow and its ~150 dependencies; the whole install test must stay within ~4 min.
INSTALL_TIMEOUT_SECONDS = 210
AIRFLOW_CLI_TIMEOUT_SECONDS = 90
# The Airflow release this suite runs on: a user's Airflow, in the README walk-through.
RUNNING_AIRFLOW = metadata.version("apache-airflow")


def source_version() -> str:
    """``__version__`` as written in the package's ``__init__.py`` (read, not imported)."""
    tree = ast.parse((REPO_ROOT / PACKAGE / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__version__" for target in node.targets
        ):
            assert isinstance(node.value, ast.Constant), "__version__ must be a literal string"
            return str(node.value.value)
    raise AssertionError(f"no __version__ in {PACKAGE}/__init__.py")


def run(command: list[str | Path], *, cwd: Path, timeout: float, env: dict[str, str] | None = None) -> str:
    """Run ``command`` and return its stdout; fail with both streams if it exits non-zero."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (
        f"{command} exited {result.returncode}\n"
        f"--- stdout (tail) ---\n{result.stdout[-6000:]}\n--- stderr (tail) ---\n{result.stderr[-6000:]}"
    )
    return result.stdout


def work_tree_build_artefacts() -> dict[str, object]:
    """What a build could leave in the work tree: git's view of build/, dist/ and *.egg-info (all ignored,
    so plain ``git status --porcelain`` cannot see them), and the size and mtime of every file in them (an
    existing egg-info rewritten in place changes no git status line)."""
    status = run(["git", "-C", REPO_ROOT, "status", "--porcelain", "--ignored"], cwd=REPO_ROOT, timeout=60)
    artefact_lines = []
    for line in status.splitlines():
        top = line[3:].split("/", 1)[0]
        if top in ARTEFACT_DIRS or top.endswith(".egg-info"):
            artefact_lines.append(line)
    files: dict[str, tuple[int, int]] = {}
    for top_dir in [*(REPO_ROOT / name for name in ARTEFACT_DIRS), *REPO_ROOT.glob("*.egg-info")]:
        if top_dir.exists():
            for path in [top_dir, *top_dir.rglob("*")]:
                stat = path.stat()
                files[str(path.relative_to(REPO_ROOT))] = (stat.st_size, stat.st_mtime_ns)
    return {"git status --ignored": artefact_lines, "files": files}


def copy_source_tree(destination: Path) -> None:
    """Copy the files git would commit (tracked, or untracked and not ignored) as they are on disk now."""
    listed = run(
        ["git", "-C", REPO_ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        timeout=60,
    )
    for relative in filter(None, listed.split("\0")):
        source = REPO_ROOT / relative
        if source.is_file():  # a tracked file deleted in the work tree is not part of the build
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


@dataclass(frozen=True)
class Built:
    wheel: Path
    sdist: Path
    artefacts_before: dict[str, object]
    artefacts_after: dict[str, object]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    source = tmp_path_factory.mktemp("source")
    outdir = tmp_path_factory.mktemp("dist")
    before = work_tree_build_artefacts()
    copy_source_tree(source)
    # Default mode: the sdist first, then the wheel built from the unpacked sdist.
    run(
        [sys.executable, "-m", "build", "--outdir", outdir, source], cwd=source, timeout=BUILD_TIMEOUT_SECONDS
    )
    after = work_tree_build_artefacts()
    wheels = sorted(outdir.glob("*.whl"))
    sdists = sorted(outdir.glob("*.tar.gz"))
    assert len(wheels) == 1, f"expected one wheel in {outdir}: {sorted(outdir.iterdir())}"
    assert len(sdists) == 1, f"expected one sdist in {outdir}: {sorted(outdir.iterdir())}"
    return Built(wheel=wheels[0], sdist=sdists[0], artefacts_before=before, artefacts_after=after)


@pytest.fixture(scope="module")
def wheel_names(built: Built) -> list[str]:
    with zipfile.ZipFile(built.wheel) as wheel:
        return wheel.namelist()


def dist_info_dir(names: list[str]) -> str:
    dirs = {name.split("/", 1)[0] for name in names if name.split("/", 1)[0].endswith(".dist-info")}
    assert len(dirs) == 1, f"expected one .dist-info directory in the wheel, found {sorted(dirs)}"
    return dirs.pop()


def read_wheel_text(built: Built, name: str) -> str:
    with zipfile.ZipFile(built.wheel) as wheel:
        return wheel.read(name).decode()


@pytest.fixture(scope="module")
def wheel_metadata(built: Built, wheel_names: list[str]) -> Message:
    return HeaderParser().parsestr(read_wheel_text(built, f"{dist_info_dir(wheel_names)}/METADATA"))


# --- the build itself -------------------------------------------------------------------------------


def test_building_leaves_no_build_artefacts_in_the_work_tree(built: Built) -> None:
    assert built.artefacts_after == built.artefacts_before


def test_wheel_and_sdist_are_named_for_the_source_version(built: Built) -> None:
    version = source_version()
    assert built.wheel.name == f"{PACKAGE}-{version}-py3-none-any.whl"
    assert built.sdist.name == f"{PACKAGE}-{version}.tar.gz"


# --- the wheel --------------------------------------------------------------------------------------


def test_wheel_ships_the_json_schemas(wheel_names: list[str]) -> None:
    missing = [schema for schema in SCHEMAS if schema not in wheel_names]
    assert not missing, f"schemas missing from the wheel: {missing}"


def test_wheel_ships_the_py_typed_marker(wheel_names: list[str]) -> None:
    assert f"{PACKAGE}/py.typed" in wheel_names


def test_wheel_ships_no_tests_or_example_dags_packages(wheel_names: list[str]) -> None:
    stray = [name for name in wheel_names if name.startswith(("tests/", "example_dags/"))]
    assert not stray, f"the wheel installs top-level tests/ or example_dags/ files: {stray}"


def test_wheel_registers_the_airflow_provider_entry_point(built: Built, wheel_names: list[str]) -> None:
    entry_points = configparser.ConfigParser(delimiters=("=",))
    entry_points.optionxform = str  # type: ignore[assignment,method-assign]  # names are case-sensitive
    entry_points.read_string(read_wheel_text(built, f"{dist_info_dir(wheel_names)}/entry_points.txt"))
    assert ENTRY_POINT_GROUP in entry_points.sections()
    assert dict(entry_points[ENTRY_POINT_GROUP]) == {"provider_info": PROVIDER_INFO_ENTRY_POINT}


def test_wheel_metadata_names_the_distribution_and_source_version(wheel_metadata: Message) -> None:
    assert wheel_metadata["Name"] == DISTRIBUTION
    assert wheel_metadata["Version"] == source_version()


def test_wheel_metadata_has_the_airflow_provider_classifiers(wheel_metadata: Message) -> None:
    classifiers = wheel_metadata.get_all("Classifier") or []
    assert "Framework :: Apache Airflow" in classifiers
    assert "Framework :: Apache Airflow :: Provider" in classifiers


def test_wheel_metadata_carries_the_readme_and_no_link_to_an_unpublished_page(
    wheel_metadata: Message,
) -> None:
    # The README is the documentation's front door; until a release is published, no URL may lead nowhere.
    assert wheel_metadata["Description-Content-Type"] == "text/markdown"
    assert str(wheel_metadata.get_payload()).lstrip().startswith("# airflow-provider-journeys")
    assert wheel_metadata.get_all("Project-URL") is None


def test_wheel_declares_and_ships_the_apache_licence(
    built: Built, wheel_names: list[str], wheel_metadata: Message
) -> None:
    assert wheel_metadata["License-Expression"] == "Apache-2.0"
    licence = f"{dist_info_dir(wheel_names)}/licenses/LICENSE"
    assert licence in wheel_names, f"no {licence} in the wheel"
    assert "LICENSE" in (wheel_metadata.get_all("License-File") or [])
    assert "Apache License" in read_wheel_text(built, licence)


# --- the sdist --------------------------------------------------------------------------------------


def test_sdist_ships_docs_and_examples_but_not_the_test_suite(built: Built) -> None:
    root = built.sdist.name.removesuffix(".tar.gz")
    with tarfile.open(built.sdist) as sdist:
        names = set(sdist.getnames())
    shipped = ("README.md", "LICENSE", "CHANGELOG.md", "pyproject.toml", "docs/connection.md", *SCHEMAS)
    missing = [name for name in (f"{root}/{name}" for name in shipped) if name not in names]
    assert not missing, f"missing from the sdist: {missing}"
    assert f"{root}/example_dags/example_journeys_daily_enroll.py" in names
    assert not [name for name in names if name.startswith(f"{root}/tests")]


# --- the wheel installed into a fresh virtualenv ----------------------------------------------------


@dataclass(frozen=True)
class Installed:
    venv: Path
    env: dict[str, str]
    workdir: Path


@pytest.fixture(scope="module")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The built wheel pip-installed, with its dependencies, into a new virtualenv of its own, beside the
    Airflow release this suite runs on (and what its line needs pinned)."""
    started = time.monotonic()
    venv = fresh_venv(
        tmp_path_factory, "fresh", built.wheel, f"apache-airflow=={RUNNING_AIRFLOW}", *LINE_PINS
    )
    # Shown with `pytest -rP`: the cost of this check (pip's cache makes repeat runs faster).
    print(f"fresh virtualenv + pip install of {built.wheel.name}: {time.monotonic() - started:.1f}s")
    return venv


def fresh_venv(tmp_path_factory: pytest.TempPathFactory, name: str, *requirements: str | Path) -> Installed:
    """A new virtualenv with ``requirements`` pip-installed, an AIRFLOW_HOME of its own, and an environment
    free of the caller's Airflow and Python settings."""
    venv = tmp_path_factory.mktemp(name) / "venv"
    workdir = tmp_path_factory.mktemp(f"{name}-workdir")  # cwd for everything run there: not the source tree
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update(
        AIRFLOW_HOME=str(tmp_path_factory.mktemp(f"{name}-airflow-home")),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
    )
    run([sys.executable, "-m", "venv", venv], cwd=workdir, env=env, timeout=VENV_TIMEOUT_SECONDS)
    run(
        [venv / "bin" / "python", "-m", "pip", "install", "--no-input", *requirements],
        cwd=workdir,
        env=env,
        timeout=INSTALL_TIMEOUT_SECONDS,
    )
    return Installed(venv=venv, env=env, workdir=workdir)


@pytest.mark.airflow
def test_airflow_in_a_fresh_venv_finds_the_installed_provider(installed: Installed) -> None:
    output = run(
        [installed.venv / "bin" / "airflow", "providers", "get", DISTRIBUTION, "-o", "json"],
        cwd=installed.workdir,
        env=installed.env,
        timeout=AIRFLOW_CLI_TIMEOUT_SECONDS,
    )
    try:
        # The last line: Airflow 3.0 prints log lines to stdout before it.
        reported = json.loads(output.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError) as error:
        raise AssertionError(f"`airflow providers get` printed no JSON: {output!r}") from error
    assert reported == [{"Provider": DISTRIBUTION, "Version": source_version()}]


# Runs in the fresh venv with -I (no cwd or PYTHONPATH on sys.path), from a directory outside the source.
INSTALLED_WHEEL_PROBE = """
import json
from importlib.resources import files

import airflow_provider_journeys.operators.journeys as operators
from airflow_provider_journeys.exceptions import JourneysPayloadError
from airflow_provider_journeys.validation import validate_trigger_payload

validate_trigger_payload({"audience": {"tag": "vip"}, "triggering_id": "seq", "entrance_id": "daily-20250101"})
try:
    validate_trigger_payload({"audience": {"tag": "vip"}, "triggering_id": "seq", "global_attributes": {"ua_x": 1}})
except JourneysPayloadError as error:
    violations = error.violations
else:
    violations = None
print(json.dumps({
    "operators_module": operators.__file__,
    "operators": [operators.JourneysTriggerOperator.__name__, operators.JourneysExitOperator.__name__],
    "schemas": str(files("airflow_provider_journeys") / "schemas"),
    "violations": violations,
}))
"""


@pytest.mark.airflow
def test_installed_wheel_imports_the_operators_and_validates_with_its_own_schemas(
    installed: Installed,
) -> None:
    output = run(
        [installed.venv / "bin" / "python", "-I", "-c", INSTALLED_WHEEL_PROBE],
        cwd=installed.workdir,
        env=installed.env,
        timeout=AIRFLOW_CLI_TIMEOUT_SECONDS,
    )
    probe = json.loads(output.strip().splitlines()[-1])
    venv = installed.venv.resolve()
    for key in ("operators_module", "schemas"):
        location = Path(probe[key]).resolve()
        assert location.is_relative_to(venv), f"{key} loaded from {location}, not from the fresh venv {venv}"
        assert not location.is_relative_to(REPO_ROOT), f"{key} loaded from the source tree: {location}"
    assert probe["operators"] == ["JourneysTriggerOperator", "JourneysExitOperator"]
    # The reason is the schema file's own x-rule text: the rule came from the installed schemas.
    assert probe["violations"] == [
        ["$.global_attributes.ua_x", "top-level keys must not start with the reserved prefix 'ua_'"]
    ]


# What each example DAG must have sent: (endpoint, how many bodies Airship accepted).
EXAMPLE_SENDS = {
    "example_journeys_daily_enroll": ("/api/journeys/trigger", 1),
    "example_journeys_exit_after_days": ("/api/journeys/exit", 1),
    "example_journeys_fan_out": ("/api/journeys/trigger", 3),
    "example_journeys_batch_enroll": ("/api/journeys/trigger", 25),
}


@pytest.mark.airflow
def test_every_example_dag_runs_with_the_installed_wheel_against_the_emulator(
    installed: Installed, tmp_path: Path
) -> None:
    from airflow_provider_journeys.testing import AirshipEmulator

    dags = tmp_path / "dags"
    shutil.copytree(REPO_ROOT / "example_dags", dags, ignore=shutil.ignore_patterns("__pycache__"))
    assert {path.stem for path in dags.glob("*.py")} == set(EXAMPLE_SENDS), "an example DAG has no row here"
    airflow = installed.venv / "bin" / "airflow"
    with AirshipEmulator() as airship:
        env = {
            **installed.env,
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW_CONN_AIRSHIP_DEFAULT": json.dumps(airship.connection()),
        }
        run([airflow, "db", "migrate"], cwd=installed.workdir, env=env, timeout=AIRFLOW_CLI_TIMEOUT_SECONDS)
        sent = {}
        for dag_id, (path, _) in EXAMPLE_SENDS.items():
            before = len(airship.accepted(path))
            run(
                [airflow, "dags", "test", dag_id, "2026-11-27"],
                cwd=installed.workdir,
                env=env,
                timeout=AIRFLOW_CLI_TIMEOUT_SECONDS,
            )
            sent[dag_id] = (path, len(airship.accepted(path)) - before)
        refused = [request for request in airship.requests if request.status != 200]
    assert sent == EXAMPLE_SENDS
    assert refused == []


# --- the README, followed as written by a new user -------------------------------------------------------


def readme_blocks(heading: str, language: str) -> list[str]:
    """The ``language`` code blocks of the README section under ``## <heading>``, in order."""
    section = (REPO_ROOT / "README.md").read_text().split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    blocks = section.split(f"```{language}\n")[1:]
    return [block.split("```", 1)[0] for block in blocks]


@pytest.fixture(scope="module")
def airflow_first(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """A fresh virtualenv holding Airflow alone, at the release this test suite runs on: a user's Airflow
    before the provider is installed."""
    return fresh_venv(tmp_path_factory, "users-airflow", f"apache-airflow=={RUNNING_AIRFLOW}")


def test_the_readme_install_keeps_the_users_airflow_and_its_quick_start_runs(
    airflow_first: Installed, tmp_path: Path
) -> None:
    from airflow_provider_journeys.hooks.journeys import TRIGGER_PATH
    from airflow_provider_journeys.testing import AirshipEmulator

    checkout = tmp_path / "checkout"
    copy_source_tree(checkout)  # a clone of the repository, as the README's install starts from
    env = airflow_first.env
    install = readme_blocks("Install", "bash")[0]
    assert install.strip() == 'pip install . "apache-airflow==$(airflow version | tail -n 1)"'
    run(["bash", "-euc", install], cwd=checkout, env=env, timeout=INSTALL_TIMEOUT_SECONDS)
    reported = run(
        [airflow_first.venv / "bin" / "airflow", "version"],
        cwd=airflow_first.workdir,
        env=env,
        timeout=AIRFLOW_CLI_TIMEOUT_SECONDS,
    )
    assert reported.strip().splitlines()[-1] == RUNNING_AIRFLOW

    (quick_start,) = readme_blocks("Quick start", "python")
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "quick_start.py").write_text(quick_start)
    with AirshipEmulator() as airship:
        dag_env = {
            **env,
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW_CONN_AIRSHIP_DEFAULT": json.dumps(airship.connection()),
        }
        airflow = airflow_first.venv / "bin" / "airflow"
        run(
            [airflow, "db", "migrate"],
            cwd=airflow_first.workdir,
            env=dag_env,
            timeout=AIRFLOW_CLI_TIMEOUT_SECONDS,
        )
        run(
            [airflow, "dags", "test", "example_journeys_daily_enroll", "2026-11-27"],
            cwd=airflow_first.workdir,
            env=dag_env,
            timeout=AIRFLOW_CLI_TIMEOUT_SECONDS,
        )
        (enrolled,) = airship.accepted(TRIGGER_PATH)
    assert enrolled["audience"] == {"segment": "new-signups-last-24h"}
    assert enrolled["entrance_id"] == "daily-20261127"
