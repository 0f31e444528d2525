"""Embedded default market data and loaders.

The seeded synthetic market (``synthetic_market``) and the real S&P 500 / VIX loaders arrive with the
data-layer work; until then the demo builds its small illustrative book in :mod:`volengine.demo`.
"""
