"""A versioned model registry in the lake, and the champion promotion gate.

Layout under ``<prefix>/`` (default ``models/``)::

    models/<name>/<version>/model.tar      the saved model directory (an uncompressed tar;
                                          versions registered before 2026-12 are model.tar.gz)
    models/<name>/<version>/meta.json      metrics, fingerprint, code version, checksum
    models/<name>/<version>/card.md        the model card
    models/champion.json                   {"current": {...}, "history": [...]}

Versions are ``<UTC timestamp>-<first 8 hex of the artifact's sha256>``, so they sort
by registration time and name their content. Every write goes through the lake, which
writes atomically (temp file + rename locally, one ``put_object`` on S3); the artifact
and meta are written before anything points at them, and ``meta.json`` last, so a
version with a ``meta.json`` is complete.

Every file is validated on read. A ``meta.json`` that does not parse or breaks the schema
(or an artifact that fails its checksum when the champion is verified) makes that version
unusable: the file is moved aside (``<file>.corrupt-<timestamp>``) with a warning naming
it, and the version is no longer listed. A ``champion.json`` that does not parse or
breaks the schema is moved aside the same way (there is no champion until the next
promotion); a pointer to a version that is gone or corrupt falls back to the newest
promotion in the history that is still good. Nothing corrupt fails a later run.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import re
import tarfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from trending_assets.lib.integrity import move_aside_key
from trending_assets.lib.lake import Lake

log = logging.getLogger(__name__)

# Uncompressed: gzip saved 9 % of a fine-tuned encoder's 92 MB (float weights barely
# compress) at 4-8 s per registration. A version's own artifact_key says which it has.
ARTIFACT = "model.tar"
META = "meta.json"
CARD = "card.md"
CHAMPION = "champion.json"


@dataclass(frozen=True)
class ModelVersion:
    """One registered model version (the content of its ``meta.json``)."""

    name: str
    version: str
    metrics: dict[str, Any]
    fingerprint: str
    code_version: str
    created_at: str
    artifact_key: str
    artifact_sha256: str
    card_key: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version}

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PromotionDecision:
    """Whether the challenger becomes champion, and why (with the numbers)."""

    promote: bool
    reason: str


class RegistryError(LookupError):
    """A model, version or champion pointer the registry does not hold."""


class RegistryCorruptError(RegistryError):
    """A registry file that does not parse, breaks the schema or fails its checksum."""


_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_META_TYPES: dict[str, type | tuple[type, ...]] = {
    "name": str, "version": str, "metrics": dict, "fingerprint": str, "code_version": str,
    "created_at": str, "artifact_key": str, "artifact_sha256": str, "card_key": str,
    "extra": dict,
}  # fmt: skip


def _meta_problem(data: Any, name: str, version: str, expected_prefix: str) -> str | None:
    """Why a parsed ``meta.json`` is not a valid :class:`ModelVersion`, or None."""
    if not isinstance(data, dict):
        return f"not a JSON object but {type(data).__name__}"
    unknown = set(data) - set(_META_TYPES)
    if unknown:
        return f"unknown field(s) {sorted(unknown)}"
    for key, kind in _META_TYPES.items():
        if key == "extra" and key not in data:
            continue
        if not isinstance(data.get(key), kind):
            return f"field {key!r} missing or not {getattr(kind, '__name__', kind)}"
    if (data["name"], data["version"]) != (name, version):
        return f"names {data['name']} {data['version']}, stored as {name} {version}"
    if not _SHA256.match(data["artifact_sha256"]):
        return "artifact_sha256 is not a sha256"
    for key in ("artifact_key", "card_key"):
        if not data[key].startswith(expected_prefix):
            return f"{key} {data[key]!r} is outside {expected_prefix}"
    return None


def _finite_metrics(metrics: dict[str, Any], where: str) -> dict[str, Any]:
    """``metrics`` without NaN/Inf numbers (a NaN score would block the gate for good)."""
    bad = [k for k, v in metrics.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        log.warning("%s: dropped non-finite metric(s) %s", where, bad)
    return {k: v for k, v in metrics.items() if k not in bad}


def _pointer_entry_ok(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("name"), str)
        and isinstance(entry.get("version"), str)
        and bool(entry["name"])
        and bool(entry["version"])
    )


def _tar_directory(directory: Path) -> bytes:
    """A tar of ``directory``'s files, reproducible (sorted, no times or owners)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(p for p in Path(directory).rglob("*") if p.is_file()):
            info = tarfile.TarInfo(path.relative_to(directory).as_posix())
            info.size = path.stat().st_size
            info.mode = 0o644
            with path.open("rb") as handle:
                archive.addfile(info, handle)
    return buffer.getvalue()


