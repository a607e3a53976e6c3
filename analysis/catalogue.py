"""The benchmark catalogue: what a test set is, so that a table need not say it.

`benchmark_catalogue.csv` (shipped with the package, one row per benchmark and
task, every number read from the benchmark's own data or metadata files and
cited in `source`) gives the number of test items, the answer format and, for
multiple choice with a fixed number of options, that number. A row of a score
table is matched to an entry through the names people write (aliases: the
harness's `arc_challenge`, a paper's "ARC (Challenge)", `hendrycksTest-anatomy`,
...), and the loader then

* fills `n_items` where a row gives neither `n_items` nor `stderr` (binomial
  sampling noise instead of noise estimated from the curve's own residuals);
* fills `chance` where no row of the curve gives one, from the metric: 0 for
  exact match, generation and cloze metrics, 1/k for a k-way multiple-choice
  metric (`acc`, `acc_norm`, `mc1`, `multiple_choice_grade`) where k is fixed;
* warns on the curve where a row contradicts the entry (more items than the
  test set has; a chance that is not the metric's).

What it fills is said per point (`catalogue`, `filled`) and in the curve's
`noise`; a dataset turns it off with `catalogue: false` (a table scored on a
subset of the test set should give its own `n_items`, which always stands).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .loading import CURVE_KEY
from .problems import Problem

CATALOGUE_FILE = Path(__file__).with_name("benchmark_catalogue.csv")
#: metrics scored by picking one of the options: chance is 1/k
CHOICE_METRICS = ("acc", "acc_norm", "accuracy", "mc1", "multiple_choice_grade")
#: metrics scored by producing the answer: chance is 0
GENERATION_METRICS = ("exact_match", "em", "exact_str_match", "quasi_exact_match", "solve_rate", "pass@1",
                      "pass@10", "pass@100", "case_insensitive_str_match")
WHOLE = "*"          # an entry for the benchmark as a whole (its aggregate score)


def normalise(name: str) -> str:
    """One spelling per name: case, spaces, underscores, hyphens, colons and brackets do not matter."""
    return re.sub(r"[\s_\-:()\[\],./]+", " ", str(name).lower()).strip()


@dataclass(frozen=True)
class Catalogue:
    """The entries, and the name index the loader matches against."""

    entries: pd.DataFrame

    @classmethod
    @functools.cache
    def shipped(cls) -> Catalogue:
        return cls(pd.read_csv(CATALOGUE_FILE, dtype={"aliases": str, "split": str, "answer": str, "source": str},
                               keep_default_na=False, na_values={"n_items": [""], "choices": [""]}))

    @functools.cached_property
    def _index(self) -> tuple[dict, dict, dict]:
        """(benchmark name -> its entries, (benchmark, task name) -> entry, task name -> entries)."""
        bench, within, task = {}, {}, {}
        e = self.entries
        for i, r in enumerate(e.itertuples()):
            bench.setdefault(normalise(r.benchmark), set()).add(i)
            names = {normalise(r.task), *(normalise(a) for a in r.aliases.split("|") if a)}
            for name in names:
                within.setdefault((normalise(r.benchmark), name), set()).add(i)
                task.setdefault(name, set()).add(i)
            if r.task == WHOLE or (e["benchmark"] == r.benchmark).sum() == 1:
                for name in names - {normalise(WHOLE)}:       # a whole benchmark's aliases name the benchmark
                    bench.setdefault(name, set()).add(i)
        return bench, within, task

    def match(self, benchmark: str, task: str) -> int | None:
        """The entry a (benchmark, task) as written means, or None.

        The two names together as one alias first ("Open LLM Leaderboard v2" + "bbh"); the task
        within its benchmark; then the task's own name where it
        names one entry only (`arc_challenge`, `winogrande`); then a benchmark
        that is one test set (GSM8K, whatever the task column says: a prompt
        style, a split) or its whole-benchmark entry.
        """
        bench, within, task_index = self._index
        b, t = normalise(benchmark), normalise(task)
        entries = bench.get(b, set())
        in_benchmark = set()
        for name in {normalise(self.entries["benchmark"].iat[i]) for i in entries}:
            in_benchmark |= within.get((name, t), set())
        for candidates in (task_index.get(normalise(f"{benchmark} {task}"), set()), in_benchmark,
                           task_index.get(t, set())):
            if len(candidates) == 1:
                return next(iter(candidates))
        whole = {i for i in entries if self.entries["task"].iat[i] == WHOLE}
        benchmarks = {self.entries["benchmark"].iat[i] for i in entries}
        if len(benchmarks) == 1 and (len(entries) == 1 or len(whole) == 1):
            return next(iter(whole or entries))
        return None

    def chance(self, entry: int, metric: str) -> float:
        """The score of guessing on this entry under this metric (nan where it does not follow)."""
        kind = _metric_kind(metric)
        r = self.entries.iloc[entry]
        if kind == "generation" or (kind == "choice" and r["answer"] in ("generation", "cloze")):
            return 0.0
        if kind == "choice" and r["answer"] == "multiple_choice" and np.isfinite(r["choices"]) and r["choices"] > 1:
            return 1.0 / float(r["choices"])
        return np.nan

    def name(self, entry: int) -> str:
        r = self.entries.iloc[entry]
        return r["benchmark"] if r["task"] == WHOLE else f"{r['benchmark']}/{r['task']}"


def _metric_kind(metric: str) -> str:
    """`choice`, `generation` or `other`, from the metric's name before a harness filter (`exact_match/strict`)."""
    base = re.split(r"[/,]", str(metric).lower(), maxsplit=1)[0].strip()
    if base in CHOICE_METRICS:
        return "choice"
    if base in GENERATION_METRICS or base.startswith("pass@"):
        return "generation"
    return "other"


