"""What the forkserver does once, before it forks a process per step: it imports every
module of the code location (the definitions and each `defs/` module, with Dagster, dbt's
adapter, pandas, DuckDB and scikit-learn under them) and builds the definitions. A forked
step then finds them imported and built.

The forkserver inherits the environment of the run that started it, as its steps do, so
the definitions are built from the settings of that run. A step whose environment,
working directory or `.env` differs builds its own (`definitions.preload_definitions`).
"""

import contextlib
import importlib
import pkgutil

import trending_assets.definitions
import trending_assets.defs

for _module in pkgutil.walk_packages(trending_assets.defs.__path__, "trending_assets.defs."):
    importlib.import_module(_module.name)

# Libraries the code location imports only where they are used (loading it stays fast for
# the CLI, the UI and the daemon): the steps forked from here use them, so they import them
# once, here, instead of once per step.
STEP_LIBRARIES = ("sklearn.feature_extraction.text", "sklearn.linear_model", "scipy.stats",
                  "scipy.spatial.distance", "openai", "dbt.cli.main")  # fmt: skip
for _name in STEP_LIBRARIES:
    with contextlib.suppress(ImportError):
        importlib.import_module(_name)

# A forkserver whose preload raises dies, and every step fails with an error about the
# forkserver; a step that builds the definitions itself names the real cause (a bad setting).
with contextlib.suppress(Exception):
    trending_assets.definitions.preload_definitions()
