"""The benchmark catalogue (issue 22): real, sourced entries; blanks filled and said; contradictions warned;
every bundled benchmark resolved or listed as unknown; sizes that cannot be misread."""
import numpy as np
import pandas as pd
import pytest

from analysis.catalogue import Catalogue, apply_catalogue, normalise
from analysis.importers.wide import read_wide
from analysis.loading import read_scores, sizes_across_datasets
from analysis.validation import prepare_points
from tests.conftest import REPO

COLUMNS = ["benchmark", "task", "aliases", "n_items", "split", "choices", "answer", "source"]


@pytest.fixture(scope="module")
def catalogue():
    return Catalogue.shipped()


def test_every_entry_is_sourced_and_well_formed(catalogue):
    e = catalogue.entries
    assert list(e.columns) == COLUMNS
    assert len(e) >= 150                                            # the floor
    assert not e.duplicated(["benchmark", "task"]).any()
    assert (e["source"].str.len() > 10).all(), "every entry cites where its numbers were read"
    n = e["n_items"].dropna()
    assert (n >= 1).all() and (n == n.round()).all()
    k = e["choices"].dropna()
    assert (k >= 2).all() and (k == k.round()).all()
    assert set(e["answer"]) <= {"multiple_choice", "generation", "cloze"}
    # the suites the issue names are there, with their subtasks
    counts = e.groupby("benchmark").size()
    assert counts["MMLU"] >= 57 and counts["BBH"] >= 27
    for name in ("GSM8K", "ARC-Challenge", "HellaSwag", "WinoGrande", "PIQA", "BoolQ", "LAMBADA", "TruthfulQA",
                 "HumanEval", "MBPP", "GPT-3 arithmetic"):
        assert name in counts.index, name


def test_no_name_means_two_entries_of_one_benchmark(catalogue):
    e = catalogue.entries
    for bench, g in e.groupby("benchmark"):
        seen = {}
        for r in g.itertuples():
            for name in {normalise(r.task), *(normalise(a) for a in r.aliases.split("|") if a)}:
                assert seen.setdefault(name, r.task) == r.task, f"{bench}: {name!r} names {seen[name]} and {r.task}"


@pytest.mark.parametrize("benchmark, task, entry, items", [
    ("ARC (Challenge)", "ARC (Challenge) (test)", "ARC-Challenge/arc_challenge", 1172),
    ("lm-eval", "arc_challenge", "ARC-Challenge/arc_challenge", 1172),
    ("MMLU", "hendrycksTest-anatomy", "MMLU/anatomy", 135),
    ("MMLU", "mmlu_anatomy", "MMLU/anatomy", 135),
    ("hendrycks_test", "hendrycks_test", "MMLU", 14042),              # the Hugging Face dataset's name
    ("BBH", "bbh_cot_fewshot_date_understanding", "BBH/date_understanding", 250),
    ("GSM8K", "chain_of_thought", "GSM8K/gsm8k", 1319),              # a prompt style in the task column
    ("Winograd", "winogrande", "WinoGrande/winogrande", 1267),        # the task names the test set
    ("Open LLM Leaderboard v2", "bbh", "BBH/leaderboard_bbh", 5761),
])
def test_names_people_write_resolve(catalogue, benchmark, task, entry, items):
    i = catalogue.match(benchmark, task)
    assert i is not None and catalogue.name(i) == entry
    assert catalogue.entries["n_items"].iat[i] == items


def test_unknown_names_resolve_to_nothing(catalogue):
    assert catalogue.match("Open LLM Leaderboard v2", "gpqa") is None   # a collection is not a test set
    assert catalogue.match("Commonsense Reasoning", "Commonsense Reasoning") is None


def test_chance_follows_from_the_metric(catalogue):
    mmlu, gsm = catalogue.match("MMLU", "mmlu_anatomy"), catalogue.match("GSM8K", "gsm8k")
    assert catalogue.chance(mmlu, "acc") == pytest.approx(0.25)
    assert catalogue.chance(mmlu, "exact_match") == 0.0              # generated answers score 0 by guessing
    assert catalogue.chance(gsm, "exact_match/strict-match") == 0.0
    assert np.isnan(catalogue.chance(mmlu, "mc2")) and np.isnan(catalogue.chance(gsm, "bleu"))


