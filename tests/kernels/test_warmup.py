"""``volengine.kernels.warmup`` calls kernels directly with positional arguments: a kernel whose signature
changed must fail here, not first in ``python -m volengine.kernels`` or the demo."""

from __future__ import annotations

from volengine.kernels import warmup


def test_warmup_runs_every_kernel_it_names() -> None:
    assert warmup() >= 0.0
