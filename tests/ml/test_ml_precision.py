"""Which precision ``auto`` picks on a CPU: bf16 only where the CPU has bf16 instructions.

oneDNN reports bf16 support on AVX-512 CPUs that only emulate it, where a MiniLM training
step is about 3x slower than fp32 (measured on a 2-core Xeon with AVX-512 and no
AVX512-BF16), so ``auto`` reads the CPU's flags instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from trending_assets.lib.ml.embeddings import cpu_has_native_bf16

AVX512_ONLY = "fpu vme sse sse2 avx avx2 avx512f avx512dq avx512bw avx512vl avx512_vnni"


def _cpuinfo(tmp_path: Path, flags: str, processors: int = 2) -> Path:
    blocks = [
        f"processor\t: {i}\nvendor_id\t: GenuineIntel\nmodel name\t: Xeon\nflags\t\t: {flags}\n"
        for i in range(processors)
    ]
    path = tmp_path / "cpuinfo"
    path.write_text("\n".join(blocks))
    return path


@pytest.mark.parametrize(
    ("flags", "native"),
    [
        (AVX512_ONLY, False),  # emulated by oneDNN: slower than fp32
        (AVX512_ONLY + " avx512_bf16", True),
        (AVX512_ONLY + " amx_bf16 amx_tile amx_int8", True),
        ("fpu sse sse2 avx avx2 fma", False),
    ],
)
def test_native_bf16_follows_the_cpu_flags(tmp_path: Path, flags: str, native: bool) -> None:
    assert cpu_has_native_bf16(_cpuinfo(tmp_path, flags)) is native


def test_a_flag_must_match_whole(tmp_path: Path) -> None:
    assert cpu_has_native_bf16(_cpuinfo(tmp_path, "avx512_bf16x amx_bf16_future")) is False


def test_no_cpuinfo_means_fp32(tmp_path: Path) -> None:
    assert cpu_has_native_bf16(tmp_path / "absent") is False


def test_auto_precision_on_cpu_is_fp32_without_native_bf16(monkeypatch) -> None:
    pytest.importorskip("torch")
    from trending_assets.lib.ml import embeddings

    monkeypatch.setattr(embeddings, "cpu_has_native_bf16", lambda: False)
    assert embeddings.resolve_precision("auto", "cpu") == "fp32"
    monkeypatch.setattr(embeddings, "cpu_has_native_bf16", lambda: True)
    assert embeddings.resolve_precision("auto", "cpu") == "bf16"
    assert embeddings.resolve_precision("fp32", "cpu") == "fp32"
