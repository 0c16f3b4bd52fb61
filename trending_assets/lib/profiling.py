"""A data profile of the marts: sizes, missing values, text lengths and genre frequencies."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field

import duckdb
import pandas as pd

MART_TABLES = ("titles", "title_genres", "reviews", "title_review_stats")
# dbt's quarantine models: rows that could not be published, each with a `reason`.
QUARANTINE_TABLES = (
    "quarantine_listings_unresolved",
    "quarantine_reviews_unresolved",
    "quarantine_genre_labels_unmapped",
)
UNMAPPED_LABELS_TABLE = "int_unmapped_genre_labels"
UNMAPPED_LABELS_SHOWN = 25


@dataclass
class MartProfile:
    row_counts: dict[str, int]
    missing: pd.DataFrame  # table, column, missing, share
    plot_lengths: pd.Series  # words per plot
    review_lengths: pd.Series  # words per review
    genre_counts: pd.DataFrame  # genre_name, titles, share
    type_counts: dict[str, int]
    rating_counts: pd.Series  # rating -> reviews
    figures: dict[str, bytes] = field(default_factory=dict)  # name -> PNG


def _words(column: str) -> str:
    return f"len(string_split(trim(regexp_replace(coalesce({column}, ''), '\\s+', ' ', 'g')), ' '))"


def profile_marts(con: duckdb.DuckDBPyConnection, *, with_figures: bool = True) -> MartProfile:
    row_counts = {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in MART_TABLES}

    missing_rows = []
    for table in MART_TABLES:
        columns = [r[0] for r in con.execute(f"describe {table}").fetchall()]
        if not columns or row_counts[table] == 0:
            continue
        counts = con.execute(
            "select " + ", ".join(f"count(*) - count({c})" for c in columns) + f" from {table}"
        ).fetchone()
        for column, count in zip(columns, counts, strict=True):
            missing_rows.append(
                {"table": table, "column": column, "missing": int(count),
                 "share": round(count / row_counts[table], 4)}
            )  # fmt: skip
    missing = pd.DataFrame(missing_rows, columns=["table", "column", "missing", "share"])

    plot_lengths = con.execute(
        f"select {_words('plot')} as words from titles where plot is not null"
    ).df()["words"]
    review_lengths = con.execute(f"select {_words('text')} as words from reviews").df()["words"]
    genre_counts = con.execute(
        """select coalesce(g.genre_name, tg.genre_id) as genre_name, count(*) as titles
           from title_genres tg left join genres g using (genre_id)
           group by 1 order by titles desc, genre_name"""
    ).df()
    genre_counts["share"] = (genre_counts["titles"] / max(row_counts["titles"], 1)).round(4)
    type_counts = dict(con.execute("select title_type, count(*) from titles group by 1").fetchall())
    rating_counts = (
        con.execute(
            "select rating, count(*) as n from reviews where rating is not null group by 1 order by 1"
        )
        .df()
        .set_index("rating")["n"]
    )
    profile = MartProfile(
        row_counts=row_counts,
        missing=missing,
        plot_lengths=plot_lengths,
        review_lengths=review_lengths,
        genre_counts=genre_counts,
        type_counts={str(k): int(v) for k, v in type_counts.items()},
        rating_counts=rating_counts,
    )
    if with_figures:
        profile.figures = render_figures(profile)
    return profile


def length_summary(lengths: pd.Series) -> dict[str, float]:
    if lengths.empty:
        return {"count": 0}
    q = lengths.quantile([0.05, 0.5, 0.95])
    return {
        "count": int(lengths.size),
        "mean": round(float(lengths.mean()), 1),
        "p05": float(q.loc[0.05]),
        "median": float(q.loc[0.5]),
        "p95": float(q.loc[0.95]),
        "max": int(lengths.max()),
    }


def figure_png(fig) -> bytes:
    """A matplotlib figure as PNG bytes (for asset metadata); the figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return buffer.getvalue()


def render_figures(profile: MartProfile) -> dict[str, bytes]:
    """PNG charts: text-length histograms, genre frequencies and the rating distribution."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures: dict[str, bytes] = {}

    def save(fig: plt.Figure, name: str) -> None:
        figures[name] = figure_png(fig)

    fig, axes = plt.subplots(1, 2, figsize=(9, 3))
    for ax, lengths, label in (
        (axes[0], profile.plot_lengths, "plot length (words)"),
        (axes[1], profile.review_lengths, "review length (words)"),
    ):
        if len(lengths):
            ax.hist(lengths, bins=30, color="#3b6ea8")
        ax.set_xlabel(label)
        ax.set_ylabel("count")
    save(fig, "text_lengths")

    fig, ax = plt.subplots(figsize=(9, 4))
    genres = profile.genre_counts
    ax.barh(genres["genre_name"][::-1], genres["titles"][::-1], color="#a8553b")
    ax.set_xlabel("titles")
    save(fig, "genre_frequencies")

    fig, ax = plt.subplots(figsize=(5, 3))
    ax.bar(profile.rating_counts.index.astype(int), profile.rating_counts.values, color="#5a8a3b")
    ax.set_xlabel("review rating")
    ax.set_ylabel("reviews")
    save(fig, "rating_distribution")
    return figures


def png_markdown(png: bytes, alt: str) -> str:
    """An image inlined as a data URI, so the Dagster UI shows it in the metadata panel."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def _relation_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = con.execute(
        "select count(*) from information_schema.tables"
        " where table_schema = 'main' and table_name = ?",
        [name],
    ).fetchone()
    return bool(found and found[0])


def quarantine_summary(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    """Rows in each of dbt's quarantine models, by reason (a missing model: not listed)."""
    summary: dict[str, dict[str, int]] = {}
    for table in QUARANTINE_TABLES:
        if not _relation_exists(con, table):
            continue
        counts = con.execute(
            f"select reason, count(*) from {table} group by reason order by 2 desc, 1"
        ).fetchall()
        summary[table] = {str(reason): int(n) for reason, n in counts}
    return summary


def unmapped_genre_labels(
    con: duckdb.DuckDBPyConnection, limit: int = UNMAPPED_LABELS_SHOWN
) -> pd.DataFrame:
    """The most frequent genre labels no mapping seed knows (source, vocabulary, label, reason)."""
    columns = ["source", "genre_vocabulary", "source_genre", "listing_count", "reason"]
    if not _relation_exists(con, UNMAPPED_LABELS_TABLE):
        return pd.DataFrame(columns=columns)
    return con.execute(
        f"select {', '.join(columns)} from {UNMAPPED_LABELS_TABLE}"
        " order by listing_count desc, source, source_genre limit ?",
        [limit],
    ).df()
