"""What the forkserver imports once, before it forks a process per step: every module of
the code location (the definitions and each `defs/` module, with Dagster, dbt's adapter,
pandas, DuckDB and scikit-learn under them). A forked step then finds them imported.

Imports only: nothing is built or cached here, so a step still builds its definitions
from the settings of its own run.
"""

import importlib
import pkgutil

import trending_assets.definitions  # noqa: F401
import trending_assets.defs

for _module in pkgutil.walk_packages(trending_assets.defs.__path__, "trending_assets.defs."):
    importlib.import_module(_module.name)
