"""The synthetic-market cache key: everything that shapes the numbers, the generator version included."""

from __future__ import annotations

from pathlib import Path

import pytest

from volengine.datasets.cache import cache_key, cached_market_store
from volengine.datasets.synthetic import GENERATOR_VERSION, SyntheticParams
from volengine.datasets.synthetic import params as params_mod

ARGS = (1, SyntheticParams(), "2020-01-02", "2020-02-28", ("SPY",))


def test_cache_key_changes_with_every_input() -> None:
    base = cache_key(*ARGS, with_chains=True)
    assert f"-v{GENERATOR_VERSION}-" in base
    assert cache_key(*ARGS, with_chains=True) == base
    others = {
        cache_key(2, *ARGS[1:], with_chains=True),
        cache_key(ARGS[0], SyntheticParams(rho=-0.7), *ARGS[2:], with_chains=True),
        cache_key(*ARGS[:3], "2020-03-31", ARGS[4], with_chains=True),
        cache_key(*ARGS[:4], ("SPY", "SPX"), with_chains=True),
        cache_key(*ARGS, with_chains=False),
    }
    assert base not in others
    assert len(others) == 5


def test_generator_version_bump_changes_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    before = cache_key(*ARGS, with_chains=False)
    monkeypatch.setattr(params_mod, "GENERATOR_VERSION", GENERATOR_VERSION + 1)
    after = cache_key(*ARGS, with_chains=False)
    assert after != before
    assert f"-v{GENERATOR_VERSION + 1}-" in after


def test_store_of_an_older_generator_is_not_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOLENGINE_CACHE", str(tmp_path))
    kw = {"start": "2020-01-02", "end": "2020-01-31", "with_chains": False}
    monkeypatch.setattr(params_mod, "GENERATOR_VERSION", GENERATOR_VERSION - 1)
    old = cached_market_store(1, **kw)
    monkeypatch.setattr(params_mod, "GENERATOR_VERSION", GENERATOR_VERSION)
    new = cached_market_store(1, **kw)
    assert new != old
    assert (old / "COMPLETE").is_file()
    assert (new / "COMPLETE").is_file()
    assert f"generator=v{GENERATOR_VERSION} " in (new / "COMPLETE").read_text()
