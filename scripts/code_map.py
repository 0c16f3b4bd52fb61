"""Generate docs/code_map.md: where each piece of the code lives, and who reads each setting.

Two questions a newcomer asks, answered from one page that cannot drift from the code:

- *Where does X live?* One row per Python module of the code location, the API and the
  scrapers, with the first sentence of the module's docstring.
- *Who reads setting Y?* One row per field of ``TrendingSettings``: its environment
  variable, its default and the modules that read it. Found in the source (ast): a read is
  ``settings.<field>`` or ``get_settings().<field>``; a derived property of the settings
  (``lake_root`` from ``lake_dir`` ...) counts as a read of the fields it uses; a field handed
  to a Dagster resource in ``build_resources`` is read by every module whose functions take
  that resource. Secrets are not settings: the variables read straight from the environment
  are listed with the module that reads each.

    python scripts/code_map.py            # (re)write docs/code_map.md
    python scripts/code_map.py --check    # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections import defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT = REPO_ROOT / "docs" / "code_map.md"
SETTINGS_FILE = REPO_ROOT / "trending_assets" / "settings.py"
RESOURCES_FILE = REPO_ROOT / "trending_assets" / "defs" / "resources.py"
PACKAGES = [
    ("trending_assets", "The Dagster code location: settings, the CLI, the definitions."),
    ("trending_assets/defs", "Assets, checks, sensors, schedules and resources (thin)."),
    ("trending_assets/lib", "Pure logic: no Dagster imports, unit-tested on its own."),
    ("serving", "The Litestar API and the web page over the published snapshot."),
    ("scrapers", "The Scrapy project: spiders, extraction, site files, the demo sites."),
]
# Folders without Python modules that a newcomer looks for.
OTHER_PLACES = [
    ("dbt_project/models/staging", "one dbt model per raw table: typed, cleaned, deduplicated"),
    ("dbt_project/models/intermediate", "entity resolution, genre mapping, review resolution"),
    ("dbt_project/models/marts", "what features, models and serving read"),
    ("dbt_project/models/serving", "the tables the API serves (copied into the snapshot)"),
    ("dbt_project/models/quarantine", "rows that could not be placed, with their reason"),
    ("dbt_project/seeds", "the genre taxonomy, the source registry, one map per vocabulary"),
    ("scrapers/sites", "site files: how one real site is crawled (`docs/adding_a_site.md`)"),
    ("config/dagster.yaml", "the local Dagster instance: pools, run monitoring, executor"),
    ("deploy/", "the multi-machine Dagster instance (Postgres, celery) for docker-compose"),
    (".importlinter", "the layer rules, checked by `make lint` and the test suite"),
    ("bench/", "benchmarks that print figures (`bench/README.md`)"),
    ("tests/", "the suite, mirroring the folders above"),
]
_FIRST_SENTENCE = re.compile(r"^(.+?[.!?])(\s|$)", re.S)
_MAX_SUMMARY = 220


def _module_summary(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    text = " ".join(doc.split("\n\n", 1)[0].split())
    match = _FIRST_SENTENCE.match(text)
    summary = (match.group(1) if match else text).rstrip(":")
    if len(summary) > _MAX_SUMMARY:
        summary = summary[: _MAX_SUMMARY - 1].rsplit(" ", 1)[0] + " …"
    return summary.replace("|", "\\|") or "(no docstring)"


def _modules(package: str) -> list[Path]:
    """The package's modules, not its sub-packages (they have their own section),
    except that ``defs`` and ``lib`` list their sub-packages' modules too."""
    root = REPO_ROOT / package
    deep = package in ("trending_assets/defs", "trending_assets/lib", "serving", "scrapers")
    found = sorted(root.rglob("*.py") if deep else root.glob("*.py"))
    skip = {"trending_assets/defs", "trending_assets/lib"} - {package}
    return [
        p
        for p in found
        if not any(str(p.relative_to(REPO_ROOT)).startswith(s + "/") for s in skip)
        and not (p.name == "__init__.py" and not ast.get_docstring(ast.parse(p.read_text())))
    ]


