"""Synthetic curves with known truth, in the data contract.

The detectors are only as good as their measured false positive rate and
power; these generators are what they are measured on (tests, calibration).
Scores are binomial draws from n_items questions (or Gaussian with an unknown
sd when n_items is None), at sizes spread evenly in log scale.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .settings import Settings

SHAPES = ("flat", "smooth", "saturating", "emergent", "inverse", "u_shaped", "inverted_u")
TRUE_LABEL = {"flat": "flat", "smooth": "smooth", "saturating": "smooth", "emergent": "emergent",
              "inverse": "inverse", "u_shaped": "u_shaped", "inverted_u": "inverted_u"}


def true_curve(shape: str, x: np.ndarray, chance: float = 0.25, rng=None) -> np.ndarray:
    """Noise-free score at x = log10(params) in [lo, hi] for a shape."""
    from scipy.special import expit  # here: the report reads this module's constants only
    lo, hi = x.min(), x.max()
    t = (x - lo) / (hi - lo)                      # 0..1 across the range
    head = 1.0 - chance
    if shape == "flat":
        return np.full_like(x, chance + 0.02)
    if shape == "smooth":                         # steady log-linear gain of 40 % of headroom
        return chance + 0.05 + 0.4 * head * t
    if shape == "saturating":                     # scaling-law approach to a ceiling, starts above chance
        return chance + 0.15 * head + 0.6 * head * (1 - 10 ** (-1.2 * (x - lo)))
    if shape == "emergent":                       # at chance, then half the headroom within one decade
        x0 = lo + 0.6 * (hi - lo)
        k = np.log(81.0) / 0.8                     # 10-90 % in 0.8 decades
        return chance + 0.6 * head * expit(k * (x - x0))
    if shape == "inverse":
        return chance + 0.5 * head - 0.3 * head * t
    if shape == "u_shaped":
        return chance + 0.35 * head + 0.8 * head * (t - 0.5) ** 2 * 2 - 0.1 * head
    if shape == "inverted_u":
        return chance + 0.45 * head - 0.8 * head * (t - 0.5) ** 2 * 2
    raise KeyError(shape)


def simulate(shape: str, n_curves: int, n_sizes: int = 8, decades: float = 3.0,
             n_items: int | None = 1000, noise_sd: float = 0.02, chance: float = 0.25,
             seed: int = 0, smallest: float = 1e8) -> pd.DataFrame:
    """Contract rows for `n_curves` independent families of one shape."""
    rng = np.random.default_rng(seed)
    x = np.log10(smallest) + np.linspace(0.0, decades, n_sizes)
    p = np.clip(true_curve(shape, x, chance), 0.0, 1.0)
    if n_items:
        scores = rng.binomial(n_items, np.broadcast_to(p, (n_curves, n_sizes))) / n_items
    else:
        scores = np.clip(p + rng.normal(0, noise_sd, (n_curves, n_sizes)), 0, 1)
    fam = np.repeat([f"{shape}-{i}" for i in range(n_curves)], n_sizes)
    params = np.tile(10 ** x, n_curves)
    return pd.DataFrame({
        "model": [f"{f}-{v:.3g}" for f, v in zip(fam, params)],
        "family": fam, "params": params, "benchmark": "synthetic", "task": shape,
        "metric": "acc", "shots": 0, "score": scores.ravel(), "unit": "fraction",
        "n_items": n_items if n_items else "", "chance": chance,
        "source": f"synthetic: {shape}, seed {seed}",
    })


# ---------------------------------------------------------------- stress suite
# Families as real tables have them (analysis.stress measures the tests on these):
# one family = one real size grid, evaluated on several tasks; every model has an
# effect u_m ~ N(0, tau²) shared by all tasks of its family, plus per-score
# sampling noise. None of the truths below is drawn from a model the detector fits.

#: real size grids from the bundled data (axis, scales), keyed by number of sizes
GRIDS = {
    4: {"LLaMA-1": ("params", (7e9, 13e9, 33e9, 65e9)),                   # llama_model_cards.csv
        "Falcon": ("params", (1e9, 7e9, 40e9, 180e9))},                   # obsscaling_base.csv
    5: {"BLOOM": ("params", (560e6, 1.1e9, 3e9, 7.1e9, 176e9)),           # obsscaling_base.csv
        "GPT-Neo/J": ("params", (125e6, 1.3e9, 2.7e9, 6.05e9, 20e9))},    # obsscaling_base.csv
    8: {"GPT-3": ("params", (125e6, 350e6, 760e6, 1.3e9, 2.7e9, 6.7e9, 13e9, 175e9)),  # gpt3_brown2020.csv
        "OPT": ("params", (125e6, 350e6, 1.3e9, 2.7e9, 6.7e9, 13e9, 30e9, 66e9)),       # obsscaling_base.csv
        "Pythia": ("params", (70e6, 160e6, 410e6, 1e9, 1.4e9, 2.8e9, 6.9e9, 12e9))},    # pythia_opt_bloom_final.csv
    # no bundled family has 12 sizes: a real 12-point subset of the Pythia checkpoint
    # grid (training tokens, pythia_checkpoints.csv), analysed on the tokens axis
    12: {"Pythia-1.4B-ckpt": ("tokens", (16777216, 33554432, 67108864, 134217728, 268435456, 536870912,
                                         1073741824, 2097152000, 6291456000, 27262976000, 111149056000,
                                         299892736000))},
}

#: between-model scatter tau (score units) as the package estimates it on the bundled data:
#: sqrt((phi - 1) * mean sigma²) of every params-axis curve with known noise and >= 5 scales
#: (139 curves: obsscaling_base, pythia_opt_bloom_final), from curves.csv / points.csv of a
#: run at commit fc4f162 (phi floored at 1 by that commit's stats.dispersion, hence the zeros).
#: `empirical_scatter` recomputes it from a run's outputs.
EMPIRICAL_TAU = (0.0,) * 77 + (
    0.00120, 0.00126, 0.00137, 0.00170, 0.00179, 0.00201, 0.00205, 0.00273, 0.00284, 0.00307, 0.00359,
    0.00365, 0.00392, 0.00398, 0.00428, 0.00448, 0.00492, 0.00496, 0.00518, 0.00532, 0.00543, 0.00555,
    0.00575, 0.00598, 0.00633, 0.00644, 0.00693, 0.00695, 0.00724, 0.00728, 0.00762, 0.00821, 0.00835,
    0.00902, 0.00967, 0.00971, 0.00981, 0.00999, 0.01113, 0.01121, 0.01145, 0.01156, 0.01178, 0.01220,
    0.01259, 0.01302, 0.01323, 0.01421, 0.01645, 0.01723, 0.01751, 0.01780, 0.01838, 0.02039, 0.02124,
    0.02322, 0.02787, 0.03431, 0.03516, 0.06261, 0.08088, 0.08627)

#: the emergent truths' onset: where their mean first exceeds chance by this (emergence.chance_tolerance)
ONSET_TOLERANCE = Settings().chance_tolerance

#: sd of the Gaussian ("residual") noise when no n_items is given
RESIDUAL_SD = 0.02

#: null truths: no emergence, no decline, no U (issue 11: the first five; issue 12 §6: the rest)
NULL_TRUTHS = ("flat_chance", "flat_high", "loglinear", "saturating", "accelerating",
               "bpl_rising", "logistic_wide", "power_up", "p_to_L", "outlier")
#: the truths of issue 11's size targets (flat, loglinear, saturating, smooth-accelerating)
CORE_NULLS = NULL_TRUTHS[:5]
#: clear effects, mixed into the same runs, for power
EFFECT_TRUTHS = ("emergent_plateau", "emergent_open", "inverse", "u_shaped")
STRESS_TRUE_LABEL = {**{t: ("flat" if t.startswith("flat") or t == "outlier" else "smooth") for t in NULL_TRUTHS},
                     "emergent_plateau": "emergent", "emergent_open": "emergent",
                     "inverse": "inverse", "u_shaped": "u_shaped"}


def empirical_scatter(curves: pd.DataFrame, points: pd.DataFrame, min_scales: int = 5) -> np.ndarray:
    """tau per curve, sqrt((phi - 1)·mean sigma²), from a run's curves.csv and points.csv:
    params-axis curves with known noise, >= `min_scales` scales and an estimated dispersion."""
    sel = curves[(curves["known_noise"].astype(str) == "True") & (curves["n_scales"] >= min_scales)
                 & curves["dispersion"].notna() & (curves["x_axis"] == "params")]
    s2 = points.groupby("curve_id")["sigma"].apply(lambda s: float((s ** 2).mean()))
    return np.sort(np.sqrt(np.maximum(sel["dispersion"].to_numpy(float) - 1, 0)
                           * sel["curve_id"].map(s2).to_numpy(float)))


def stress_truth(truth: str, x: np.ndarray, chance: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Noise-free scores (C, N) for C curves of one truth at x = log10(scale) (C, N).

    Every curve draws its own shape parameters; t runs 0..1 across its family's
    range, d = decades above its smallest scale.
    """
    from scipy.special import expit  # here: the report reads this module's constants only
    C, N = x.shape
    c = chance[:, None]
    head = 1.0 - c
    lo, hi = x.min(1, keepdims=True), x.max(1, keepdims=True)
    t, d = (x - lo) / (hi - lo), x - lo

    def u(a, b):
        return rng.uniform(a, b, (C, 1))

    if truth == "flat_chance":
        return np.broadcast_to(c + 0.02, (C, N)).copy()
    if truth == "flat_high":
        return np.broadcast_to(c + u(0.1, 0.6) * head, (C, N)).copy()
    if truth == "loglinear":                      # steady gain per decade
        return np.minimum(c + u(0.02, 0.2) * head + u(0.03, 0.12) * head * d, c + 0.95 * head)
    if truth == "saturating":                     # scaling law to a ceiling: ceiling - gap·N^-alpha
        top = c + u(0.5, 0.85) * head
        gap = top - (c + u(0.03, 0.2) * head)
        return top - gap * 10 ** (-u(0.2, 0.7) * d)
    if truth == "accelerating":                   # convex in log scale, exp-shaped, below saturation
        k = u(1.0, 2.5)
        return c + u(0.05, 0.15) * head + u(0.15, 0.45) * head * np.expm1(k * t) / np.expm1(k)
    if truth == "bpl_rising":                     # smoothly broken power law, first segment already rising
        y0 = u(0.03, 0.1) * head
        b1, b2, f = u(0.1, 0.3), u(0.5, 1.2), u(0.1, 0.3)
        xb = lo + u(0.3, 0.7) * (hi - lo)
        logy = np.log10(y0) + b1 * d + (b2 - b1) * f * np.log10(1 + 10 ** ((x - xb) / f)) \
            - (b2 - b1) * f * np.log10(1 + 10 ** ((lo - xb) / f))
        return c + np.minimum(10 ** logy, 0.9 * head)
    if truth == "logistic_wide":                  # logistic of 10-90 % width 1.5-4 decades
        width = u(1.5, 4.0)
        x0 = lo + u(0.3, 0.7) * (hi - lo)
        return c + u(0.3, 0.7) * head * expit(np.log(81.0) / width * (x - x0))
    if truth == "power_up":                       # accuracy above chance = A·N^beta
        return c + u(0.3, 0.7) * head * 10 ** (u(0.1, 0.4) * (x - hi))
    if truth == "p_to_L":                         # exact match of L steps, each with a smooth p(N)
        L = rng.integers(3, 11, (C, 1))
        p_lo, p_hi = (u(0.02, 0.06) ** (1 / L)), (u(0.3, 0.7) ** (1 / L))
        p = 1 - (1 - p_lo) * ((1 - p_hi) / (1 - p_lo)) ** t   # per-step error falls as a power of N
        return c + head * p ** L
    if truth == "outlier":                        # flat, one model (the largest, or a random one) far off
        y = np.broadcast_to(c + u(0.02, 0.3) * head, (C, N)).copy()
        j = np.where(rng.random(C) < 0.5, N - 1, rng.integers(0, N, C))
        y[np.arange(C), j] += rng.choice([-1.0, 1.0], C) * rng.uniform(0.15, 0.3, C) * head[:, 0]
        return y
    if truth == "emergent_plateau":               # at chance, then a logistic rise of >= 0.3 (10-90 % in
        width = u(0.4, 1.0)                       # <= 1 decade), midpoint inside, plateau observed or not
        x0 = lo + u(0.45, 0.65) * (hi - lo)
        return c + np.minimum(u(0.35, 0.6), 0.95 * head) * expit(np.log(81.0) / width * (x - x0))
    if truth == "emergent_open":                  # at chance, then a hinge: a rise of 0.3-0.6 over the
        span = np.minimum(u(0.35, 0.6) * (hi - lo), 1.0)   # last <= 1 decade of the data, no plateau
        xb = hi - span
        return c + np.minimum(u(0.3, 0.6), 0.95 * head) * np.maximum(x - xb, 0) / span
    if truth == "inverse":
        return c + u(0.3, 0.6) * head - u(0.1, 0.3) * head * t
    if truth == "u_shaped":                       # falls then recovers, vertex inside
        v = u(0.4, 0.6)
        depth = u(0.15, 0.3) * head
        return c + u(0.3, 0.5) * head - depth + depth * ((t - v) / np.maximum(v, 1 - v)) ** 2
    raise KeyError(truth)


