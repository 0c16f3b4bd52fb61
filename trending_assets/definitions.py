"""The code location: every domain folder under `defs/` is loaded; nothing is listed by hand."""

from pathlib import Path

import dagster as dg

from trending_assets.settings import REPO_ROOT


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(REPO_ROOT))