def apply_catalogue(points: pd.DataFrame, label: str, catalogue: Catalogue | None = None
                    ) -> tuple[pd.DataFrame, list[Problem]]:
    """Points with `catalogue` (the entry matched, or blank), `filled` (what the entry supplied) and the
    blanks filled; and a warning per curve whose rows contradict their entry."""
    cat = catalogue or Catalogue.shipped()
    pts = points.reset_index(drop=True)          # positions and labels agree (the arrays below are positional)
    pts["catalogue"], pts["filled"] = "", ""
    if pts.empty:
        return pts, []
    # one lookup per distinct (benchmark, task, metric), mapped back onto the rows
    names = ["benchmark", "task", "metric"]
    keys = pts[names].drop_duplicates().reset_index(drop=True)
    entry = [cat.match(b, t) for b, t in zip(keys["benchmark"], keys["task"])]
    keys["_entry"] = [np.nan if e is None else e for e in entry]
    keys["_name"] = ["" if e is None else cat.name(e) for e in entry]
    keys["_items"] = [np.nan if e is None else cat.entries["n_items"].iat[e] for e in entry]
    keys["_chance"] = [np.nan if e is None else cat.chance(e, m) for e, m in zip(entry, keys["metric"])]
    row = pts[names].merge(keys, on=names, how="left")
    found = row["_entry"].notna().to_numpy()
    unknown = _unknown(pts[~found], label)
    if not found.any():
        return _generation_floor(pts), unknown
    pts["catalogue"] = row["_name"].to_numpy(object)
    test_items, chance = row["_items"].to_numpy(float), row["_chance"].to_numpy(float)

    bounded = pts["bounded"].to_numpy(bool)
    fill_n = (found & bounded & np.isfinite(test_items) & ~np.isfinite(pts["n_items"].to_numpy(float))
              & ~np.isfinite(pts["stderr"].to_numpy(float)))
    # chance per curve: only where no row of the curve gives one (a curve has one chance)
    curve_has = pts["chance"].notna().groupby([pts[c] for c in CURVE_KEY], sort=False).transform("any")
    fill_c = found & bounded & np.isfinite(chance) & ~curve_has.to_numpy(bool)
    pts.loc[fill_n, "n_items"] = test_items[fill_n]
    # chance in the direction the score is written: a lower-is-better score's chance is 1 - chance
    higher = pts["higher_is_better"].to_numpy(bool)
    pts.loc[fill_c, "chance"] = np.where(higher, chance, 1.0 - chance)[fill_c]
    written = pts["chance"].to_numpy(float, copy=True)
    slip = _chance_as_fraction_in_percent(pts, found & ~fill_c, np.where(higher, chance, 1.0 - chance))
    fill_c |= slip
    pts["filled"] = np.select([fill_n & fill_c, fill_n, fill_c], ["n_items, chance", "n_items", "chance"], "")

    return (_generation_floor(pts), unknown + _slips(pts, slip, written, label)
            + _contradictions(pts, found, test_items, chance, fill_c, label))