def emergent_on_grid(mean: np.ndarray, x: np.ndarray, chance: np.ndarray, tol: float = ONSET_TOLERANCE,
                     margin: float = ONSET_TOLERANCE, beta_max: float = 1.0) -> np.ndarray:
    """Is a noise-free curve emergent on its grid, as the project defines it (issue 21)? (C,) bool.

    Absent: a leading run of at least two models within ±`tol` of chance. Present: every model
    after it above chance + `tol`. Not predictable: the first model above lies at least `margin`
    beyond every smooth extrapolation of the smaller models: their line (slope floored at 0) and
    the accelerating law chance + A·N^β (A ≥ 0, 0.02 ≤ β ≤ `beta_max` per decade, least squares).
    The truth a synthetic curve is scored against, computed from its shape on its grid, so that a
    wide logistic seen across a gap counts as the emergence it looks like, and a jump inside a
    dense grid does not."""
    C, N = mean.shape
    c = chance[:, None]
    at_floor = np.abs(mean - c) <= tol
    lead = np.cumprod(at_floor, axis=1).astype(bool)
    k = lead.sum(1)
    above = mean > c + tol
    first = np.minimum(k, N - 1)
    present = (k >= 2) & (k < N) & np.array([above[i, k[i]:].all() if k[i] < N else False for i in range(C)])
    out = np.zeros(C, bool)
    betas = np.geomspace(0.02, beta_max, 60)
    for i in np.flatnonzero(present):
        xs, ys, xt, yt = x[i, :k[i]], mean[i, :k[i]], x[i, first[i]], mean[i, first[i]]
        slope = max(np.polyfit(xs, ys, 1)[0], 0.0) if len(np.unique(xs)) > 1 else 0.0
        line = ys.mean() + slope * (xt - xs.mean())
        e = ys - chance[i]
        g = 10.0 ** (betas[:, None] * (xs[None, :] - xt))
        a = np.maximum((g * e).sum(1) / (g * g).sum(1), 0.0)
        rss = ((e - a[:, None] * g) ** 2).sum(1)
        accel = chance[i] + a[np.argmin(rss)]
        out[i] = yt - max(line, accel) >= margin
    return out


