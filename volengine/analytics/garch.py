"""Optional GARCH(1,1) realized-vol forecast, refitted on an anchored schedule without look-ahead.

The model is fitted with the ``arch`` package on daily log returns in percent (zero mean, normal errors)
every ``refit_every_days`` sessions, counted from the first return, once ``min_observations`` returns exist.
Fit j uses returns up to and including its fit row; its parameters drive the variance recursion until the
next fit (:func:`volengine.kernels.garch.garch_forecast`). The schedule depends only on the row index from the
start, so a history cut at day d reproduces day d of the full history.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from volengine.config.analytics import GarchSettings
from volengine.errors import ConfigError
from volengine.kernels.garch import garch_forecast


def _fit(returns_pct: np.ndarray[Any, Any]) -> tuple[float, float, float]:
    from arch import arch_model

    model = arch_model(returns_pct, mean="Zero", vol="GARCH", p=1, q=1, dist="normal", rescale=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(disp="off", show_warning=False)
    p = res.params
    return float(p["omega"]), float(p["alpha[1]"]), float(p["beta[1]"])


def garch_vol(
    log_returns: np.ndarray[Any, Any], settings: GarchSettings, periods_per_year: int = 252
) -> np.ndarray[Any, Any]:
    """Annualised GARCH(1,1) forecast of the mean volatility over the next ``horizon_days``, per row.

    Parameters
    ----------
    log_returns : ndarray of shape (n,)
        Daily log returns of one underlying in date order; a leading NaN (the first day) is allowed.
    settings : GarchSettings
    periods_per_year : int, default 252

    Returns
    -------
    ndarray of shape (n,), float64
        Decimal volatility (0.16 = 16 %); NaN before the first fit. A missing return counts as 0.

    Raises
    ------
    ConfigError
        The ``arch`` package is not installed.
    """
    try:
        import arch  # noqa: F401
    except ImportError:  # pragma: no cover - arch is a test and 'real' extra
        msg = "analytics.garch.enabled needs the 'arch' package: pip install 'volengine[real]'"
        raise ConfigError(msg) from None
    r = np.asarray(log_returns, dtype=np.float64)
    out = np.full(r.size, np.nan)
    first = int(np.argmax(np.isfinite(r))) if np.isfinite(r).any() else r.size
    eps = 100.0 * r[first:]
    eps = np.where(np.isfinite(eps), eps, 0.0)
    m = settings.min_observations
    if eps.size < m:
        return out
    ends = np.arange(m - 1, eps.size, settings.refit_every_days, dtype=np.int64)
    params = np.array([_fit(eps[: e + 1]) for e in ends])  # one fit per refit date, ~100 per decade
    var = garch_forecast(eps, ends, params[:, 0], params[:, 1], params[:, 2], settings.horizon_days)
    out[first:] = np.sqrt(var * periods_per_year) / 100.0
    return out