def _settings_fields() -> tuple[dict[str, tuple[str, str]], dict[str, set[str]]]:
    """Field -> (annotation, default source text); derived property -> fields it uses."""
    tree = ast.parse(SETTINGS_FILE.read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "TrendingSettings")
    fields: dict[str, tuple[str, str]] = {}
    derived: dict[str, set[str]] = {}
    for node in cls.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if node.target.id == "model_config":
                continue
            fields[node.target.id] = (ast.unparse(node.annotation), _default(node.value))
        elif isinstance(node, ast.FunctionDef):
            used = {
                n.attr
                for n in ast.walk(node)
                if isinstance(n, ast.Attribute)
                and isinstance(n.value, ast.Name)
                and n.value.id == "self"
            }
            derived[node.name] = used
    for name, used in derived.items():  # a property may use another property
        derived[name] = {f for u in used for f in ({u} | derived.get(u, set()))}
    return fields, {k: {f for f in v if f in fields} for k, v in derived.items()}


def _default(value: ast.expr | None) -> str:
    if value is None:
        return "(required)"
    if isinstance(value, ast.Call) and ast.unparse(value.func) == "Field":
        for kw in value.keywords:
            if kw.arg == "default":
                return ast.unparse(kw.value)
            if kw.arg == "default_factory":
                return {"list": "[]", "dict": "{}"}.get(ast.unparse(kw.value), "(computed)")
    return ast.unparse(value)


def _reads_settings(node: ast.expr) -> bool:
    """``settings.x``, ``self.settings.x``, ``get_settings().x``."""
    if isinstance(node, ast.Call):
        return ast.unparse(node.func).endswith("get_settings")
    return ast.unparse(node).split(".")[-1] == "settings"


def _resource_routes(fields: dict[str, tuple[str, str]]) -> dict[str, set[str]]:
    """Settings field -> resource classes that ``build_resources`` hands it to.

    A keyword ``Resource(x=settings.a)`` routes ``a``; ``**settings.model_dump(include=...
    Resource.model_fields ...)`` and ``getattr(settings, f"prefix_{field}")`` over
    ``Resource.model_fields`` route the fields named after the resource's fields.
    """
    tree = ast.parse(RESOURCES_FILE.read_text(encoding="utf-8"))
    resource_fields: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            resource_fields[node.name] = {
                n.target.id
                for n in node.body
                if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
            }
    routes: dict[str, set[str]] = defaultdict(set)
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
            continue
        resource = call.func.id
        if resource not in resource_fields:
            continue
        for kw in call.keywords:
            for n in ast.walk(kw.value):
                if isinstance(n, ast.Attribute) and _reads_settings(n.value) and n.attr in fields:
                    routes[n.attr].add(resource)
            text = ast.unparse(kw.value)
            if kw.arg is None and f"{resource}.model_fields" in text:
                prefix = re.search(r"getattr\(settings, f['\"](\w*)\{", text)
                for name in resource_fields[resource]:
                    setting = (prefix.group(1) if prefix else "") + name
                    if setting in fields and not _excluded(text, name):
                        routes[setting].add(resource)
    return routes


def _excluded(text: str, name: str) -> bool:
    """``model_dump(include=set(R.model_fields) - {"name"})`` leaves ``name`` out."""
    return re.search(r"-\s*\{[^}]*['\"]" + re.escape(name) + r"['\"]", text) is not None


def _python_files() -> list[Path]:
    return sorted(
        p
        for package in ("trending_assets", "serving", "scrapers")
        for p in (REPO_ROOT / package).rglob("*.py")
    )


