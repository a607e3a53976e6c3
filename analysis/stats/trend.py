"""The trend test behind `smooth`, `inverse` and `flat` (METHODS.md 4.1): the weighted log-linear slope,
and Schuirmann's two one-sided tests for "flat"."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..curves import CurveBatch
from ..engine import ModelFit
from ..noise import Noise
from ..settings import Settings
from .common import Test, TestResult, _crit, _estimated_share, _satterthwaite, _sf

TREND = Test("two-sided weighted slope test, the sign read from the slope", "slope = 0", "p_trend")


def trend_test(batch: CurveBatch, loglinear: ModelFit, noise: Noise, settings: Settings,
               margin: np.ndarray | None = None) -> TestResult:
    """The weighted log-linear slope, tested two-sided (`p_trend`, the sign read from the slope).

    p_rise (H0: slope ≤ 0) and p_decline (H0: slope ≥ 0) are its two halves,
    kept for reference. The slope is the average trend across the range; its
    error uses the curve's noise (`noise.Noise`), t with Welch-Satterthwaite dof
    (`_satterthwaite`). `change` is the fitted change
    across the observed range with its 95 % interval. `p_flat` is the
    equivalence test of "flat" (Schuirmann's two one-sided tests, H0: |change|
    ≥ `margin`, the larger of the two p): at level α it is the (1 − 2α)
    interval lying within ±margin, as equivalence is tested in the field.
    """
    w, x = batch.w, batch.x
    xbar = (w * x).sum(1) / w.sum(1)
    sxx = (w * np.where(batch.mask, x - xbar[:, None], 0) ** 2).sum(1)
    scale, dof_t = noise.tests
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(scale / sxx)
        t = loglinear.params[:, 1] / se
        # only the scatter (or an unknown noise) was estimated: Welch-Satterthwaite dof
        lever = w * np.where(batch.mask, x - xbar[:, None], 0) ** 2
        dof_t = _satterthwaite(dof_t, (lever * _estimated_share(batch, noise)).sum(1) / sxx)
    span = batch.x_max - batch.x_min
    change = loglinear.params[:, 1] * span
    half = _crit(dof_t) * se * span
    p_rise, p_decline = _sf(t, dof_t), _sf(-t, dof_t)
    margin = np.full(len(batch), np.nan) if margin is None else np.asarray(margin, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_change = se * span
        p_flat = np.fmax(_sf((change + margin) / se_change, dof_t), _sf((margin - change) / se_change, dof_t))
    return TestResult((TREND,), pd.DataFrame({
        "slope": loglinear.params[:, 1], "slope_se": se,
        "p_trend": np.minimum(1.0, 2 * np.fmin(p_rise, p_decline)), "p_rise": p_rise, "p_decline": p_decline,
        "change": change, "change_low": change - half, "change_high": change + half,
        "p_flat": np.where(np.isfinite(margin), p_flat, np.nan),
    }))