def _safe_extract(data: bytes, dest: Path) -> None:
    """Unpack a registry tarball (plain or gzipped), refusing links and paths that leave
    ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        for member in archive.getmembers():
            path = PurePosixPath(member.name)
            if not member.isfile() or path.is_absolute() or ".." in path.parts:
                raise RegistryError(f"refusing archive member {member.name!r}")
            target = dest.joinpath(*path.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            assert source is not None
            target.write_bytes(source.read())


class ModelRegistry:
    """Versioned model artifacts under ``<prefix>/`` in a lake (local or S3)."""

    def __init__(self, lake: Lake, prefix: str = "models") -> None:
        self.lake = lake
        self.prefix = prefix.strip("/")

    def _key(self, *parts: str) -> str:
        return "/".join([self.prefix, *parts])

    def register(
        self,
        name: str,
        model_dir: Path,
        *,
        metrics: dict[str, Any],
        card: str,
        fingerprint: str,
        code_version: str,
        extra: dict[str, Any] | None = None,
    ) -> ModelVersion:
        """Store ``model_dir`` as a new version of ``name`` and return it."""
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"invalid model name {name!r}")
        model_dir = Path(model_dir)
        if not model_dir.is_dir():
            raise FileNotFoundError(f"model directory {model_dir} does not exist")
        artifact = _tar_directory(model_dir)
        sha = hashlib.sha256(artifact).hexdigest()
        now = datetime.now(UTC)
        version = f"{now:%Y%m%dT%H%M%S%fZ}-{sha[:8]}"
        model_version = ModelVersion(
            name=name,
            version=version,
            metrics=json.loads(json.dumps(metrics, default=_plain)),
            fingerprint=fingerprint,
            code_version=code_version,
            created_at=now.isoformat(),
            artifact_key=self._key(name, version, ARTIFACT),
            artifact_sha256=sha,
            card_key=self._key(name, version, CARD),
            extra=json.loads(json.dumps(extra or {}, default=_plain)),
        )
        self.lake.write_bytes(model_version.artifact_key, artifact)
        self.lake.write_bytes(model_version.card_key, card.encode("utf-8"))
        self.lake.write_bytes(
            self._key(name, version, META),
            json.dumps(model_version.to_json(), indent=2, sort_keys=True).encode("utf-8"),
        )
        return model_version

    def list_versions(self, name: str) -> list[ModelVersion]:
        """Every complete, valid version of ``name``, oldest first (corrupt ones moved aside)."""
        suffix = f"/{META}"
        keys = [k for k in self.lake.list_keys(self._key(name) + "/") if k.endswith(suffix)]
        versions = sorted({PurePosixPath(k).parent.name for k in keys})
        found = []
        for version in versions:
            try:
                found.append(self.get(name, version))
            except RegistryCorruptError:
                continue  # moved aside, warned
        return found

    def get(self, name: str, version: str) -> ModelVersion:
        """The registered version ``version`` of ``name``.

        Raises :class:`RegistryError` when it is not registered and
        :class:`RegistryCorruptError` (naming the file, which is moved aside) when its
        ``meta.json`` does not parse or breaks the schema.
        """
        key = self._key(name, version, META)
        if not self.lake.exists(key):
            raise RegistryError(f"no model {name!r} version {version!r} in the registry")
        try:
            data = json.loads(self.lake.read_bytes(key).decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            problem = f"not JSON: {exc}"
        else:
            problem = _meta_problem(data, name, version, self._key(name, version) + "/")
        if problem is not None:
            uri = self.lake.uri(key)
            move_aside_key(self.lake, key, problem)
            raise RegistryCorruptError(
                f"{uri} is corrupt ({problem}); moved aside, version {version} of {name} "
                "is no longer registered"
            )
        data["metrics"] = _finite_metrics(data["metrics"], self.lake.uri(key))
        return ModelVersion(**data)

    def verify(self, model_version: ModelVersion) -> None:
        """Check the artifact against its checksum; a corrupt version is moved aside.

        Raises :class:`RegistryCorruptError` naming the file when the artifact is missing
        or fails its checksum; its ``meta.json`` and the artifact are then moved aside,
        so the version is no longer listed, served or promoted.
        """
        key = model_version.artifact_key
        try:
            data = self.lake.read_bytes(key)
        except Exception as exc:  # noqa: BLE001 - missing locally or on S3: unusable either way
            problem = f"artifact unreadable: {type(exc).__name__}: {exc}"
        else:
            digest = hashlib.sha256(data).hexdigest()
            problem = None
            if digest != model_version.artifact_sha256:
                problem = f"artifact sha256 {digest[:12]} != {model_version.artifact_sha256[:12]}"
        if problem is None:
            return
        uri = self.lake.uri(key)
        if self.lake.exists(key):
            move_aside_key(self.lake, key, problem)
        meta = self._key(model_version.name, model_version.version, META)
        if self.lake.exists(meta):
            move_aside_key(self.lake, meta, f"its artifact is corrupt ({problem})")
        raise RegistryCorruptError(f"{uri} is corrupt ({problem}); the version was moved aside")

    def card(self, model_version: ModelVersion) -> str:
        """The model card registered with ``model_version``."""
        return self.lake.read_bytes(model_version.card_key).decode("utf-8")

    def fetch(self, model_version: ModelVersion, dest_dir: Path) -> Path:
        """Unpack the version's model directory into ``dest_dir`` (checksum verified)."""
        data = self.lake.read_bytes(model_version.artifact_key)
        if hashlib.sha256(data).hexdigest() != model_version.artifact_sha256:
            raise RegistryCorruptError(
                f"artifact of {model_version.name} {model_version.version} fails its checksum: "
                f"{self.lake.uri(model_version.artifact_key)}"
            )
        dest_dir = Path(dest_dir)
        _safe_extract(data, dest_dir)
        return dest_dir

    def _pointer(self) -> dict[str, Any] | None:
        """``champion.json``, validated; a corrupt one is moved aside (None is returned)."""
        key = self._key(CHAMPION)
        if not self.lake.exists(key):
            return None
        try:
            pointer = json.loads(self.lake.read_bytes(key).decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            problem: str | None = f"not JSON: {exc}"
        else:
            problem = None
            if not isinstance(pointer, dict):
                problem = f"not a JSON object but {type(pointer).__name__}"
            elif pointer.get("current") is not None and not _pointer_entry_ok(pointer["current"]):
                problem = "'current' is not an entry with a name and a version"
            elif not isinstance(pointer.get("history", []), list):
                problem = "'history' is not a list"
        if problem is not None:
            move_aside_key(self.lake, key, problem)
            return None
        history = pointer.get("history", [])
        good = [entry for entry in history if _pointer_entry_ok(entry)]
        if len(good) != len(history):
            log.warning(
                "%s: dropped %d malformed history entr(y/ies)",
                self.lake.uri(key), len(history) - len(good),
            )  # fmt: skip
        return {**pointer, "history": good}

    def champion(self, *, verify: bool = False) -> ModelVersion | None:
        """The current champion, or None before the first promotion.

        A pointer to a version that is gone or corrupt (with ``verify``, also an artifact
        that fails its checksum) falls back, with a warning, to the newest earlier
        promotion that is still good; None when there is none.
        """
        pointer = self._pointer()
        if not pointer or not pointer.get("current"):
            return None
        candidates = [pointer["current"], *reversed(pointer.get("history", []))]
        tried: set[tuple[str, str]] = set()
        for entry in candidates:
            ref = (entry["name"], entry["version"])
            if ref in tried:
                continue
            tried.add(ref)
            try:
                version = self.get(*ref)
                if verify:
                    self.verify(version)
            except RegistryError as exc:
                log.warning("champion %s %s is unusable (%s); trying the previous one", *ref, exc)
                continue
            if len(tried) > 1:
                log.warning(
                    "%s: the champion fell back to %s %s",
                    self.lake.uri(self._key(CHAMPION)), *ref,
                )  # fmt: skip
            return version
        return None

    def champion_history(self) -> list[dict[str, Any]]:
        """Every promotion so far, oldest first ({name, version, reason, promoted_at, ...})."""
        pointer = self._pointer()
        return list(pointer.get("history", [])) if pointer else []

    def set_champion(self, model_version: ModelVersion, reason: str) -> dict[str, Any]:
        """Point ``champion.json`` at ``model_version`` (one atomic write; history kept)."""
        self.get(model_version.name, model_version.version)  # must be registered
        entry = {
            **model_version.ref,
            "reason": reason,
            "promoted_at": datetime.now(UTC).isoformat(),
            "metrics": {
                k: v for k, v in model_version.metrics.items() if isinstance(v, int | float)
            },
            "fingerprint": model_version.fingerprint,
        }
        pointer = {"current": entry, "history": [*self.champion_history(), entry]}
        self.lake.write_bytes(
            self._key(CHAMPION), json.dumps(pointer, indent=2, sort_keys=True).encode("utf-8")
        )
        return pointer


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, tuple | set):
        return list(value)
    return str(value)


