"""What the CPU is and which SIMD extensions it has: int8 speed and arithmetic depend on them
(without VNNI, x86 int8 kernels multiply-add in saturating 16 bit)."""

from __future__ import annotations

import platform
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


def _cpuinfo(key: str) -> str | None:
    """The first value of `key` in /proc/cpuinfo (None where there is no such file or key)."""
    try:
        for line in CPUINFO.read_text(encoding="utf-8").splitlines():
            if line.lower().startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (platform.processor() as a fallback)."""
    return _cpuinfo("model name") or platform.processor() or "unknown"


def cpu_flags() -> list[str]:
    """The CPU's SIMD extensions that matter to int8 inference (AVX*, AMX*, *VNNI*), sorted."""
    flags = set((_cpuinfo("flags") or "").split())
    return sorted(f for f in flags if f.startswith(("avx", "amx")) or "vnni" in f)
