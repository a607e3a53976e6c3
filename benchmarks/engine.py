"""Fitting engine vs the usual per-curve scipy.optimize.curve_fit loop, in one process.

    python benchmarks/engine.py [--curves 20000] [--points 8] [--baseline 500]

Both fit the sigmoid (floor at chance, weighted by the points' noise) to the
same curves: generated ones (noisy sigmoids, lines and flat curves at 8
sizes) and every bundled real curve with a chance level and 4+ sizes, with
the starts of a curve's own fit in the pipeline (POINT_FIT_STARTS). The
baseline gets the same starting points as the engine (the best cells of its
coarse grid) and keeps the better of its fits, so the comparison is of the
fitting itself. The baseline runs on a random subset of each set (it is
slow); rates are per curve. Agreement: share of curves whose engine
objective is within 1e-6 relative of the baseline's or better. Last, the
pipeline's own workload: 1,000 bootstrap replicates of 100 real curves,
fitted at once with the grid shared per curve (2 starts, as in the test).
"""
from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import yaml
from scipy.optimize import OptimizeWarning, curve_fit
from scipy.special import expit

from analysis.curves import CurveBatch, to_batch
from analysis.engine import X0_MARGIN
from analysis.models import predict
from analysis.models.sigmoid import K_BOUNDS, POINT_FIT_STARTS, fit_sigmoid, sigmoid_starts
from analysis.pipeline import prepare_points

REPO = Path(__file__).resolve().parents[1]


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


def starts(b: CurveBatch, n_starts: int = POINT_FIT_STARTS) -> list[np.ndarray]:
    """The engine's starting points (grid cells), to hand to the baseline."""
    p0 = sigmoid_starts(b, (8, 14), n_starts)
    return [p0[:, i] for i in range(n_starts)]


def baseline(b: CurveBatch, idx: np.ndarray, inits: list[np.ndarray]) -> np.ndarray:
    """curve_fit per curve (weighted, floor at the curve's chance) from the given starts; best objective."""
    best = np.full(len(idx), np.inf)
    warnings.simplefilter("ignore", OptimizeWarning)
    for j, i in enumerate(idx):
        m = b.mask[i]
        x, y, w, c = b.x[i, m], b.y[i, m], b.w[i, m], float(b.chance[i])

        def f(x, h, k, x0):
            return c + h * expit(k * (x - x0))

        bounds = ([0.0, K_BOUNDS[0], x.min() - X0_MARGIN], [1.0 - c, K_BOUNDS[1], x.max() + X0_MARGIN])
        for p0 in inits:
            start = np.clip(p0[i, 1:], np.array(bounds[0]) + 1e-9, np.array(bounds[1]) - 1e-9)
            try:
                p, _ = curve_fit(f, x, y, p0=start, sigma=1 / np.sqrt(w), bounds=bounds, maxfev=2000)
            except RuntimeError:
                continue
            best[j] = min(best[j], float((w * (y - f(x, *p)) ** 2).sum()))
    return best


def real_curves() -> CurveBatch:
    """Every bundled curve the sigmoid is fitted to with its floor at chance (4+ sizes)."""
    config = yaml.safe_load((REPO / "workflow" / "config.yaml").read_text())
    batches = []
    for path in sorted((REPO / "data").glob("*.csv")):
        over = config.get("datasets", {}).get(path.stem, {})
        curves, points, _ = prepare_points(path, over.get("x_axis", config["x_axis"]),
                                           tuple(over.get("split_by", ())))
        keep = (curves["n_scales"] >= 4) & curves["bounded"].astype(bool) & curves["chance"].notna()
        batches.append(to_batch(curves[keep].reset_index(drop=True), points))
    N = max(b.x.shape[1] for b in batches)
    pad = [CurveBatch(*(np.pad(getattr(b, f), ((0, 0), (0, N - b.x.shape[1])), constant_values=v)
                        for f, v in (("x", 0.0), ("y", 0.0), ("sigma", 1.0), ("w", 0.0))),
                      b.chance, b.known_noise, b.bounded) for b in batches]
    return CurveBatch(*(np.concatenate([getattr(b, f) for b in pad]) for f in
                        ("x", "y", "sigma", "w", "chance", "known_noise", "bounded")))


def compare(name: str, b: CurveBatch, n_baseline: int, repeats: int) -> None:
    """Engine vs curve_fit on one set of curves: rates, ratio, agreement."""
    engine_times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fit = fit_sigmoid(b, starts=POINT_FIT_STARTS)      # as a curve's own fit in the pipeline
        engine_times.append(time.perf_counter() - t)
    idx = np.random.default_rng(1).choice(len(b), size=min(n_baseline, len(b)), replace=False)
    inits = starts(b)
    t = time.perf_counter()
    base = baseline(b, idx, inits)
    base_time = time.perf_counter() - t
    engine_rate = len(b) / np.median(engine_times)
    base_rate = len(idx) / base_time
    ours = fit.rss[idx]
    ok = np.isfinite(base)
    agree = np.mean(ours[ok] <= base[ok] * (1 + 1e-6) + 1e-15)
    print(f"{name}: {len(b)} curves of up to {b.x.shape[1]} points; curve_fit on {len(idx)} of them")
    print(f"  engine    : {engine_rate:10.0f} curves/s (median of {repeats}: {np.median(engine_times):.2f} s)")
    print(f"  curve_fit : {base_rate:10.0f} curves/s ({base_time:.2f} s, {len(inits)} starts each)")
    print(f"  ratio     : {engine_rate / base_rate:10.1f}x")
    print(f"  agreement : {agree:.4%} of {ok.sum()} curves with objective within 1e-6 of curve_fit or better")


def replicates(b: CurveBatch, curves: int, reps: int, repeats: int) -> None:
    """The pipeline's own workload: bootstrap replicates of each curve, sharing its grid."""
    sub = b.take(np.random.default_rng(2).choice(len(b), size=min(curves, len(b)), replace=False))
    rng = np.random.default_rng(3)
    rep = sub.repeat(reps)
    rep = rep.with_y(rep.y + rng.normal(0, 0.02, rep.y.shape))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fit_sigmoid(rep, replicates=reps)
        times.append(time.perf_counter() - t)
    print(f"bootstrap replicates: {len(sub)} real curves x {reps} replicates, fitted as the pipeline does")
    print(f"  engine    : {len(rep) / np.median(times):10.0f} fits/s (median of {repeats}: {np.median(times):.2f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--curves", type=int, default=20000, help="generated curves")
    ap.add_argument("--points", type=int, default=8)
    ap.add_argument("--baseline", type=int, default=500, help="curves the curve_fit loop fits, per set")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    compare("generated", make_curves(args.curves, args.points), args.baseline, args.repeats)
    real = real_curves()
    compare("real (bundled data)", real, args.baseline, args.repeats)
    replicates(real, 100, 1000, args.repeats)


if __name__ == "__main__":
    main()
