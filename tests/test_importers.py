"""Importers on real harness output and a real wide table; family hygiene."""
import json
import shutil
import textwrap

import pandas as pd
import pytest

from analysis import importers
from analysis.check import import_main
from analysis.importers import convert, parse_harness_file, read_lm_eval, read_wide
from analysis.loading import check_models, read_scores, split_families
from tests.conftest import REPO

PYTHIA = REPO / "examples" / "lm-eval" / "pythia-zero-shot"
V04 = REPO / "examples" / "lm-eval" / "v0.4-sample"
WIDE = REPO / "examples" / "wide" / "obsscaling_leaderboard_v1.csv"


def test_old_harness_format_matches_the_published_pythia_table():
    rows, problems = read_lm_eval(PYTHIA)
    published = pd.read_csv(REPO / "data" / "pythia_opt_bloom_final.csv")
    published = published[(published["family"] == "Pythia (Pile)") & (published["shots"] == 0)]
    rows["score"] = rows["score"].astype(float)
    both = rows.merge(published, on=["model", "task", "metric"], suffixes=("", "_pub"))
    assert len(both) >= 490                             # every task both hold, 7 sizes
    assert (both["score"] - both["score_pub"]).abs().max() < 1e-12
    assert set(rows["shots"]) == {"0"}                  # from config.num_fewshot
    assert (rows.loc[rows["metric"] == "acc", "stderr"] != "").all()
    ppl = rows[rows["metric"] == "ppl"]
    assert (ppl["higher_is_better"] == "false").all() and (ppl["unit"] == "raw").all()
    # metrics whose direction no file states are listed, not guessed
    assert any("pct_stereotype" in p.message and "not imported" in p.message for p in problems)


def test_current_harness_format_takes_shots_items_and_direction_from_the_file():
    rows, notes = parse_harness_file(V04 / "cpu_regression_expected.json")
    by = {(r["task"], r["metric"]): r for r in rows}
    assert by[("arc_easy", "acc")]["score"] == 0.3
    assert by[("arc_easy", "acc")]["stderr"] is None          # "N/A" in the file
    assert by[("arc_easy", "acc")]["n_items"] == 10
    assert by[("arc_easy", "acc")]["shots"] == 0
    assert by[("lambada_openai", "perplexity")]["higher_is_better"] is False
    assert by[("wikitext", "bits_per_byte")]["unit"] == "raw"
    assert notes == []


def test_filter_names_become_part_of_the_metric(tmp_path):
    data = {"results": {"gsm8k": {"exact_match,strict-match": 0.1, "exact_match_stderr,strict-match": 0.01,
                                  "exact_match,flexible-extract": 0.2, "alias": "gsm8k"}},
            "n-shot": {"gsm8k": 5}, "higher_is_better": {"gsm8k": {"exact_match": True}}}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    rows, _ = parse_harness_file(path)
    assert {r["metric"] for r in rows} == {"exact_match/strict-match", "exact_match/flexible-extract"}
    assert [r["stderr"] for r in rows if r["metric"] == "exact_match/strict-match"] == [0.01]


def test_a_file_missing_from_models_csv_is_named_with_the_line_to_add(tmp_path):
    folder = tmp_path / "pythia"
    shutil.copytree(PYTHIA, folder)
    lines = (folder / "models.csv").read_text().splitlines()
    (folder / "models.csv").write_text("\n".join(l for l in lines if not l.startswith("12b")) + "\n")
    rows, problems = read_lm_eval(folder)
    msgs = [str(p) for p in problems]
    assert f"{folder}/12b_step143000.json: is not listed in {folder}/models.csv; add the line " \
           "'12b_step143000.json,<model>,<family>,<params>' (e.g. 1.4B) and rerun" in msgs
    assert "pythia-12b" not in set(rows["model"])
    assert len(set(rows["model"])) == 6                  # the others still come in


def test_models_csv_without_required_columns(tmp_path):
    (tmp_path / "models.csv").write_text("file,model\nx.json,m\n")
    rows, problems = read_lm_eval(tmp_path)
    assert rows.empty
    assert "models.csv row 1: missing column(s) family, params; the header must name file, model" in str(problems[0])


def test_wide_table_round_trips_to_the_published_long_rows():
    rows, problems = read_wide(WIDE)
    assert problems == []
    original = pd.read_csv(REPO / "data" / "obsscaling_base.csv", dtype=str, keep_default_na=False)
    original = original[original["family"].isin(set(rows["family"]))]
    cols = ["model", "family", "params", "tokens", "benchmark", "task", "metric", "shots", "score",
            "unit", "n_items", "chance", "source"]
    merged = original[cols].merge(rows[cols], on=["model", "benchmark"], suffixes=("", "_wide"))
    assert len(merged) == len(original) == len(rows)
    for c in cols:
        if c not in ("model", "benchmark"):
            assert (merged[c] == merged[c + "_wide"]).all(), c


