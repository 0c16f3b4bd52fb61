"""Generate docs/data_dictionary.md from the dbt project's YAML.

Reads the property files under dbt_project/ (sources, models, seeds, their columns and
tests), the folder materialisations in dbt_project.yml and the header comments of the
singular tests, and writes one Markdown page. The output is deterministic, so a test
can check that the committed page is current:

    python scripts/data_dictionary.py            # (re)write docs/data_dictionary.md
    python scripts/data_dictionary.py --check    # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
OUTPUT = REPO_ROOT / "docs" / "data_dictionary.md"

# Layers in reading order: what consumers read first.
LAYERS = [
    (
        "serving",
        "Serving",
        "What the API serves: the serving snapshot copies each model as the table without "
        "the `serving_` prefix (docs/contracts.md).",
    ),
    ("marts", "Marts", "What features, models and serving read (schema `main`)."),
    ("quarantine", "Quarantine", "Rows that could not be placed, each with a reason."),
    ("intermediate", "Intermediate", "Entity resolution, genre mapping, review resolution."),
    ("staging", "Staging", "One model per raw table: typed, cleaned, deduplicated."),
]


@dataclass
class Node:
    name: str
    path: Path
    description: str
    columns: list[dict[str, Any]]
    tests: list[Any]
    config: dict[str, Any] = field(default_factory=dict)


def load_yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def describe_test(test: Any) -> str:
    """A generic test entry as short text: `accepted_values (movie, tv)`."""
    if isinstance(test, str):
        return f"`{test}`"
    ((name, spec),) = test.items()
    spec = spec or {}
    arguments = spec.get("arguments", {k: v for k, v in spec.items() if k != "config"})
    severity = (spec.get("config") or {}).get("severity")
    if name == "accepted_values":
        detail = ", ".join(str(value) for value in arguments["values"])
        text = f"`accepted_values` ({detail})"
    elif name == "relationships":
        target = str(arguments["to"]).removeprefix("ref(").removesuffix(")").strip("'\"")
        text = f"`relationships` → {target}.{arguments['field']}"
    elif name == "value_between":
        text = f"`value_between` [{arguments['min_value']}, {arguments['max_value']}]"
    elif name == "unique_combination_of_columns":
        text = f"`unique_combination_of_columns` ({', '.join(arguments['combination_of_columns'])})"
    else:
        details = ", ".join(f"{key}={value}" for key, value in sorted(arguments.items()))
        text = f"`{name}`" + (f" ({details})" if details else "")
    return text + (f" (severity {severity})" if severity else "")


def collect(kind: str) -> list[Node]:
    nodes = []
    for path in sorted(DBT_PROJECT_DIR.rglob("*.yml")):
        if path.name in ("dbt_project.yml", "profiles.yml") or "target" in path.parts:
            continue
        for entry in load_yaml(path).get(kind, []):
            nodes.append(
                Node(
                    name=entry["name"],
                    path=path.relative_to(REPO_ROOT),
                    description=one_line(entry.get("description")),
                    columns=entry.get("columns", []),
                    tests=entry.get("data_tests", entry.get("tests", [])),
                    config=entry.get("config", {}),
                )
            )
    return nodes


def model_layer(name: str) -> tuple[str, Path] | None:
    for sql in DBT_PROJECT_DIR.joinpath("models").rglob(f"{name}.sql"):
        return sql.relative_to(DBT_PROJECT_DIR / "models").parts[0], sql.relative_to(REPO_ROOT)
    return None


def folder_materializations() -> dict[str, str]:
    project = load_yaml(DBT_PROJECT_DIR / "dbt_project.yml")
    models = project.get("models", {}).get(project["name"], {})
    return {
        folder: settings.get("+materialized", "view")
        for folder, settings in models.items()
        if isinstance(settings, dict)
    }


def columns_table(columns: list[dict[str, Any]], with_types: bool) -> list[str]:
    if not columns:
        return []
    header = (
        "| column | type | description | tests |"
        if with_types
        else "| column | description | tests |"
    )
    lines = [header, "|---|---|---|---|" if with_types else "|---|---|---|"]
    for column in columns:
        tests = ", ".join(
            describe_test(t) for t in column.get("data_tests", column.get("tests", []))
        )
        parts = [f"`{column['name']}`"]
        if with_types:
            parts.append(f"`{column['data_type']}`" if column.get("data_type") else "")
        parts += [cell(one_line(column.get("description"))), cell(tests)]
        lines.append("| " + " | ".join(parts) + " |")
    return lines + [""]


def render_node(node: Node, heading: str, extra: list[str]) -> list[str]:
    lines = [f"### {heading}", ""]
    lines += [f"- {item}" for item in extra]
    if node.tests:
        lines.append("- tests: " + ", ".join(describe_test(t) for t in node.tests))
    lines.append("")
    if node.description:
        lines += [node.description, ""]
    with_types = any(column.get("data_type") for column in node.columns)
    return lines + columns_table(node.columns, with_types)


def singular_tests() -> list[tuple[str, str]]:
    found = []
    for sql in sorted(DBT_PROJECT_DIR.joinpath("tests").glob("*.sql")):
        comment = []
        for line in sql.read_text(encoding="utf-8").splitlines():
            if not line.startswith("--"):
                break
            comment.append(line.removeprefix("--").strip())
        found.append((sql.stem, " ".join(comment)))
    return found


MACRO_DOC = re.compile(
    r"\{#-?(?P<doc>.*?)-?#\}\s*\{%-?\s*macro\s+(?P<name>\w+)\((?P<args>[^)]*)\)", re.S
)


def documented_macros() -> list[tuple[str, str]]:
    """Public macros with the comment block right above them, as (signature, text)."""
    found = []
    for sql in sorted(DBT_PROJECT_DIR.joinpath("macros").rglob("*.sql")):
        for match in MACRO_DOC.finditer(sql.read_text(encoding="utf-8")):
            if match["name"].startswith("_"):
                continue
            text = textwrap.dedent(match["doc"].strip("\n")).strip()
            found.append((f"{match['name']}({match['args'].strip()})", text))
    return found


def render() -> str:
    materializations = folder_materializations()
    models = collect("models")
    lines = [
        "# Data dictionary",
        "",
        "Generated by `scripts/data_dictionary.py` from the dbt YAML in `dbt_project/`;",
        "do not edit by hand (`python scripts/data_dictionary.py` rewrites it, a test",
        "checks it is current). The marts' shape is the contract in `docs/contracts.md`.",
        "",
    ]
    for folder, title, blurb in LAYERS:
        in_layer = []
        for node in models:
            located = model_layer(node.name)
            if located and located[0] == folder:
                in_layer.append((node, located[1]))
        if not in_layer:
            continue
        lines += [f"## {title}", "", blurb, ""]
        for node, sql_path in sorted(in_layer, key=lambda item: item[0].name):
            extra = [f"file: `{sql_path}`", f"materialized: {materializations.get(folder, 'view')}"]
            if (node.config.get("contract") or {}).get("enforced"):
                extra.append("contract: enforced (names and types below are checked at build)")
            lines += render_node(node, f"`{node.name}`", extra)

    lines += ["## Seeds", "", "Static mappings, loaded by `dbt seed` into schema `main`.", ""]
    for node in sorted(collect("seeds"), key=lambda n: n.name):
        found = sorted((REPO_ROOT / "dbt_project" / "seeds").rglob(f"{node.name}.csv"))
        where = (
            found[0].relative_to(REPO_ROOT).as_posix()
            if found
            else f"dbt_project/seeds/{node.name}.csv"
        )
        lines += render_node(node, f"`{node.name}`", [f"file: `{where}`"])

    lines += [
        "## Sources",
        "",
        "Tables the pipeline's Python assets write: the raw tables of the ingest assets, and the",
        "enrichment and trending tables the serving models read.",
        "",
    ]
    for path in sorted(DBT_PROJECT_DIR.rglob("*__sources.yml")):
        for source in load_yaml(path).get("sources", []):
            for table in source.get("tables", []):
                meta = (table.get("config") or {}).get("meta") or table.get("meta") or {}
                asset_key = "/".join(meta.get("dagster", {}).get("asset_key", []))
                node = Node(
                    name=table["name"],
                    path=path.relative_to(REPO_ROOT),
                    description=one_line(table.get("description")),
                    columns=table.get("columns", []),
                    tests=table.get("data_tests", []),
                )
                extra = [
                    f"source: `{source['name']}` ({one_line(source.get('description'))})",
                    f"relation: `{source.get('schema', source['name'])}.{table['name']}`",
                    f"Dagster asset: `{asset_key}`" if asset_key else "Dagster asset: none",
                ]
                lines += render_node(node, f"`{source['name']}.{table['name']}`", extra)

    lines += ["## Singular tests", "", "| test | checks |", "|---|---|"]
    lines += [f"| `{name}` | {cell(text)} |" for name, text in singular_tests()]
    lines += ["", "## Macros", ""]
    for signature, text in documented_macros():
        lines += [f"### `{signature}`", "", "```text", text, "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run python scripts/data_dictionary.py")
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
