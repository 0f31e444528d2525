"""Stylized-fact statistics of spec §2 / §6, shared by the acceptance tests and real-data sanity checks.

All inputs are aligned daily numpy arrays: ``vix`` in vol points, ``log_ret`` close-to-close log returns.
VRP uses the **forward** 21-day close-to-close realized vol annualised by √(252/21), as in spec §2.1.
"""

from __future__ import annotations

import numpy as np


def _acf(x: np.ndarray, lag: int) -> float:
    x = x - x.mean()
    return float(np.dot(x[:-lag], x[lag:]) / np.dot(x, x))


def _skew(x: np.ndarray) -> float:
    z = (x - x.mean()) / x.std()
    return float(np.mean(z**3))


def forward_rv(log_ret: np.ndarray, window: int = 21) -> np.ndarray:
    """Forward realized vol (vol points) of returns ``t+1 .. t+window``; NaN where the window is incomplete."""
    c = np.concatenate(([0.0], np.cumsum(log_ret**2)))
    out = np.full(log_ret.size, np.nan)
    k = log_ret.size - window
    if k > 0:
        out[:k] = 100.0 * np.sqrt((c[window + 1 : window + 1 + k] - c[1 : 1 + k]) * 252.0 / window)
    return out


def vix_stats(vix: np.ndarray) -> dict[str, float]:
    """§6 #1 and #5: level distribution, persistence and vol of vol of a VIX-like series."""
    lv = np.log(vix)
    d = np.diff(lv)
    return {
        "vix_mean": float(vix.mean()),
        "vix_median": float(np.median(vix)),
        "vix_p25": float(np.percentile(vix, 25)),
        "vix_p75": float(np.percentile(vix, 75)),
        "vix_min": float(vix.min()),
        "vix_skew": _skew(vix),
        "sd_ln_vix": float(lv.std()),
        "p_vix_gt_40": float(np.mean(vix > 40)),
        "sd_dln_vix": float(d.std()),
        "ar1_vix": float(np.corrcoef(vix[:-1], vix[1:])[0, 1]),
        "acf21_vix": _acf(vix, 21),
    }


def vrp_stats(vix: np.ndarray, log_ret: np.ndarray, atm30: np.ndarray | None = None) -> dict[str, float]:
    """§6 #2: VIX minus forward 21-day RV, and ATM IV minus RV when ``atm30`` (vol points) is given."""
    rv = forward_rv(log_ret)
    ok = np.isfinite(rv)
    vrp = vix[ok] - rv[ok]
    top = rv[ok] >= np.percentile(rv[ok], 95)
    out = {
        "vrp_mean": float(vrp.mean()),
        "vrp_median": float(np.median(vrp)),
        "p_vix_gt_rv": float(np.mean(vrp > 0)),
        "median_vix_over_rv": float(np.median(vix[ok] / rv[ok])),
        "p_vrp_neg_top5_rv": float(np.mean(vrp[top] < 0)),
    }
    if atm30 is not None:
        out["atm_minus_rv_mean"] = float(np.mean(atm30[ok] - rv[ok]))
    return out


def leverage_stats(vix: np.ndarray, log_ret: np.ndarray) -> dict[str, float]:
    """§6 #4: corr(r, ΔlnVIX) and the OLS slope of ΔVIX on the return in percent."""
    r = log_ret[1:]
    dv = np.diff(vix)
    dl = np.diff(np.log(vix))
    x = 100.0 * r
    slope = float(np.cov(x, dv)[0, 1] / np.var(x, ddof=1))
    return {"corr_r_dlnvix": float(np.corrcoef(r, dl)[0, 1]), "slope_dvix_per_pct": slope}


def return_stats(log_ret: np.ndarray) -> dict[str, float]:
    """§6 #6: annual vol, excess kurtosis, skew, 4-σ days per year (trailing 63-day σ), ACF of |r|."""
    r = log_ret[1:]
    z = (r - r.mean()) / r.std()
    c1 = np.concatenate(([0.0], np.cumsum(r)))
    c2 = np.concatenate(([0.0], np.cumsum(r * r)))
    w = 63
    mean = (c1[w:-1] - c1[: -w - 1]) / w
    sd = np.sqrt(np.maximum((c2[w:-1] - c2[: -w - 1]) / w - mean**2, 0) * w / (w - 1))
    big = np.abs(r[w:]) > 4.0 * sd
    a = np.abs(r)
    return {
        "ann_vol": float(r.std() * np.sqrt(252)),
        "excess_kurtosis": float(np.mean(z**4) - 3.0),
        "ret_skew": float(np.mean(z**3)),
        "four_sigma_per_year": float(big.sum() / (r.size / 252.0)),
        "acf_abs_1": _acf(a, 1),
        "acf_abs_21": _acf(a, 21),
        "acf_abs_63": _acf(a, 63),
    }


def term_stats(iv30: np.ndarray, iv91: np.ndarray, vix: np.ndarray) -> dict[str, float]:
    """§6 #3: contango share and backwardation share when VIX > 30."""
    hi = vix > 30
    return {
        "p_contango": float(np.mean(iv91 > iv30)),
        "p_backw_given_vix_gt_30": float(np.mean(iv91[hi] < iv30[hi])) if hi.any() else float("nan"),
        "n_vix_gt_30": float(hi.sum()),
    }