def decide_promotion(
    champion: ModelVersion | None,
    challenger: ModelVersion,
    *,
    metric: str = "validation_macro_f1",
    floor: float,
    min_improvement: float = 0.0,
) -> PromotionDecision:
    """The champion gate: promote ``challenger`` only if it passes ``floor`` and beats the champion.

    - the challenger lacks ``metric`` -> keep;
    - below ``floor`` -> keep (whatever the champion);
    - no champion -> promote;
    - the champion is the challenger (same name and version) -> keep;
    - better than the champion by more than ``min_improvement`` -> promote (a champion
      without the metric counts as beaten);
    - otherwise keep. Reasons carry the numbers.
    """
    score = challenger.metrics.get(metric)
    label = f"{challenger.name} {challenger.version}"
    if not isinstance(score, int | float):
        return PromotionDecision(
            False, f"challenger {label} has no numeric {metric}; kept the champion"
        )
    if score < floor:
        return PromotionDecision(
            False, f"challenger {label} {metric}={score:.4f} is below the quality floor {floor:.4f}"
        )
    if champion is None:
        return PromotionDecision(
            True,
            f"no champion yet; challenger {label} {metric}={score:.4f} passes the floor {floor:.4f}",
        )
    if champion.ref == challenger.ref:
        return PromotionDecision(False, f"challenger {label} is already the champion")
    best = champion.metrics.get(metric)
    champion_label = f"{champion.name} {champion.version}"
    if not isinstance(best, int | float):
        return PromotionDecision(
            True, f"champion {champion_label} has no {metric}; challenger {label} has {score:.4f}"
        )
    if score > best + min_improvement:
        return PromotionDecision(
            True,
            f"challenger {label} {metric}={score:.4f} beats champion {champion_label} "
            f"{best:.4f} by {score - best:+.4f} (> {min_improvement:.4f} required)",
        )
    return PromotionDecision(
        False,
        f"challenger {label} {metric}={score:.4f} does not beat champion {champion_label} "
        f"{best:.4f} by more than {min_improvement:.4f} ({score - best:+.4f}); kept the champion",
    )