def _readers() -> tuple[dict[str, set[str]], dict[str, set[str]], list[tuple[str, str]]]:
    """(field -> modules reading it directly, resource class -> modules taking it,
    [(environment variable, module)] read straight from the environment)."""
    fields, derived = _settings_fields()
    direct: dict[str, set[str]] = defaultdict(set)
    takers: dict[str, set[str]] = defaultdict(set)
    env: set[tuple[str, str]] = set()
    resources = {name for route in _resource_routes(fields).values() for name in route}
    for path in _python_files():
        rel = str(path.relative_to(REPO_ROOT))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            t.id: n.value.value
            for n in tree.body
            if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
            for t in n.targets
            if isinstance(t, ast.Name) and isinstance(n.value.value, str)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _reads_settings(node.value):
                if rel == "trending_assets/settings.py":
                    continue
                for field in {node.attr} | derived.get(node.attr, set()):
                    if field in fields:
                        direct[field].add(rel)
            elif isinstance(node, ast.arg) and node.annotation is not None:
                annotation = ast.unparse(node.annotation)
                for resource in resources:
                    if re.search(rf"\b{resource}\b", annotation):
                        takers[resource].add(rel)
            elif isinstance(node, ast.Call):
                name = _env_read(node, constants)
                if name:
                    env.add((name, rel))
    return direct, takers, sorted(env)


def _env_read(call: ast.Call, constants: dict[str, str]) -> str | None:
    """The variable name of ``os.environ.get(X)``, ``os.getenv(X)``, ``dg.EnvVar(X)``."""
    func = ast.unparse(call.func)
    if func not in ("os.environ.get", "os.getenv", "dg.EnvVar", "EnvVar") or not call.args:
        return None
    arg = call.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.Name) and arg.id in constants:
        return constants[arg.id]
    return None


def render() -> str:
    lines = [
        "# Code map",
        "",
        "Generated by `python scripts/code_map.py` from the code itself (module docstrings,",
        "the settings model, the resources); `tests/test_architecture.py` fails when it is",
        'out of date. The layers and the direction data flows: `../README.md` ("How it fits',
        'together") and `.importlinter`.',
        "",
        "## Where things live",
        "",
    ]
    for package, blurb in PACKAGES:
        lines += [f"### `{package}/`", "", blurb, "", "| module | what it holds |", "|---|---|"]
        for path in _modules(package):
            rel = path.relative_to(REPO_ROOT)
            lines.append(f"| `{rel}` | {_module_summary(path)} |")
        lines.append("")
    lines += ["### Outside the Python packages", "", "| where | what it holds |", "|---|---|"]
    lines += [f"| `{where}` | {what} |" for where, what in OTHER_PLACES]

    fields, _ = _settings_fields()
    routes = _resource_routes(fields)
    direct, takers, env = _readers()
    lines += [
        "",
        "## Who reads each setting",
        "",
        "Every setting is a field of `TrendingSettings` (`trending_assets/settings.py`), read",
        "from the environment variable `TRENDING_<FIELD>` (or `.env`) and nowhere else.",
        "`.env.example` explains each one.",
        "",
        "| setting | type | default | read by |",
        "|---|---|---|---|",
    ]
    for field, (annotation, default) in fields.items():
        readers = sorted(direct.get(field, set()))
        for resource in sorted(routes.get(field, set())):
            users = ", ".join(f"`{m}`" for m in sorted(takers.get(resource, set())))
            readers.append(f"the `{resource}` resource ({users or 'no asset yet'})")
        who = ", ".join(r if r.startswith("the ") else f"`{r}`" for r in readers)
        annotation, default = annotation.replace("|", "\\|"), default.replace("|", "\\|")
        lines.append(
            f"| `TRENDING_{field.upper()}` | `{annotation}` | `{default}` | {who or '**nothing**'} |"
        )
    lines += [
        "",
        "## Read straight from the environment",
        "",
        "Secrets, and variables owned by other tools, are not settings: they are read where",
        "they are used, so they never land in a settings dump, a log line or asset metadata.",
        "",
        "| variable | read by |",
        "|---|---|",
    ]
    by_name: dict[str, list[str]] = defaultdict(list)
    for name, module in env:
        by_name[name].append(module)
    for name in sorted(by_name):
        lines.append(f"| `{name}` | {', '.join(f'`{m}`' for m in sorted(by_name[name]))} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT.relative_to(REPO_ROOT)} is out of date: run "
                  "python scripts/code_map.py", file=sys.stderr)  # fmt: skip
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
