"""What every test shares: the Test and TestResult records, the t tails, and the Welch-Satterthwaite
dof of a variance partly estimated (the family's scatter, or an unknown noise)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from ..curves import CurveBatch
from ..noise import Noise, scatter_shape

#: what the tests assume about the noise (METHODS.md section 2)
NOISE_ASSUMPTION = ("sampling error plus the scatter between the family's models, learnt from the family and "
                    "a shipped reference prior (Welch-Satterthwaite t); unknown noise: quasi-binomial, scaled by "
                    "the family's pooled residual variance with the prior (t on their dof)")


@dataclass(frozen=True)
class Test:
    """A test behind a label: its name, null hypothesis, p-value column and noise assumption."""

    name: str
    hypothesis: str
    p_column: str
    noise: str = NOISE_ASSUMPTION

    def describe(self) -> str:
        """The test as curves.csv and the report name it, with the noise it assumes."""
        return f"{self.name} (H0: {self.hypothesis}; noise: {self.noise})"


@dataclass(frozen=True)
class TestResult:
    """Tests run on a batch of curves: the numbers (one row per curve, every output column
    of the tests) and a summary, in the manner of a fitted statsmodels result."""

    tests: tuple[Test, ...]
    frame: pd.DataFrame

    def p(self, test: Test | None = None) -> np.ndarray:
        return self.frame[(test or self.tests[0]).p_column].to_numpy(float)

    def summary(self, alpha: float = 0.05, noise: bool = False) -> str:
        """One line per test: how many curves it tested and rejected; with `noise`, what it assumed."""
        lines = []
        for t in self.tests:
            p = self.p(t)[np.isfinite(self.p(t))]
            lines.append(f"{t.describe()}: {len(p)} of {len(self.frame)} curves tested, "
                         f"{int((p <= alpha).sum())} with p ≤ {alpha:g} before FDR"
                         + (f"; noise: {t.noise}" if noise else ""))
        return "\n".join(lines)


def _sf(t: np.ndarray, dof: np.ndarray) -> np.ndarray:
    """Upper tail of t (normal where dof is inf)."""
    out = np.where(np.isinf(dof), special.ndtr(-t), special.stdtr(np.where(np.isinf(dof), 1, dof), -t))
    return np.where(np.isfinite(t) & ~np.isnan(dof), out, np.nan)


def _crit(dof: np.ndarray, level: float = 0.975) -> np.ndarray:
    return np.where(np.isinf(dof), special.ndtri(level), special.stdtrit(np.where(np.isinf(dof), 1, dof), level))


def _estimated_share(batch: CurveBatch, noise: Noise) -> np.ndarray:
    """Per point, the share of its variance that was estimated (C, N), for Welch-Satterthwaite dof.

    Known noise on bounded metrics: the scatter's share τ²h²/(σᵢ² + τ²h²), with τ² the larger of the
    family's posterior and the shipped prior's τ₀²: a scatter estimated high shrinks the dof, one
    that came out low never grows them past the prior's (issue 21, D1); all of it for unknown noise
    and raw metrics (their residual variance or overdispersion φ was estimated)."""
    shape = scatter_shape(batch)
    tau2_post = np.where(np.isfinite(noise.scatter), noise.scatter, 0.0)[:, None] ** 2 * shape
    tau2 = np.maximum(np.asarray(noise.tau2_ref, float)[:, None] * shape, tau2_post)
    s2 = np.maximum(batch.sigma ** 2 - tau2_post, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.clip(tau2 / (s2 + tau2), 0.0, 1.0)
    share = np.where((batch.known_noise & batch.bounded)[:, None], share, 1.0)
    return np.where(np.isfinite(share), share, 1.0)


def _satterthwaite(dof: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Welch-Satterthwaite dof of a variance whose estimated share (on `dof` dof) is `share`,
    the rest known: dof / share² (inf where nothing was estimated)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(share > 0, dof / share ** 2, np.where(np.isnan(share), dof, np.inf))


def _segment(x, y, w):
    """Weighted least-squares line per curve over the points with w > 0."""
    sw = w.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        xbar = (w * x).sum(1) / sw
        ybar = (w * y).sum(1) / sw
        dx = np.where(w > 0, x - xbar[:, None], 0.0)
        sxx = (w * dx ** 2).sum(1)
        slope = (w * dx * (y - ybar[:, None])).sum(1) / sxx
    return slope, sxx