def _table(tmp_path, rows, name="t.csv"):
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _rows(benchmark, task, metric, scores, **extra):
    sizes = ["125M", "350M", "1.3B", "6.7B", "13B"][:len(scores)]
    return [{"model": f"m{s}", "family": "F", "params": s, "benchmark": benchmark, "task": task, "metric": metric,
             "score": y, **extra} for s, y in zip(sizes, scores)]


def test_blanks_are_filled_and_said(tmp_path):
    path = _table(tmp_path, _rows("MMLU", "mmlu_anatomy", "acc", [0.25, 0.26, 0.27, 0.3, 0.35])
                  + _rows("GSM8K", "gsm8k", "exact_match", [0.0, 0.01, 0.02, 0.05, 0.1]))
    curves, points, _ = prepare_points(path)
    c = curves.set_index("task")
    assert c.loc["mmlu_anatomy", "chance"] == pytest.approx(0.25) and c.loc["gsm8k", "chance"] == 0.0
    assert (c["chance_source"] == "catalogue").all() and (c["known_noise"]).all()
    assert c["noise"].str.contains("catalogue").all()
    assert set(points.loc[points["task"] == "gsm8k", "n_items"]) == {1319}
    assert set(points["filled"]) == {"n_items, chance"}
    off, _, _ = prepare_points(path, catalogue=False)
    assert not off["known_noise"].any() and off["chance"].isna().all()


def test_exact_match_on_a_task_the_catalogue_does_not_know_has_chance_zero_and_says_so(tmp_path):
    """A one-paper table of a new task scored by exact match, no chance column: guessing does not
    write the answer, so its floor is 0, and emergence can be tested (it was "chance unknown")."""
    path = _table(tmp_path, _rows("my_new_task", "t", "exact_match", [0.0, 0.0, 0.01, 0.02, 0.45])
                  + _rows("my_new_task", "u", "acc", [0.3, 0.3, 0.31, 0.32, 0.5])
                  + _rows("my_new_task", "v", "exact_match", [0.3, 0.3, 0.31, 0.32, 0.5], chance=0.25))
    curves, points, problems = prepare_points(path)
    c = curves.set_index("task")
    assert c.loc["t", "chance"] == 0.0 and c.loc["t", "chance_source"] == "metric"
    assert np.isnan(c.loc["u", "chance"]) and c.loc["u", "chance_source"] == ""     # acc: not guessed
    assert c.loc["v", "chance"] == 0.25 and c.loc["v", "chance_source"] == "table"   # the table's stands
    assert set(points.loc[points["task"] == "t", "filled"]) == {"chance from the metric"}
    assert any("generation metric" in p.message for p in problems)
    off, _, _ = prepare_points(path, catalogue=False)
    assert np.isnan(off.set_index("task").loc["t", "chance"])                      # catalogue off: as given


def test_the_tables_own_values_stand_and_contradictions_are_warned(tmp_path):
    rows = (_rows("MMLU", "mmlu_anatomy", "acc", [0.25, 0.26, 0.27, 0.3], n_items=5000, chance=0.25)
            + _rows("GSM8K", "gsm8k", "exact_match", [0.0, 0.01, 0.02, 0.05], n_items=500, chance=0.25))
    curves, points, problems = prepare_points(_table(tmp_path, rows))
    assert set(points.loc[points["task"] == "mmlu_anatomy", "n_items"]) == {5000}     # never overwritten
    assert set(points.loc[points["task"] == "gsm8k", "n_items"]) == {500}
    assert (curves["chance_source"] == "table").all() and (points["filled"] == "").all()
    said = [p for p in problems if p.kept]
    assert any(p.column == "n_items" and "5000 is more than the 135 items" in p.message for p in said)
    assert any(p.column == "chance" and "exact match" in p.message for p in said)
    assert len([p for p in said if p.column == "n_items"]) == 1     # one warning per curve, not per row