def test_wide_table_column_not_described_is_reported(tmp_path):
    table = tmp_path / "w.csv"
    table.write_text("model,family,params,MMLU,notes\nm1,F,7B,0.5,hi\nm2,F,13B,,x\n")
    (tmp_path / "w.yaml").write_text("scores:\n  MMLU: {metric: acc, chance: 0.25}\n")
    rows, problems = read_wide(table)
    assert len(rows) == 1                                # the blank cell is "not evaluated"
    assert str(problems[0]) == (f"{table} row 1: column 'notes' is not described in {tmp_path / 'w.yaml'}; "
                                "add it under scores (with its metric) or under ignore")


def test_convert_command_prints_the_contract(capsys):
    assert import_main([str(WIDE)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("model,family,params,benchmark,task,metric,score,")
    assert len(out.splitlines()) == 257


def test_same_model_with_two_sizes_is_flagged(write_csv):
    path = write_csv("""
        model,family,params,tokens,benchmark,task,metric,score
        m-7b,F,7B,1T,b,t,acc,0.4
        m-7b,F,6.7B,1T,b,t2,acc,0.5
        m-13b,F,13B,1T,b,t,acc,0.6
    """)
    pts = read_scores(path, label="data/x.csv").points
    kept, problems = check_models(pts, "data/x.csv")
    assert list(kept["model"]) == ["m-13b"]
    assert str(problems[0]) == ("data/x.csv row 2: model 'm-7b' of family 'F' has 2 parameter counts "
                                "(6.7B, 7B) in rows 2, 3; fix params, or give the variants distinct model names")


def test_same_model_with_two_token_counts_is_flagged_unless_on_the_tokens_axis(write_csv):
    path = write_csv("""
        model,family,params,tokens,benchmark,task,metric,score
        m,F,1B,100B,b,t,acc,0.4
        m,F,1B,300B,b,t,acc,0.5
    """)
    pts = read_scores(path).points
    kept, problems = check_models(pts, "x", axis="params")
    assert kept.empty and "2 training-token counts (100B, 300B)" in problems[0].message
    kept, problems = check_models(pts, "x", axis="tokens", split_by=("params",))
    assert len(kept) == 2 and not problems


def test_split_by_makes_one_curve_per_size():
    pts = pd.DataFrame({"family": ["P", "P"], "params": [1.4e9, 1.2e10]})
    assert list(split_families(pts, ("params",))["family"]) == ["P · params 1.4B", "P · params 12B"]


@pytest.mark.parametrize("source", [PYTHIA, WIDE])
def test_convert_dispatches_on_what_it_is_given(source):
    rows, _ = convert(source)
    assert len(rows) > 100


TOY_KIND = """
    # A whole input kind: score files 'data/toy/<id>.txt', one 'model family params task score' per line.
    from pathlib import Path

    import pandas as pd

    from analysis.importers.base import Importer, contract

    COLUMNS = ["model", "family", "params", "task", "score"]


    def read(source):
        rows = pd.DataFrame([line.split() for line in Path(source).read_text().splitlines()], columns=COLUMNS)
        return contract(rows.assign(benchmark=rows["task"], metric="acc", unit="fraction", source="toy")), []


    IMPORTER = Importer(
        kind="toy",
        discover=lambda data: {p.stem: p for p in sorted((data / "toy").glob("*.txt"))},
        inputs=lambda source: [source],
        read=read,
        claims=lambda path: path.suffix == ".txt",
        layout="toy/<id>.txt",
    )
"""


@pytest.fixture
def toy_kind(tmp_path, monkeypatch):
    """A kind written as one module of a package, found the way the package finds its own."""
    package = tmp_path / "toy_kinds"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "toy.py").write_text(textwrap.dedent(TOY_KIND))
    monkeypatch.syspath_prepend(str(tmp_path))
    [importer] = importers.find_importers("toy_kinds", [str(package)])
    importers.register(importer)
    yield importer
    importers.unregister(importer.kind)


def test_a_new_input_kind_is_one_module(toy_kind, tmp_path):
    assert {"lm-eval", "wide"} <= set(importers.importers())     # the package's own kinds, found the same way
    assert importers.importers()["toy"] is toy_kind
    data = tmp_path / "data"
    (data / "toy").mkdir(parents=True)
    (data / "toy" / "mini.txt").write_text("m1 F 1B t 0.2\nm2 F 10B t 0.5\n")
    shutil.copytree(PYTHIA, data / "lm-eval" / "pythia")
    (data / "plain.csv").write_text("model,family,params,benchmark,task,metric,score\n")
    found = importers.find_datasets(data)
    assert {d: kind for d, (kind, _) in found.items()} == {"mini": "toy", "pythia": "lm-eval", "plain": None}
    assert toy_kind.inputs(found["mini"][1]) == [data / "toy" / "mini.txt"]
    rows, problems = convert(data / "toy" / "mini.txt")             # convert() dispatches to it
    assert problems == [] and list(rows["model"]) == ["m1", "m2"] and list(rows["score"]) == ["0.2", "0.5"]
    out = tmp_path / "out"
    importers.write_imported(str(data / "toy" / "mini.txt"), str(out / "mini.csv"), str(out / "mini.problems.csv"))
    assert pd.read_csv(out / "mini.csv")["task"].tolist() == ["t", "t"]
    # an id two kinds both define is refused, naming both places
    (data / "toy" / "pythia.txt").write_text("m1 F 1B t 0.2\n")
    with pytest.raises(importers.DatasetDefinedTwice, match="pythia defined twice"):
        importers.find_datasets(data)


def test_models_csv_can_only_name_the_folders_own_files(tmp_path):
    """Issue 13, 11 (security): a `file` cell pointing outside the dataset folder, at an absolute
    path, at the folder itself (blank) or at a subfolder is refused with a message; nothing is read."""
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(PYTHIA / "12b_step143000.json", outside / "private.json")
    folder = tmp_path / "data" / "lm-eval" / "pythia"
    shutil.copytree(PYTHIA, folder)
    (folder / "sub").mkdir()
    lines = (folder / "models.csv").read_text().splitlines()
    evil = ["../../../outside/private.json,evil-1,Evil,1B", f"{outside / 'private.json'},evil-2,Evil,2B",
            ",evil-3,Evil,3B", "sub,evil-4,Evil,4B"]
    (folder / "models.csv").write_text("\n".join(lines + evil) + "\n")
    rows, problems = read_lm_eval(folder)
    refused = [p for p in problems if p.column == "file"]
    assert len(refused) == 4 and all("only the folder's own files are read" in p.message for p in refused)
    assert not set(rows["model"]) & {"evil-1", "evil-2", "evil-3", "evil-4"}
    assert len(set(rows["model"])) == 7                  # the folder's own files still come in


SHARED_HARNESS = REPO.parent / "shared" / "data" / "lm-eval" / "v0.3-pythia-zero-shot"
HARNESS_FILES = SHARED_HARNESS if SHARED_HARNESS.is_dir() else PYTHIA


def _harness_tree(root):
    """A harness output tree as `lm_eval --output_path x` lays it out, from real Pythia result files: two
    models, the 70m run twice (the second run re-ran two tasks), and a group over the 160m's MMLU
    subjects (its value computed from them as the harness does: the mean weighted by items is not in the
    old files, so the plain mean; the test only needs it to be a group)."""
    runs = root / "data" / "lm-eval" / "x"
    small = json.loads((HARNESS_FILES / "70m_step143000.json").read_text())
    (runs / "EleutherAI__pythia-v1.1-70m").mkdir(parents=True)
    (runs / "EleutherAI__pythia-v1.1-70m" / "results_2023-05-01T10-00-00.json").write_text(json.dumps(small))
    rerun = {**small, "results": {t: small["results"][t] for t in ("arc_easy", "piqa")}}
    (runs / "EleutherAI__pythia-v1.1-70m" / "results_2023-06-01T09-30-00.json").write_text(json.dumps(rerun))
    big = json.loads((HARNESS_FILES / "160m_step143000.json").read_text())
    subjects = sorted(t for t in big["results"] if t.startswith("hendrycksTest-"))
    big["group_subtasks"] = {"mmlu": subjects}
    big["results"]["mmlu"] = {"acc": sum(big["results"][t]["acc"] for t in subjects) / len(subjects)}
    (runs / "EleutherAI__pythia-v1.1-160m").mkdir(parents=True)
    (runs / "EleutherAI__pythia-v1.1-160m" / "results_2023-05-02T11-00-00.json").write_text(json.dumps(big))
    return runs, small, big


def test_a_harness_output_tree_needs_no_models_csv(tmp_path):
    runs, small, big = _harness_tree(tmp_path)
    found = importers.find_datasets(tmp_path / "data")
    assert found["x"][0] == "lm-eval"
    rows, problems = convert(runs)
    assert set(rows["model"]) == {"EleutherAI/pythia-v1.1-70m", "EleutherAI/pythia-v1.1-160m"}
    assert set(rows["family"]) == {"pythia-v1.1"}
    assert rows.groupby("model")["params"].first().to_dict() == {"EleutherAI/pythia-v1.1-70m": "70M",
                                                                "EleutherAI/pythia-v1.1-160m": "160M"}
    # the 70m's tasks once each, the re-run ones from the later run
    small_rows = rows[rows["model"] == "EleutherAI/pythia-v1.1-70m"]
    assert not small_rows.duplicated(["task", "metric"]).any()
    scored, _ = parse_harness_file(runs / "EleutherAI__pythia-v1.1-70m" / "results_2023-05-01T10-00-00.json")
    assert set(small_rows["task"]) == {r["task"] for r in scored} and len(small_rows) == len(scored)
    rerun = small_rows[small_rows["task"].isin(["arc_easy", "piqa"])]
    assert rerun["source"].str.contains("results_2023-06-01").all()
    assert not small_rows[~small_rows["task"].isin(["arc_easy", "piqa"])]["source"].str.contains("2023-06").any()
    assert any("earlier runs" in p.message and p.kept for p in problems)
    # the group is not a curve of its own: its subjects are
    assert "mmlu" not in set(rows["task"]) and rows["task"].str.startswith("hendrycksTest-").any()
    assert any("group" in p.message and "mmlu" in p.message for p in problems)
    # chance and item counts come from the benchmark catalogue once the rows are read
    path = tmp_path / "x.csv"
    rows.to_csv(path, index=False)
    from analysis.validation import prepare_points
    curves, _, _ = prepare_points(path)
    arc = curves[(curves["task"] == "arc_challenge") & (curves["metric"] == "acc")]
    sciq = curves[(curves["task"] == "sciq") & (curves["metric"] == "acc")]
    assert (sciq["chance"] == 0.25).all() and (sciq["chance_source"] == "catalogue").all()
    assert len(arc) == 1 and arc["catalogue"].iat[0] == "ARC-Challenge/arc_challenge"


def test_repeated_harness_notes_are_said_once(tmp_path):
    rows, problems = read_lm_eval(PYTHIA)
    assert len(problems) <= 5                                          # was one per file, task and metric
    assert all("other(s)" in p.message or "files" in p.message for p in problems)


def test_a_harness_tree_takes_its_dataset_settings(tmp_path):
    runs, small, _ = _harness_tree(tmp_path)
    rows, problems = convert(runs, {"family_pattern": r"(pythia)-v[\d.]+", "runs": "all", "x_axis": "params"})
    assert set(rows["family"]) == {"pythia"}
    small_rows = rows[rows["model"] == "EleutherAI/pythia-v1.1-70m"]
    # every run: the re-run tasks twice (the loader counts identical scores once, as it says)
    assert (small_rows["task"] == "arc_easy").sum() == 2 * (small_rows["task"] == "sciq").sum()
    assert not any("earlier runs" in p.message for p in problems)
    rows, problems = convert(runs, {"family_pattern": "no such"})
    assert set(rows["family"]) == {"pythia-v1.1"}
    assert any("does not match 2 model name(s)" in p.message and p.kept for p in problems)
    rows, problems = convert(runs, {"family_pattern": "("})
    assert rows.empty and "is not a regular expression" in problems[0].message


def test_a_harness_tree_link_out_of_the_folder_is_said_not_read(tmp_path):
    runs, _, _ = _harness_tree(tmp_path)
    outside = tmp_path / "elsewhere.json"
    outside.write_text((runs / "EleutherAI__pythia-v1.1-160m" / "results_2023-05-02T11-00-00.json").read_text())
    (runs / "EleutherAI__pythia-v1.1-160m" / "results_2024-01-01T00-00-00.json").symlink_to(outside)
    rows, problems = convert(runs)
    assert any("results_2024-01-01" in p.file and "not a file inside the dataset folder" in p.message
               for p in problems)
    assert not rows["source"].str.contains("2024-01-01").any()


def test_the_docs_list_the_registered_input_kinds():
    """docs/USAGE.md's table of input kinds is generated from the importers' registry and kept current."""
    from analysis.importers.registry import markdown_table
    from tests.conftest import REPO
    assert markdown_table() in (REPO / "docs" / "USAGE.md").read_text(encoding="utf-8")