def _chance_as_fraction_in_percent(pts: pd.DataFrame, given: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Rows of a percent table whose chance is a hundredth of their catalogue entry's (0.25 written for
    25 %, read as 0.25 %): the entry's chance replaces it, as a wrong floor would cost the curve its
    emergence. Which rows; their chance is set in place."""
    chance = pts["chance"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        slip = (given & pts["unit"].eq("percent").to_numpy() & np.isfinite(chance) & np.isfinite(expected)
                & (expected > 0.01) & (np.abs(100 * chance - expected) <= 0.005))
    pts.loc[slip, "chance"] = expected[slip]
    return slip


def _slips(pts: pd.DataFrame, slip: np.ndarray, written: np.ndarray, label: str) -> list[Problem]:
    out = []
    for i in pts[slip].drop_duplicates(list(CURVE_KEY)).index:        # one warning per curve
        r = pts.loc[i]
        out.append(Problem(label, int(r["row"]), "chance", (
            f"chance {100 * written[i]:g} in a percent table reads as {100 * written[i]:g} %, a "
            f"hundredth of what guessing scores on {r['catalogue']} ({100 * r['chance']:g} %, benchmark "
            f"catalogue): a fraction written in a percent table; the catalogue's {100 * r['chance']:g} % is used "
            f"(write {100 * r['chance']:g} to say so)"), kept=True))
    return out


#: what `filled` says where the chance level came from the metric's name, not from a catalogue entry
FROM_METRIC = "chance from the metric"


def _generation_floor(pts: pd.DataFrame) -> pd.DataFrame:
    """Chance 0 for a curve scored by exact match or another generation metric that neither its table
    nor the catalogue gives a chance: guessing does not write the answer, whatever the benchmark (a
    one-paper table of a new task, `exact_match`). Said in `filled` and in the curve's `chance_source`."""
    kind = pts["metric"].map(_metric_kind)
    curve_has = pts["chance"].notna().groupby([pts[c] for c in CURVE_KEY], sort=False).transform("any")
    fill = (kind.eq("generation") & pts["bounded"].astype(bool) & ~curve_has).to_numpy(bool)
    if fill.any():
        pts.loc[fill, "chance"] = np.where(pts.loc[fill, "higher_is_better"].astype(bool), 0.0, 1.0)
        pts.loc[fill, "filled"] = np.where(pts.loc[fill, "filled"].eq(""), FROM_METRIC,
                                           pts.loc[fill, "filled"] + ", " + FROM_METRIC)
    return pts


def _unknown(rows: pd.DataFrame, label: str) -> list[Problem]:
    """One note per benchmark the catalogue does not know (kept: its rows are analysed as given)."""
    out = []
    for bench, g in rows.groupby("benchmark", sort=True):
        tasks = list(dict.fromkeys(g["task"]))
        named = ", ".join(repr(t) for t in tasks[:3]) + (f" and {len(tasks) - 3} more" if len(tasks) > 3 else "")
        out.append(Problem(label, int(g["row"].iat[0]), "benchmark", (
            f"benchmark {bench!r} (task {named}) is not in the benchmark catalogue: its item counts and chance "
            "are what the table gives (chance 0 where the metric is exact match or another generation metric); "
            "write n_items and chance in the table, or add the test set to analysis/benchmark_catalogue.csv "
            "with its source"), kept=True))
    return out


def _contradictions(pts: pd.DataFrame, found: np.ndarray, test_items: np.ndarray, chance: np.ndarray,
                    filled: np.ndarray, label: str) -> list[Problem]:
    """One warning per curve and kind whose rows disagree with their catalogue entry (kept: the table's
    own values stand)."""
    out = []
    with np.errstate(invalid="ignore"):
        too_many = found & (pts["n_items"].to_numpy(float) > test_items)
        given = pts["chance"].to_numpy(float)
        expected = np.where(pts["higher_is_better"].to_numpy(bool), chance, 1.0 - chance)
        off = found & ~filled & np.isfinite(given) & np.isfinite(expected) & (np.abs(given - expected) > 0.02)
    for mask, column, say in (
            (too_many, "n_items", lambda r, i: (
                f"n_items {r['n_items']:g} is more than the {test_items[i]:g} items of {r['catalogue']}'s test "
                "set (benchmark catalogue): is it the sum over several tasks, or another split? The table's value "
                "is used")),
            (off, "chance", lambda r, i: (
                f"chance {r['chance']:g} is not what guessing scores on {r['catalogue']} under metric "
                f"{r['metric']!r} ({expected[i]:g}, benchmark catalogue: "
                + ("exact match and generation score 0 by guessing" if expected[i] == 0 else
                   "1/k for k options") + "); the table's value is used: check it"))):
        first = pts[mask].drop_duplicates(list(CURVE_KEY)).index      # one warning per curve
        out += [Problem(label, int(pts.at[i, "row"]), column, say(pts.loc[i], i), kept=True) for i in first]
    return out