def test_a_chance_written_as_a_fraction_in_a_percent_table_takes_the_catalogues(tmp_path):
    """GPT-3's MMLU printed in percent with chance 0.25 (read as 0.25 %): the floor it gave turned an
    emergence into "no flat start". The catalogue's 25 % replaces it, and both are said; a chance that
    is not a hundredth of the entry's stands, with the usual warning."""
    rows = (_rows("MMLU", "mmlu", "acc", [25.9, 24.9, 26.0, 43.9], unit="percent", chance=0.25)
            + _rows("MMLU", "mmlu_anatomy", "acc", [25.9, 24.9, 26.0, 43.9], unit="percent", chance=20))
    curves, points, problems = prepare_points(_table(tmp_path, rows))
    c = curves.set_index("task")
    assert c.loc["mmlu", "chance"] == pytest.approx(0.25) and c.loc["mmlu", "chance_source"] == "catalogue"
    assert c.loc["mmlu_anatomy", "chance"] == pytest.approx(0.20) and c.loc["mmlu_anatomy", "chance_source"] == "table"
    [slip] = [p for p in problems if "a hundredth of what guessing scores" in p.message]
    assert slip.kept and slip.column == "chance" and "the catalogue's 25 % is used" in slip.message
    assert any(p.column == "chance" and "chance 0.2 is not what guessing scores" in p.message
               for p in problems)


def test_every_bundled_benchmark_resolves_or_is_listed_as_unknown():
    cat = Catalogue.shipped()
    for csv in sorted((REPO / "data").glob("*.csv")):
        loaded = read_scores(csv)
        _, problems = apply_catalogue(loaded.points, str(csv))
        listed = {p.message.split("'")[1] for p in problems if p.column == "benchmark"}
        for bench, task in loaded.points[["benchmark", "task"]].drop_duplicates().itertuples(index=False):
            assert cat.match(bench, task) is not None or bench in listed, (csv.name, bench, task)


def test_a_size_in_billions_is_refused_with_the_fix(tmp_path):
    (tmp_path / "t.csv").write_text("Model,Family,#Params (B),MMLU\nm7,F,7,40.1\nm13,F,13,45\nm34,F,34,50\n"
                                    "m70,F,70,60\n")
    (tmp_path / "t.yaml").write_text('model: Model\nfamily: Family\nparams: "#Params (B)"\n'
                                     "scores:\n  MMLU: {metric: acc, unit: percent}\n")
    rows, problems = read_wide(tmp_path / "t.csv")
    assert any("names a unit (B)" in p.message and "params_unit: B" in p.message for p in problems)
    rows.to_csv(tmp_path / "c.csv", index=False)
    loaded = read_scores(tmp_path / "c.csv")
    assert len(loaded.points) == 0                                   # no curve at 34 parameters
    assert any(p.column == "params" and "34B" in p.message for p in loaded.problems)
    (tmp_path / "t.yaml").write_text((tmp_path / "t.yaml").read_text() + "params_unit: B\n")
    rows, problems = read_wide(tmp_path / "t.csv")
    rows.to_csv(tmp_path / "c.csv", index=False)
    assert sorted(read_scores(tmp_path / "c.csv").points["params"]) == [7e9, 13e9, 34e9, 70e9]
    assert not problems


def test_an_exponent_with_a_unit_is_not_guessed(tmp_path):
    rows = _rows("MMLU", "mmlu", "acc", [0.3, 0.4, 0.5, 0.6])
    rows[0]["params"] = "7e9B"
    loaded = read_scores(_table(tmp_path, rows))
    assert len(loaded.points) == 3
    assert any("mixes an exponent with a unit" in p.message for p in loaded.problems)


def test_a_header_that_names_a_unit_is_said(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("model,family,params (B),benchmark,task,metric,score\nm,F,7,b,t,acc,0.5\n")
    message = read_scores(path).problems[0].message
    assert 'the column "params (B)" names a unit (B)' in message and "call it params" in message


def test_one_model_with_two_sizes_in_two_datasets_is_said():
    points = pd.DataFrame({"dataset": ["a", "a", "b"], "model": ["pythia-1b", "pythia-70m", "pythia-1b"],
                           "params": [1.01e9, 7e7, 8.05e8]})
    said = sizes_across_datasets(points)
    assert len(said) == 1 and "pythia-1b" in said[0].message and said[0].kept
