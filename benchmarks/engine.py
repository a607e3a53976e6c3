"""Fitting engine vs the usual per-curve scipy.optimize.curve_fit loop, in one process.

    python benchmarks/engine.py [--curves 2000] [--points 8] [--baseline 300]

Both fit the sigmoid (floor at chance) to the same curves: noisy sigmoids,
lines and flat curves at 8 sizes. The baseline gets the same starting points
as the engine (the best cells of its coarse grid) and keeps the better of its
fits, so the comparison is of the fitting itself. The baseline runs on a
random subset (it is slow); fits per second are per curve. Agreement: share of
curves whose engine objective is within 1e-6 relative of the baseline's or
better.
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit
from scipy.special import expit

from analysis.curves import CurveBatch
from analysis.fitting import K_BOUNDS, X0_MARGIN, _sigmoid_starts, fit_sigmoid
from analysis.models import predict


def make_curves(n: int, points: int, seed: int = 0) -> CurveBatch:
    rng = np.random.default_rng(seed)
    x = np.tile(np.linspace(8.0, 11.0, points), (n, 1))
    kind = rng.integers(0, 3, n)
    truth = np.column_stack([np.full(n, 0.25), rng.uniform(0.2, 0.7, n), rng.uniform(1, 10, n),
                             rng.uniform(8.5, 10.5, n)])
    y = np.where(kind[:, None] == 0, predict("sigmoid", truth, x),
                 np.where(kind[:, None] == 1, 0.25 + 0.1 * (x - 8), 0.27))
    y = y + rng.normal(0, 0.02, y.shape)
    return CurveBatch(x, y, np.ones_like(x), np.ones_like(x), np.full(n, 0.25), np.zeros(n, bool),
                      np.ones(n, bool))


def starts(b: CurveBatch, n_starts: int = 2) -> list[np.ndarray]:
    """The engine's starting points (grid cells), to hand to the baseline."""
    p0 = _sigmoid_starts(b, (8, 14), n_starts)
    return [p0[:, i] for i in range(n_starts)]


def baseline(b: CurveBatch, idx: np.ndarray, inits: list[np.ndarray]) -> np.ndarray:
    """curve_fit per curve from the given starts; the best objective per curve."""
    def f(x, h, k, x0):
        return 0.25 + h * expit(k * (x - x0))

    best = np.full(len(idx), np.inf)
    warnings.simplefilter("ignore", OptimizeWarning)
    for j, i in enumerate(idx):
        x, y = b.x[i], b.y[i]
        bounds = ([0.0, K_BOUNDS[0], x.min() - X0_MARGIN], [0.75, K_BOUNDS[1], x.max() + X0_MARGIN])
        for p0 in inits:
            start = np.clip(p0[i, 1:], np.array(bounds[0]) + 1e-9, np.array(bounds[1]) - 1e-9)
            try:
                p, _ = curve_fit(f, x, y, p0=start, bounds=bounds, maxfev=2000)
            except RuntimeError:
                continue
            best[j] = min(best[j], float(((y - f(x, *p)) ** 2).sum()))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--curves", type=int, default=20000)
    ap.add_argument("--points", type=int, default=8)
    ap.add_argument("--baseline", type=int, default=500, help="curves the curve_fit loop fits")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    b = make_curves(args.curves, args.points)
    engine_times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        fit = fit_sigmoid(b)
        engine_times.append(time.perf_counter() - t)
    idx = np.random.default_rng(1).choice(args.curves, size=min(args.baseline, args.curves), replace=False)
    inits = starts(b)
    t = time.perf_counter()
    base = baseline(b, idx, inits)
    base_time = time.perf_counter() - t
    engine_rate = args.curves / np.median(engine_times)
    base_rate = len(idx) / base_time
    ours = fit.rss[idx]
    ok = np.isfinite(base)
    agree = np.mean(ours[ok] <= base[ok] * (1 + 1e-6) + 1e-15)
    print(f"curves: {args.curves} x {args.points} points; baseline on {len(idx)} of them")
    print(f"engine    : {engine_rate:10.0f} curves/s (median of {args.repeats}: {np.median(engine_times):.2f} s)")
    print(f"curve_fit : {base_rate:10.0f} curves/s ({base_time:.2f} s, {len(inits)} starts each)")
    print(f"ratio     : {engine_rate / base_rate:10.1f}x")
    print(f"agreement : {agree:.4%} of {ok.sum()} curves with objective within 1e-6 of curve_fit or better")


if __name__ == "__main__":
    main()
