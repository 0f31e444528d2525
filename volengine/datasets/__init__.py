"""Embedded default market data and loaders.

* :func:`synthetic_market`: the seeded synthetic option market (bars, full chains, a Cboe-formula vol index,
  events, rates, dividends and the generator's ground truth), see ``../shared/research/market-model.md``;
* :func:`cached_market_store`: that market generated once per (seed, parameters) into a cached Store;
* :func:`load_sp500` / :func:`load_vix`: the real S&P 500 and VIX history that ``arch`` ships.
"""

from volengine.datasets.cache import cached_market_store
from volengine.datasets.real import load_sp500, load_vix
from volengine.datasets.synthetic import SyntheticMarket, synthetic_market

__all__ = ["SyntheticMarket", "cached_market_store", "load_sp500", "load_vix", "synthetic_market"]
