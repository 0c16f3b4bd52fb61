"""The layer rules (`.importlinter`): checked on the real import graph with import-linter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", *args],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_layer_contracts_are_kept():
    result = _lint()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "0 broken" in result.stdout


def test_the_checker_sees_a_real_import(tmp_path):
    # serving does import trending_assets.lib (the shared pure logic): a contract forbidding
    # it must break, so the kept contracts above are not vacuous.
    config = tmp_path / "contracts.ini"
    config.write_text(
        "[importlinter]\nroot_packages =\n    trending_assets\n    serving\n\n"
        "[importlinter:contract:probe]\nname = probe\ntype = forbidden\n"
        "source_modules =\n    serving\nforbidden_modules =\n    trending_assets.lib\n",
        encoding="utf-8",
    )
    result = _lint("--config", str(config))
    assert result.returncode != 0 and "BROKEN" in result.stdout, result.stdout[-2000:]


def test_every_setting_is_documented_in_env_example() -> None:
    """`.env.example` is where a user looks for a knob: every settings field is in it."""
    from trending_assets.settings import TrendingSettings

    listed = (REPO / ".env.example").read_text(encoding="utf-8")
    missing = [
        f"TRENDING_{name.upper()}"
        for name in TrendingSettings.model_fields
        if f"TRENDING_{name.upper()}=" not in listed
    ]
    assert not missing, f"add to .env.example: {missing}"


def test_the_code_location_has_one_name_everywhere() -> None:
    """workspace.yaml's name is the one Dagster's project config gives (else Dagster takes
    the checkout's folder name and warns on every load that they differ)."""
    import tomllib

    import yaml

    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["tool"]
    names = {
        project["dg"]["project"]["code_location_name"],
        project["dagster"]["code_location_name"],
    }
    for workspace in (root / "workspace.yaml", root / "deploy" / "workspace.yaml"):
        for entry in yaml.safe_load(workspace.read_text())["load_from"]:
            for spec in entry.values():
                names.add(spec["location_name"])
    assert names == {"trending_now"}


def _code_map():
    """scripts/code_map.py as a module (scripts/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("code_map", REPO / "scripts" / "code_map.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_code_map_is_current_and_every_setting_has_a_reader() -> None:
    """docs/code_map.md answers "where does X live" and "who reads setting Y" from the code
    itself; a setting nothing reads is a knob that does nothing, so it fails here."""
    text = _code_map().render()
    assert "**nothing**" not in text, [ln for ln in text.splitlines() if "**nothing**" in ln]
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "code_map.py"), "--check"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_the_code_map_finds_readers_in_the_source() -> None:
    """The reader scan is not vacuous: the API's port is read by the API's launcher."""
    direct, takers, env = _code_map()._readers()
    assert "serving/__main__.py" in direct["api_port"]
    assert "trending_assets/defs/ingest/assets.py" in takers["CrawlerResource"]
    assert ("OPENAI_API_KEY", "trending_assets/defs/resources.py") in env


def test_loading_the_code_location_leaves_the_heavy_libraries_unimported() -> None:
    """Every process that loads the code location (the CLI, the UI, the daemon, each
    `dagster asset materialize`) used to import the openai client and scikit-learn with
    scipy.stats, about 4.5 s on a 2-core machine, whether or not it ran a step that needs
    them. They are imported where they are used."""
    code = (
        "import sys; from trending_assets.definitions import defs; defs(); "
        "print(*(m in sys.modules for m in ('openai', 'sklearn', 'scipy.stats', "
        "'trending_assets.lib.enrichment.rating_model', 'trending_assets.lib.ml.features')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["False", "False", "False", "True", "True"], result.stdout


def test_the_defs_folder_loads_as_dagster_loads_it() -> None:
    """`load_defs_folder` builds the same definitions as `dg.load_from_defs_folder`, less
    the installed component types' catalogue (about 1 s a load), with the component tree."""
    code = """
import json
from pathlib import Path
import dagster as dg
from trending_assets.definitions import REPO_ROOT, load_defs_folder

def shape(d):
    return {
        "assets": sorted(k.to_user_string() for k in d.resolve_asset_graph().get_all_asset_keys()),
        "checks": sorted(str(k) for k in d.resolve_asset_graph().asset_check_keys),
        "sensors": sorted(s.name for s in d.sensors or []),
        "schedules": sorted(s.name for s in d.schedules or []),
        "jobs": sorted(j.name for j in d.resolve_all_job_defs()),
        "resources": sorted(d.resources or {}),
    }

ours = load_defs_folder()
dagsters = dg.load_from_defs_folder(path_within_project=Path(REPO_ROOT))
print(json.dumps({
    "same": shape(ours) == shape(dagsters),
    "assets": len(shape(ours)["assets"]),
    "tree": ours.component_tree is not None,
    "ours_metadata": sorted(ours.metadata or {}),
    "dagsters_metadata": sorted(dagsters.metadata or {}),
}))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    got = json.loads(result.stdout.strip().splitlines()[-1])
    assert got["same"] and got["assets"] > 50 and got["tree"], got
    assert got["ours_metadata"] == [], got
    # What is left out is only the catalogue Dagster adds (if a release renames it, look again).
    assert got["dagsters_metadata"] == ["plugin_component_types_json"], got
