"""Benchmarks of VolEngine against named public peers, measured as same-process ratios.

* :mod:`volengine.bench.kernels`: price, price + Greeks and implied vol against pyvolr, iv-engine and a
  numpy + scipy baseline (``volengine bench kernels``): parity, interleaved timing, targets, cold start;
* :mod:`volengine.bench.baselines`: the seeded hard book, the 40-digit mpmath reference and the numpy +
  scipy baseline;
* :mod:`volengine.bench.report`: the rich tables.

The protocol is described in ``benchmarks/README.md``.
"""