def stress_block(n_sizes: int, n_items: int | None, scatter: str, chance: float, curves_per_truth: dict,
                 seed: int, tasks_per_family: int = 8, prefix: str = "") -> tuple[pd.DataFrame, pd.DataFrame]:
    """One run's data: families on real grids, each on `tasks_per_family` tasks, truths mixed.

    `scatter`: "empirical" (tau per family drawn from EMPIRICAL_TAU) or "stress" (tau = 3× the
    sampling sd at chance + 0.02: binomial with n_items, else RESIDUAL_SD). Returns (contract
    rows, truth per curve keyed by family and task).
    """
    rng = np.random.default_rng(seed)
    truths = np.concatenate([[t] * n for t, n in curves_per_truth.items()])
    rng.shuffle(truths)
    F = -(-len(truths) // tasks_per_family)
    truths = np.concatenate([truths, np.full(F * tasks_per_family - len(truths), "")])
    grid_names = list(GRIDS[n_sizes])
    fam_grid = np.array([grid_names[f % len(grid_names)] for f in range(F)])
    scales = np.array([GRIDS[n_sizes][g][1] for g in fam_grid], float)            # (F, N)
    axes = np.array([GRIDS[n_sizes][g][0] for g in fam_grid])
    if scatter == "empirical":
        tau = rng.choice(np.asarray(EMPIRICAL_TAU), F)
    elif scatter == "stress":
        p = chance + 0.02
        tau = np.full(F, 3 * (np.sqrt(p * (1 - p) / n_items) if n_items else RESIDUAL_SD))
    else:
        raise KeyError(scatter)
    u_m = rng.normal(0.0, 1.0, (F, n_sizes)) * tau[:, None]                       # model effects
    T = tasks_per_family
    x = np.repeat(np.log10(scales), T, axis=0)                                     # (F·T, N)
    ch = np.full(F * T, float(chance))
    mean = np.zeros_like(x)
    onset = np.full(len(x), np.nan)
    flat_truths = truths
    for name in curves_per_truth:
        sel = flat_truths == name
        if name.startswith("emergent"):
            # on a fine grid inside the range too (the shape depends only on the range): where the
            # truth first leaves the floor by the default practical tolerance, the bracket's target
            fine = x[sel].min(1, keepdims=True) + np.linspace(0, 1, 2001)[None] * np.ptp(x[sel], 1, keepdims=True)
            both = stress_truth(name, np.concatenate([x[sel], fine], 1), ch[sel], rng)
            mean[sel], curve = both[:, :n_sizes], both[:, n_sizes:]
            above = curve - ch[sel][:, None] > ONSET_TOLERANCE
            onset[sel] = np.where(above.any(1), fine[np.arange(len(fine)), np.argmax(above, 1)], np.nan)
        else:
            mean[sel] = stress_truth(name, x[sel], ch[sel], rng)
    p = np.clip(mean + np.repeat(u_m, T, axis=0), 0.0, 1.0)
    if n_items:
        score = rng.binomial(n_items, p) / n_items
    else:
        score = np.clip(p + rng.normal(0.0, RESIDUAL_SD, p.shape), 0.0, 1.0)
    keep = flat_truths != ""
    fam = np.array([f"{prefix}{g}-f{f:04d}" for f, g in enumerate(fam_grid)])
    fam_c = np.repeat(fam, T)
    task_c = np.tile([f"task{k:02d}" for k in range(T)], F)
    axis_c = np.repeat(axes, T)
    C, N = x.shape
    rows = pd.DataFrame({
        "model": [f"{fm}-m{j}" for fm in fam_c for j in range(N)],
        "family": np.repeat(fam_c, N), "benchmark": "stress", "task": np.repeat(task_c, N),
        "metric": "acc", "shots": 0, "score": score.ravel(), "unit": "fraction",
        "n_items": n_items if n_items else "", "chance": np.repeat(ch, N),
        "source": f"synthetic stress block: {n_sizes} sizes, noise {n_items or 'residual'}, "
                  f"scatter {scatter}, seed {seed}",
        "_scale": (10 ** x).ravel(), "_axis": np.repeat(axis_c, N), "_keep": np.repeat(keep, N),
    })
    rows["params"] = np.where(rows["_axis"] == "params", rows["_scale"], 1.4e9)
    rows["tokens"] = np.where(rows["_axis"] == "tokens", rows["_scale"], np.nan)
    rows = rows[rows["_keep"]].drop(columns=["_scale", "_axis", "_keep"]).reset_index(drop=True)
    truth = pd.DataFrame({"family": fam_c, "task": task_c, "truth": flat_truths,
                          "tau": np.repeat(tau, T), "grid": np.repeat(fam_grid, T),
                          "true_onset": 10 ** onset,
                          "emergent_on_grid": emergent_on_grid(mean, x, ch)})[keep].reset_index(drop=True)
    return rows, truth
