"""A catalogue of bad and unusual input, as a hostile user would drop it into data/.

Each case is a data folder: one good dataset plus the bad input. The folder goes
through the steps the workflow runs (discovery, import, per-dataset analysis,
the run-wide combination; the same functions the rules' scripts call). Each
case asserts the exact message (file, row, column and fix), that the run
finishes, and that the good dataset's results are byte-identical to a run
without the bad input.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from analysis import schema
from analysis.importers import find_datasets, unread_files, write_imported
from analysis.pipeline import run_combine, run_dataset
from analysis.settings import Settings
from analysis.synthetic import simulate

SETTINGS = Settings(bootstrap=20)
H = "model,family,params,benchmark,task,metric,score,n_items,chance\n"
OUTPUTS = ("curves", "fits", "points", "problems", "mirage", "cot_gain", "compositional")


def rows(family: str = "B", task: str = "t", n: int = 6, first: int = 1, score=None) -> str:
    """n rows of one rising curve (a size per row), as contract CSV lines."""
    out = []
    for i in range(first, first + n):
        value = score if score is not None else f"{0.25 + 0.1 * (i - first):.2f}"
        out.append(f"{family.lower()}-{i}b,{family},{i}B,bench,{task},acc,{value},1000,0.25")
    return "\n".join(out) + "\n"


def run_folder(root: Path, analysed: dict[str, Path] | None = None) -> dict[str, pd.DataFrame]:
    """The workflow's steps on root/data, as its rules' scripts call them; the run's tables. `analysed`:
    datasets whose per-dataset step already ran (its folder), as a rerun of the workflow reuses it."""
    data, results = Path("data"), Path("results")
    folders = []
    for dataset, (kind, source) in find_datasets(data).items():
        if dataset in (analysed or {}):
            shutil.copytree(analysed[dataset], results / "datasets" / dataset)
            folders.append(str(results / "datasets" / dataset))
            continue
        csv, problems, origin = data / f"{dataset}.csv", [], None
        if kind:
            csv = results / "imported" / kind / f"{dataset}.csv"
            problems = [str(csv.with_suffix(".problems.csv"))]
            write_imported(str(source), str(csv), problems[0])
            origin = str(source)
        out = results / "datasets" / dataset
        run_dataset(str(csv), dataset, str(out), SETTINGS, import_problems=problems, source=origin)
        folders.append(str(out))
    run_combine(folders, {n: results / f"{n}.csv" for n in OUTPUTS}, SETTINGS,
                unread=[(p.file, p.message) for p in unread_files(data)])
    return {n: schema.read(results / f"{n}.csv", n if n in schema.TABLES else None) for n in OUTPUTS}


def messages(run) -> list[str]:
    rejected = run["problems"]
    return [f"{r.file}{'' if pd.isna(r.row) else f' row {int(r.row)}'}: {r.message}" for r in rejected.itertuples()]


@dataclass
class Case:
    files: dict  # path -> text, bytes, Link or Fifo
    expect: list[str] = field(default_factory=list)  # messages that must be in rejected.csv, exactly
    check: object = None  # a further check of the run's tables


@dataclass(frozen=True)
class Link:
    """A symbolic link to this target (outside the data folder)."""

    target: str


class Fifo:
    """A named pipe: reading it would wait for ever."""


def write(root: Path, files: dict) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Link):
            path.symlink_to(content.target)
        elif isinstance(content, Fifo):
            os.mkfifo(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def harness(results: dict | list | str) -> str:
    return results if isinstance(results, str) else json.dumps(results)


MODELS_CSV = "file,model,family,params\na.json,m-1b,H,1B\nb.json,m-2b,H,2B\n"
GOOD_JSON = {"results": {"arc": {"acc": 0.3, "acc_stderr": 0.01}}, "n-shot": {"arc": 0}}
WIDE_CSV = "model,family,params,ARC\nw-1b,W,1B,0.3\nw-2b,W,2B,0.4\nw-4b,W,4B,0.5\nw-8b,W,8B,0.6\n"
WIDE_YAML = "model: model\nfamily: family\nparams: params\nscores:\n  ARC: {metric: acc, chance: 0.25}\n"


def _names_kept(run):
    """NA-like names are names: nothing is blank or missing in the results."""
    curves, points = run["curves"], run["points"]
    assert set(curves["family"]) >= {"NA", "None"} and "null" in set(curves["task"])
    assert "NA" in set(curves["dataset"])
    assert "None" in set(points["model"])


def _trailing_commas_change_nothing(run):
    assert len(run["points"][run["points"]["dataset"] == "bad"]) == 6


CASES = {
    # ---- crashes (issue 13 items 1-5)
    "header only": Case({"data/bad.csv": H}, [
        "data/bad.csv: has a header but no rows: add one row per score, or remove the file"]),
    "empty file": Case({"data/bad.csv": ""}, [
        "data/bad.csv: is empty: write a header row, then one row per score"]),
    "models.csv without params": Case({"data/lm-eval/h/models.csv": "file,model,family\na.json,m,H\n",
                                       "data/lm-eval/h/a.json": harness(GOOD_JSON)}, [
        "data/lm-eval/h/models.csv row 1: missing column(s) params; the header must name file, model, family, "
        "params (tokens optional)"]),
    "harness file with no scores": Case({"data/lm-eval/h/models.csv": MODELS_CSV,
                                         "data/lm-eval/h/a.json": '{"results": {}}',
                                         "data/lm-eval/h/b.json": '{"results": {}}'}, [
        "data/lm-eval/h: no score could be imported from it: see the problems of its files"]),
    "harness json is a list": Case({"data/lm-eval/h/models.csv": MODELS_CSV, "data/lm-eval/h/a.json": "[]",
                                    "data/lm-eval/h/b.json": harness(GOOD_JSON)}, [
        "data/lm-eval/h/a.json: cannot be read: has no 'results' object; is it an lm-evaluation-harness "
        "output file?"]),
    "harness json broken": Case({"data/lm-eval/h/models.csv": MODELS_CSV, "data/lm-eval/h/a.json": '{"results": ',
                                 "data/lm-eval/h/b.json": harness(GOOD_JSON)}, [
        "data/lm-eval/h/a.json: cannot be read: is not valid JSON (line 1, column 13: Expecting value)"]),
    "n-shot as text": Case({"data/lm-eval/h/models.csv": MODELS_CSV,
                            "data/lm-eval/h/a.json": harness({**GOOD_JSON, "n-shot": {"arc": "5-shot"}}),
                            "data/lm-eval/h/b.json": harness(GOOD_JSON)}, [
        "data/lm-eval/h/a.json: task 'arc': n-shot '5-shot' is not a whole number ≥ 0; shots left blank"]),
    "n-shot is a list": Case({"data/lm-eval/h/models.csv": MODELS_CSV,
                              "data/lm-eval/h/a.json": harness({**GOOD_JSON, "n-shot": [5]}),
                              "data/lm-eval/h/b.json": harness(GOOD_JSON)}, [
        "data/lm-eval/h/a.json: 'n-shot' is a list, not an object: not used"]),
    "latin-1 models.csv": Case({"data/lm-eval/h/models.csv": "file,model,family,params\na.json,mod\xe8le,H,1B\n"
                                .encode("latin-1"), "data/lm-eval/h/a.json": harness(GOOD_JSON)}, [
        "data/lm-eval/h/models.csv row 2: is not UTF-8 text (byte 0xe8 on line 2; Latin-1 or Windows-1252?): "
        "save it as CSV UTF-8"]),
    "blank file cell": Case({"data/lm-eval/h/models.csv": MODELS_CSV.replace("a.json", ""),
                             "data/lm-eval/h/b.json": harness(GOOD_JSON)}, [
        "data/lm-eval/h/models.csv row 2: names '', which is not a file in data/lm-eval/h; only the folder's own "
        "files are read: give the file's name alone, or remove the line"]),
    "sidecar is a list": Case({"data/wide/w.csv": WIDE_CSV, "data/wide/w.yaml": "- model\n- family\n"}, [
        "data/wide/w.yaml: is a YAML list, not a mapping (key: value lines) with model, family, params and scores; "
        "see data/README.md for the layout"]),
    "sidecar score is a word": Case({"data/wide/w.csv": WIDE_CSV, "data/wide/w.yaml": WIDE_YAML.replace(
        "ARC: {metric: acc, chance: 0.25}", "ARC: acc")}, [
        "data/wide/w.yaml: scores: ARC: 'acc' must be a mapping such as {metric: 'acc'}; see data/README.md for "
        "the layout"]),
    "sidecar not YAML": Case({"data/wide/w.csv": WIDE_CSV, "data/wide/w.yaml": "model: [unclosed\n"}, [
        "data/wide/w.yaml row 2: is not valid YAML (line 2, column 1: expected ',' or ']', but got '<stream end>')",
        "data/wide/w.csv: no score could be imported from it: see the problems of its files"]),
    "NA-like names": Case({"data/NA.csv": H + rows("NA") + rows("None", task="null").replace(
        "none-1b", "None")}, check=_names_kept),
    "mathtext in a task": Case({"data/bad.csv": H + rows("B", task="$^$")},
                               check=lambda run: "$^$" in set(run["curves"]["task"])),
    "dots for a name": Case({"data/...csv": H + rows("B")}, [
        "data/...csv: is not read: its name gives the dataset id '..', which starts with a dot; rename the file "
        "(letters, digits, - _ and . not first)"]),
    "thousands of bad rows": Case({"data/bad.csv": H + "".join(
        f"m{i},B,{i}B,bench,t,acc,high,1000,0.25\n" for i in range(1, 1201))}, [
        "data/bad.csv row 1001: score \"high\" is not a number",
        "data/bad.csv: 200 more rows (rows 1002-1201) are set aside for problems like those listed; only the "
        "first 1,000 are listed: fix those and rerun to see the rest"]),
    "thousands of rows with an extra field": Case({"data/bad.csv": H + "".join(
        f"m{i},B,{i}B,bench,t,acc,0.5,1000,0.25,x\n" for i in range(1, 1201))}, [
        'data/bad.csv row 1001: has 10 fields but the header has 9: a value with a comma in it must be quoted '
        '("a, b"); the row is set aside',
        "data/bad.csv: 200 more rows (rows 1002-1201) are set aside for a number of fields that does not match "
        "the header; only the first 1,000 are listed: fix those and rerun to see the rest"]),
    # ---- poor messages
    "trailing comma on every row": Case({"data/bad.csv": H.replace("\n", ",\n") + rows("B").replace("\n", ",\n")}, [
        "data/bad.csv row 2: 6 rows (from row 2) end with empty fields beyond the header (a comma at the end of "
        "the line?): the extra fields are ignored"], check=_trailing_commas_change_nothing),
    "one row with an extra field": Case({"data/bad.csv": H + rows("B", n=3) + "b-9b,B,9B,bench,t,acc,0.9,1000,0.25,x\n"
                                        + rows("B", n=3, first=4)}, [
        'data/bad.csv row 5: has 10 fields but the header has 9: a value with a comma in it must be quoted '
        '("a, b"); the row is set aside']),
    "a row too short": Case({"data/bad.csv": H + rows("B", n=3) + "b-9b,B,9B,bench\n" + rows("B", n=3, first=4)}, [
        "data/bad.csv row 5: has 4 fields but the header has 9 (no task, metric, score); the row is set aside"]),
    "blank lines keep row numbers": Case({"data/bad.csv": H + "\n\n" + rows("B", n=3) + "b-9b,B,9B,bench,t,acc,"
                                         "oops,1000,0.25\n"}, ['data/bad.csv row 7: score "oops" is not a number']),
    "semicolon separated": Case({"data/bad.csv": H.replace(",", ";") + rows("B").replace(",", ";")}, [
        "data/bad.csv row 1: missing required column(s) model, family, params, benchmark, task, metric, score; "
        "the header must name model, family, params, benchmark, task, metric, score (found: "
        "model;family;params;benchmark;task;metric;score;n_items;chance); the header looks semicolon-separated: "
        "save the file as comma-separated (CSV UTF-8)"]),
    "an excel file": Case({"data/scores.xlsx": b"PK\x03\x04rest"}, [
        "data/scores.xlsx: is not read: a spreadsheet must be saved as CSV UTF-8 (data/scores.csv)"]),
    "upper-case extension": Case({"data/SCORES.CSV": H + rows("B")}, [
        "data/SCORES.CSV: is not read: rename it to SCORES.csv (lower-case .csv)"]),
    "excel saved as .csv": Case({"data/bad.csv": b"PK\x03\x04rest"}, [
        "data/bad.csv: is a spreadsheet (Excel) file, not text: save it as CSV UTF-8 (comma-separated)"]),
    "wide table problem names the table's row": Case({
        "data/wide/w.csv": WIDE_CSV.replace("w-2b,W,2B,0.4", "w-2b,W,2B,1.4"), "data/wide/w.yaml": WIDE_YAML}, [
        "data/wide/w.csv row 3: score 1.4 is outside 0-1 for unit fraction; if it is a percentage, set unit to "
        "percent"]),
    "harness problem names models.csv's row": Case({
        "data/lm-eval/h/models.csv": MODELS_CSV.replace("m-2b,H,2B", "m-2b,H,2 bilion"),
        "data/lm-eval/h/a.json": harness(GOOD_JSON), "data/lm-eval/h/b.json": harness(GOOD_JSON)}, [
        'data/lm-eval/h/models.csv row 3: params "2 bilion" is not a size; write e.g. 7000000000, 7e9 or 7B']),
    "wide table without sidecar": Case({"data/wide/w.csv": WIDE_CSV}, [
        "data/wide/w.csv: is not read: a wide table needs its sidecar data/wide/w.yaml"]),
    # ---- found by a referee trying the workflow as a hostile user
    "braces in a file name": Case({"data/a{b}.csv": H + rows("B")}, [
        "data/a{b}.csv: is not read: its name gives the dataset id 'a{b}', which holds a character that cannot be "
        "in a results path or a wildcard (/, \\, {, } or a control character); rename the file (letters, digits, "
        "- _ and . not first)"]),
    "a name Snakemake takes for a runaway rule": Case({"data/ckpt_" + "0" * 25 + ".csv": H + rows("B")}, [
        f"data/ckpt_{'0' * 25}.csv: is not read: its name gives the dataset id 'ckpt_{'0' * 25}', which ends in one "
        "piece repeated 20 times or more, which Snakemake refuses as a wildcard; rename the file (letters, digits, "
        "- _ and . not first)"]),
    "a name too long for a results file": Case({"data/wide/" + "L" * 230 + ".csv": WIDE_CSV,
                                                "data/wide/" + "L" * 230 + ".yaml": WIDE_YAML}, [
        f"data/wide/{'L' * 230}.csv: is not read: its name gives the dataset id '{'L' * 230}', which is longer than "
        "200 bytes; rename the file (letters, digits, - _ and . not first)"]),
    "a link to a file outside data/": Case({"data/evil.csv": Link("/etc/hostname")}, [
        "data/evil.csv: is not read: it is a link to something outside the data folder, and only files inside it "
        "are read; copy the file into the data folder instead"]),
    "a sidecar linked from outside": Case({"data/wide/w.csv": WIDE_CSV, "data/wide/w.yaml": Link("/etc/hostname")}, [
        "data/wide/w.yaml: is not read: it is a link to something outside the data folder, and only files inside "
        "it are read; copy the file into the data folder instead"]),
    "a named pipe": Case({"data/pipe.csv": Fifo()}, [
        "data/pipe.csv: is not read: it is not a regular file (a pipe, socket or device); save the data as a file"]),
    "an unclosed quote": Case({"data/bad.csv": H + rows("B", n=3) + 'b-9b,"B,9B,bench,t,acc,0.5,1000,0.25\n'
                               + rows("B", n=3, first=4)}, [
        'data/bad.csv row 5: has a quote (") that is not closed: it runs on to line 8, taking in lines 6-8; close '
        "the quote (or remove it)"]),
    "a 200,000-character cell": Case({"data/bad.csv": H + rows("B", n=5) + "x" * 200_000
                                      + ",B,9B,bench,t,acc,0.9,1000,0.25\n"},
                                     check=lambda run: (run["points"]["dataset"] == "bad").sum() == 6),
    "names alike but for Unicode form, case or spaces": Case({"data/bad.csv": H + rows("Caf\u00e9", n=3)
                                                              + rows("Cafe\u0301", n=3, first=4)}, [
        "data/bad.csv row 2: family 'Caf\u00e9' and 'Cafe\u0301' differ only in Unicode form, case, "
        "spaces or invisible "
        "characters: they are read as different names (separate curves); write them alike if they are one"]),
    "a row again with another source": Case({"data/bad.csv": H.replace("\n", ",source\n")
                                             + rows("B").replace("\n", ",paper\n")
                                             + rows("B", n=1, first=2, score="0.35").replace("\n", ",paper v2\n")}, [
        "data/bad.csv row 8: exact duplicate of row 3 but for its source: counted once"]),
    "a backslash beside a bar": Case({"data/bad.csv": H.replace("task,metric", "task,metric") + "".join(
        f"m{i},A\\,{i}B,B,t,\"m|s\",0.{i},1000,0.25\nn{i},A|B,{i}B,t,m\\,s,0.{9 - i},1000,0.25\n"
        for i in range(1, 7))}, check=lambda run: len(run["curves"][run["curves"]["dataset"] == "bad"]) == 2),
    "a misspelt key in a sidecar": Case({"data/wide/w.csv": WIDE_CSV, "data/wide/w.yaml": WIDE_YAML.replace(
        "chance: 0.25}", "chance: 0.25, higher_is_beter: false}")}, [
        "data/wide/w.yaml: ARC: unknown key 'higher_is_beter': did you mean \"higher_is_better\"?; see "
        "data/README.md for the layout"]),
    "a key twice in a sidecar": Case({"data/wide/w.csv": WIDE_CSV, "data/wide/w.yaml": WIDE_YAML
                                      + "  ARC: {metric: acc_norm}\n"}, [
        "data/wide/w.yaml row 6: is not valid YAML (line 6, column 3: the key 'ARC' is given twice (the second "
        "would silently win))"]),
    "an alias bomb in a sidecar": Case({"data/wide/w.csv": WIDE_CSV, "data/wide/w.yaml": WIDE_YAML + "a0: &a0 x\n"
                                        + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n"
                                                  for i in range(1, 8)) + "defaults: {source: *a7}\n"},
                                       check=lambda run: len(run["problems"].to_csv()) < 10_000),
    "models.csv names a file twice": Case({"data/lm-eval/h/models.csv": MODELS_CSV + "a.json,m-16b,H,16B\n",
                                           "data/lm-eval/h/a.json": harness(GOOD_JSON),
                                           "data/lm-eval/h/b.json": harness(GOOD_JSON)}, [
        "data/lm-eval/h/models.csv row 4: names 'a.json' again (first on row 2): one file is one model's output; "
        "this line is set aside"]),
    "a harness score that is not a number": Case({"data/lm-eval/h/models.csv": MODELS_CSV,
                                                  "data/lm-eval/h/a.json": '{"results": {"arc": {"acc": NaN}}}',
                                                  "data/lm-eval/h/b.json": harness(GOOD_JSON)}, [
        "data/lm-eval/h/a.json: task 'arc' metric 'acc': nan is not a finite number; not imported"]),
    "a title-case header": Case({"data/bad.csv": H.title() + rows("B")}, [
        'data/bad.csv row 1: column(s) read as the contract\'s lower-case names: "Model" as model, "Family" as '
        'family, "Params" as params, "Benchmark" as benchmark, "Task" as task, "Metric" as metric, "Score" as '
        'score, "N_Items" as n_items, "Chance" as chance; rename them to silence this'],
        check=lambda run: (run["points"]["dataset"] == "bad").sum() == 6),
    "a header whose last column has no name": Case({"data/bad.csv": H.replace(",chance", ",") + rows("B")}, [
        "data/bad.csv row 2: 6 rows (from row 2) have values under the header's last 1 column(s), which have no "
        "name: those values are ignored; name the column(s) to use them"],
        check=lambda run: (run["points"]["dataset"] == "bad").sum() == 6),
    "a stderr in another unit": Case({"data/bad.csv": H.replace(",chance", ",stderr,chance")
                                      + rows("B").replace(",1000,", ",1000,5,")}, [
        "data/bad.csv row 2: a stderr of B / t / acc is above 0.5, more than any score in its unit's range can "
        "have: is it written in another unit than the score? (kept as given)"]),
    "an upper-case .JSON beside models.csv": Case({"data/lm-eval/h/models.csv": MODELS_CSV,
                                                   "data/lm-eval/h/a.json": harness(GOOD_JSON),
                                                   "data/lm-eval/h/b.json": harness(GOOD_JSON),
                                                   "data/lm-eval/h/e.JSON": harness(GOOD_JSON)}, [
        "data/lm-eval/h/e.JSON: is not read: harness files must end in .json (lower case), and models.csv name "
        "them"]),
    # ---- issue 25: scores and names read as written, one bad element costs only itself
    "fractions among percentages": Case({"data/bad.csv": "model,family,params,benchmark,task,metric,score,unit,chance\n"
                                         + "".join(f"p{i},P,{2 ** i}B,b,t,acc,{v},percent,25\n" for i, v in
                                                   enumerate([0.30, 0.35, 0.40, 45, 50, 55]))}, [
        "data/bad.csv row 2: P / t / acc: scores 0.3, 0.35, 0.4 at the smaller models are fractions among "
        "percentages (the larger score 45-55, chance is 25 %): those rows are set aside; write them in percent "
        "(30, 35, 40)"], check=lambda run: (run["points"]["dataset"] == "bad").sum() == 3),
    "sidecar names YAML 1.1 would turn into other values": Case({
        "data/wide/w.csv": WIDE_CSV.replace(",ARC", ",010"),
        "data/wide/w.yaml": WIDE_YAML.replace("ARC: {metric: acc", "010: {metric: on, task: no, benchmark: 1:30")},
        check=lambda run: {("1:30", "no", "on")} == set(run["curves"].loc[run["curves"]["dataset"] == "w", [
            "benchmark", "task", "metric"]].itertuples(index=False, name=None))),
    "shots 0 and blank in one curve": Case({"data/bad.csv": H.replace("\n", ",shots\n") + "".join(
        line + ("0" if i % 2 else "") + "\n" for i, line in enumerate(rows("B").replace("\n", ",\n").splitlines()))}, [
        "data/bad.csv row 2: B / t / acc has shots 0 (row 3) and shots blank (row 2): read as two curves, zero-shot "
        "and shots not stated; write 0 on the blank rows if they are zero-shot"]),
    "a family with a trailing space": Case({"data/bad.csv": H + rows("B", n=3) + rows("B ", n=3, first=4)}, [
        "data/bad.csv row 5: family 'B ' has spaces before or after it: read as 'B' (the same name as any written "
        "without them; so is every such cell of this column)"],
        check=lambda run: set(run["curves"].loc[run["curves"]["dataset"] == "bad", "family"]) == {"B"}),
    "a size beyond any model's": Case({"data/bad.csv": H + rows("B", n=5) + "b-9,B,7e18,bench,t,acc,0.9,1000,0.25\n"}, [
        "data/bad.csv row 7: params is 7e18, read as 7e+18 parameters: more than any model has (at most 1e+14 is "
        "read); is it written in another unit? Write e.g. 7e9 or 7B"]),
    "shots beyond any prompt": Case({"data/bad.csv": H.replace("\n", ",shots\n") + rows("B").replace("\n", ",0\n")
                                     + "b-9b,B,9B,bench,t,acc,0.9,1000,0.25,1e20\n"}, [
        'data/bad.csv row 8: shots "1e20" is not a whole number from 0 to 100,000 (leave blank if not stated)']),
    "a sidecar names a column the table lacks": Case({"data/wide/w.csv": WIDE_CSV, "data/wide/w.yaml": WIDE_YAML
                                                      + "  HellaSwag: {metric: acc, chance: 0.25}\n"}, [
        "data/wide/w.csv row 1: score column 'HellaSwag' named in data/wide/w.yaml is not in the table: that column "
        "is skipped, the others are read"], check=lambda run: (run["points"]["dataset"] == "w").sum() == 4),
    "one harness file links outside": Case({"data/lm-eval/h/models.csv": MODELS_CSV,
                                            "data/lm-eval/h/a.json": Link("/etc/hostname"),
                                            "data/lm-eval/h/b.json": harness(GOOD_JSON)}, [
        "data/lm-eval/h/models.csv row 2: names 'a.json', a link to something outside data/lm-eval/h: not read (the "
        "folder's other files are); copy the file itself into the folder"],
        check=lambda run: (run["points"]["dataset"] == "h").sum() == 1),
    "a dangling link": Case({"data/dangling.csv": Link("/nonexistent/scores.csv")}, [
        "data/dangling.csv: is not read: it is a link that leads nowhere (to a file that does not exist, or round in "
        "a loop); replace it with the file itself"]),
    "a link loop": Case({"data/loop.csv": Link("loop.csv")}, [
        "data/loop.csv: is not read: it is a link that leads nowhere (to a file that does not exist, or round in a "
        "loop); replace it with the file itself"]),
    "two thousand unknown columns": Case({"data/bad.csv": H.replace("\n", "," + ",".join(f"x{i}" for i in range(2000))
                                                               + "\n") + rows("B").replace("\n", "," * 2000 + "\n")},
                                         check=lambda run: [m for m in messages(run) if "unknown column" in m] == [
        'data/bad.csv row 1: unknown columns "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9" and 1,990 more '
        "are ignored; the contract's columns are model, family, params, benchmark, task, metric, score, tokens, "
        "compute, shots, unit, higher_is_better, n_items, stderr, chance, source"]),
    "a carriage return inside a name": Case({"data/bad.csv": H + rows("B").replace(",B,", ',"a\rb",')},
                                            check=lambda run: (run["points"]["dataset"] == "bad").sum() == 6
                                            and set(run["curves"].loc[run["curves"]["dataset"] == "bad", "family"])
                                            == {"a\nb"}),
    "models.csv names a file too long for the system": Case({"data/lm-eval/h/models.csv": MODELS_CSV.replace(
        "a.json", "x" * 300), "data/lm-eval/h/b.json": harness(GOOD_JSON)}, [
        f"data/lm-eval/h/models.csv row 2: names '{'x' * 300}', which is not a file in data/lm-eval/h; only the "
        "folder's own files are read: give the file's name alone, or remove the line"]),
    "a NUL byte in one row": Case({"data/bad.csv": H + rows("B", n=3) + "b-9b,B,9B,bench,t,acc,0.9\x00,1000,0.25\n"
                                   + rows("B", n=2, first=4)}, [
        "data/bad.csv row 5: holds a NUL byte (\\0, a binary zero) in score: the row is set aside; retype the value "
        "or save the file again as CSV UTF-8"], check=lambda run: (run["points"]["dataset"] == "bad").sum() == 5),
}


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    """The good dataset alone: what every case's good results must equal."""
    root = tmp_path_factory.mktemp("good")
    good = pd.concat([simulate("emergent", 2, seed=1), simulate("smooth", 1, seed=2), simulate("flat", 1, seed=3)])
    (root / "data").mkdir()
    good.to_csv(root / "data" / "good.csv", index=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        run_folder(root)
    return root


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_costs_only_itself_with_a_message(name, good_run, tmp_path, monkeypatch):
    case = CASES[name]
    shutil.copytree(good_run / "data", tmp_path / "data")
    write(tmp_path, case.files)
    monkeypatch.chdir(tmp_path)
    # the good dataset's own step is the one good_run ran (as a rerun reuses it: each file is analysed alone);
    # what the bad file could cost it is in the run-wide step, so its rows of the run's tables are compared
    run = run_folder(tmp_path, analysed={"good": good_run / "results" / "datasets" / "good"})
    said = messages(run)
    for expected in case.expect:
        assert expected in said, "\n".join(said)
    if case.check:
        assert case.check(run) is not False
    for table in ("curves", "fits", "points"):  # the good dataset's rows of the run's tables, value for value
        # (but the run-wide q-values, `*_run`, which are the whole run's by design)
        before = pd.read_csv(good_run / "results" / f"{table}.csv").filter(regex=r"^(?!.*_run$)")
        after = pd.read_csv(tmp_path / "results" / f"{table}.csv").filter(regex=r"^(?!.*_run$)")
        pd.testing.assert_frame_equal(after[after["dataset"] == "good"].reset_index(drop=True),
                                      before[before["dataset"] == "good"].reset_index(drop=True), obj=table,
                                      check_dtype=False)
    good = run["curves"][run["curves"]["dataset"] == "good"]
    assert len(good) == 4



def test_a_run_with_nothing_to_analyse_still_writes_tables_with_headers(tmp_path, monkeypatch):
    write(tmp_path, {"data/bad.csv": H})
    monkeypatch.chdir(tmp_path)
    run_folder(tmp_path)
    for name in OUTPUTS:
        header = (tmp_path / "results" / f"{name}.csv").read_text().splitlines()[0]
        assert header.count(",") >= 3, (name, header)


def test_a_file_over_the_size_limit_is_refused_with_the_setting_named(tmp_path):
    """Issue 25: a 300 MB file ran for minutes at 5.5 GB. A file over `max_file_mb` is not read, and said;
    the limit is a setting (a small one here, so that the test writes a small file)."""
    from analysis.validation import prepare_points
    path = tmp_path / "big.csv"
    path.write_text(H + rows("B", n=6), encoding="utf-8")
    curves, _, problems = prepare_points(path, max_file_mb=0.0001)
    assert len(curves) == 0 and [p.message for p in problems] == [
        "is 0.00028 MB, more than the 0.0001 MB a data file may be (setting max_file_mb; reading takes about 50 "
        "times a file's size in memory): split it into several files in data/ (one dataset each), or raise "
        "max_file_mb on a machine with the memory"]
    assert len(prepare_points(path)[0]) == 1        # the default limit, 200 MB, reads it
