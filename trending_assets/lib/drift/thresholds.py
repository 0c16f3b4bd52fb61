"""Drift thresholds: every number that turns a statistic into PASS, WARN or SKIP, and why.

The PSI, Kolmogorov-Smirnov, Jensen-Shannon and rate-increase thresholds, the noise
significance level every WARN must also clear, and the minimum sample sizes below which a
comparison says SKIP; plus the `Status` and `Kind` literals of a drift row. Pure constants:
this module imports nothing from the rest of the package.
"""

from __future__ import annotations

from typing import Literal

Status = Literal["PASS", "WARN", "SKIP"]
Kind = Literal["input", "output"]

# PSI conventions (credit scoring, and the usual model-monitoring reading): below 0.1 the
# population is stable, 0.1-0.25 a moderate shift worth watching, above 0.25 a significant
# shift. We warn on "significant" only; "moderate" is written in the row's note.
PSI_MODERATE = 0.1
PSI_WARN = 0.25
PSI_BINS = 10  # deciles of the reference
# Empty bins get this share instead of 0, so log(p/q) stays finite; small enough that a
# genuinely new category or out-of-range value still weighs in.
PSI_EPSILON = 1e-4
# Significance for every test: a WARN must also be unlikely under sampling noise (1%).
NOISE_ALPHA = 0.01
# KS: with thousands of rows any difference is "significant"; a CDF gap below 10
# percentage points is not worth anybody's attention, so D must reach this as well.
KS_MIN_STATISTIC = 0.1
# Jensen-Shannon distance (base 2, in [0, 1]) between token distributions. Same-source
# samples of a few thousand tokens sit around 0.05-0.11 (noise grows like
# sqrt(tokens kept / sample size)); ~15% new tokens (a changed template or language) or
# the top words' frequencies reshuffled move it past 0.15.
JS_WARN = 0.15
VOCAB_TOP_K = 100
# Tokens the smaller sample should see fewer times than this go to <other> (the usual
# "expected count >= 5" condition of the chi-square test).
VOCAB_MIN_EXPECTED = 5
# The LLM quarantine rate may rise by less than 2 points before we call it drift (the
# blocking check on llm_enrichments bounds its absolute level separately).
RATE_MIN_INCREASE = 0.02
# Below these sizes a comparison says SKIP (and why) rather than guess.
MIN_SAMPLES = 30  # values per side for numeric and categorical features
MIN_TOKENS = 300  # tokens per side for vocabulary
MIN_RATE_DENOMINATOR = 30  # titles per side for a rate
# Text sample cap per side for the vocabulary (lengths use every row); fixed seed.
MAX_TEXTS = 20_000
