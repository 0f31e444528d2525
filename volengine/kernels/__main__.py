"""``python -m volengine.kernels``: compile (or load from cache) every kernel once, in one process."""

from __future__ import annotations

from volengine.kernels.warmup import warmup

print(f"volengine kernels warm in {warmup():.2f} s")
