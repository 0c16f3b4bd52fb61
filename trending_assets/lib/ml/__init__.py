"""Pure ML logic for multi-label genre classification (no dagster imports here).

Modules: ``data`` (examples from marts or dataset listings), ``split`` (iterative
stratification), ``features`` (the shared TF-IDF featurizer), ``thresholds``,
``metrics``, ``keyword`` / ``models`` (the genre models), ``registry`` (versioned
artifacts in the lake and the promotion gate) and ``cards`` (model cards).
"""
