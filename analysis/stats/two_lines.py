"""Simonsohn's two-lines test behind `u_shaped` and `inverted_u` (METHODS.md 4.2)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..curves import CurveBatch
from ..engine import ModelFit
from ..models import cheapest
from ..noise import Noise
from ..settings import Settings
from .common import Test, TestResult, _segment, _sf

CURVATURE_MODEL = cheapest("curvature")


TWO_LINES = Test("two-lines test, Simonsohn 2018", "one of the two slopes has the wrong sign", "p_ushape")


def two_lines_test(batch: CurveBatch, quadratic: ModelFit, noise: Noise, settings: Settings) -> TestResult:
    """Simonsohn's (2018) two-lines test of a U or inverted U.

    The break is set at the observed interior scale nearest the quadratic's
    vertex (the quadratic only locates it; its curvature is never the test).
    A separate line is fitted on each side, the break point belonging to
    both, so neither line is bent by the other's shape. A U needs the low
    slope < 0 and the high slope > 0, each significant one-sided (p = the
    larger of the two); an inverted U the reverse. The quadratic's sign picks
    which. The noise is the curve's (`noise.Noise`): the lines' own residuals
    would count the curvature within each side as noise.
    """
    C, N = batch.x.shape
    x, w, mask = batch.x, batch.w, batch.mask
    q = quadratic.params[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex = -quadratic.params[:, 1] / (2 * q)
    xmin, xmax = batch.x_min, batch.x_max
    interior = mask & (x > xmin[:, None] + 1e-9) & (x < xmax[:, None] - 1e-9)
    dist = np.where(interior, np.abs(x - np.nan_to_num(vertex, nan=np.inf)[:, None]), np.inf)
    j = np.argmin(dist, axis=1)
    ok = np.isfinite(dist[np.arange(C), j]) & np.isfinite(q)
    xb = x[np.arange(C), j]
    low = np.where(mask & (x <= xb[:, None] + 1e-9), w, 0.0)
    high = np.where(mask & (x >= xb[:, None] - 1e-9), w, 0.0)
    b1, sxx1 = _segment(x, batch.y, low)
    b2, sxx2 = _segment(x, batch.y, high)
    scale, dof_t = noise.tests
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = b1 / np.sqrt(scale / sxx1), b2 / np.sqrt(scale / sxx2)
    u_shape = q > 0
    p1 = np.where(u_shape, _sf(-t1, dof_t), _sf(t1, dof_t))
    p2 = np.where(u_shape, _sf(t2, dof_t), _sf(-t2, dof_t))
    ok &= np.isfinite(p1) & np.isfinite(p2)
    nan = np.full(C, np.nan)
    return TestResult((TWO_LINES,), pd.DataFrame({
        "u_direction": np.where(u_shape, "u_shaped", "inverted_u"),
        "u_break": np.where(ok, xb, nan),
        "u_slope_low": np.where(ok, b1, nan), "u_slope_high": np.where(ok, b2, nan),
        "u_change_low": np.where(ok, b1 * (xb - xmin), nan),
        "u_change_high": np.where(ok, b2 * (xmax - xb), nan),
        "p_ushape": np.where(ok, np.maximum(p1, p2), nan),
    }))
