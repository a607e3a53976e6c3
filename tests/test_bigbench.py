"""The BIG-bench importer: a copy of benchmark_tasks/<task>/results/scores_<model>.json, no sidecar.

The files below are written in the layout of BIG-bench's own dataclasses (bigbench/api: the
results file's `model` is a ModelData, each of `scores` a ScoreData); their numbers are made up
for the test, not BIG-bench results.
"""
import json

import pandas as pd

from analysis import importers
from analysis.importers import convert
from analysis.importers.bigbench import read_bigbench
from analysis.loading import read_scores


def _model(family, name, non_embedding, flop_matched=None, total=None):
    return {"model_family": family, "model_name": name, "total_params": total or non_embedding * 2,
            "non_embedding_params": non_embedding, "flop_matched_non_embedding_params": flop_matched or non_embedding,
            "training_batch_size": 262144, "training_steps": 1000, "description": "test model",
            "decoding_params": {}, "additional_details": ""}


def _entry(desc, shots, preferred, scores, low, high):
    return {"subtask_description": desc, "number_of_shots": shots, "preferred_score": preferred,
            "score_dict": scores, "low_score": low, "high_score": high}


def _write(path, task, model, scores):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"model": model, "scores": scores, "task": {"task_name": task}}))


def _tree(root):
    """Two tasks as in the repository: a generative one with task.json, a multiple-choice one with subtasks."""
    arith = root / "arith_demo"
    examples = [{"input": "1 + 1", "target": "2"}, {"input": "2 + 2", "target": "4"},
                {"input": "2 + 2", "target": "4"}, {"input": "3 + 4", "target": "7"}]  # one duplicate
    (arith).mkdir(parents=True)
    (arith / "task.json").write_text(json.dumps({"name": "arith_demo", "examples": examples,
                                                 "preferred_score": "exact_str_match"}))
    for name, size, em in (("2m", 2_000_000, 0.0), ("128b", 128_000_000_000, 0.5)):
        _write(arith / "results" / f"scores_BIG-G_{name}_T=0.json", "arith_demo", _model("BIG-G T=0", name, size), [
            _entry("arith_demo", shots, "exact_str_match",
                   {"exact_str_match": em, "bleu": 40.0 * em, "rouge1": 55.0, "log_likelihood": -3.5}, 0.0, 1.0)
            for shots in (0, 2)])
    mc = root / "mc_demo"
    for sub, n in (("part_a", 3), ("part_b", 2)):
        (mc / sub).mkdir(parents=True)
        (mc / sub / "task.json").write_text(json.dumps({"name": sub, "examples": [
            {"input": f"q{i}", "target_scores": {"a": 1, "b": 0, "c": 0, "d": 0}} for i in range(n)]}))
    (mc / "task.json").write_text(json.dumps({"name": "mc_demo", "description": "composite"}))
    mc_scores = {"multiple_choice_grade": 0.4, "calibration_multiple_choice_brier_score": 0.2,
                 "expected_calibration_error": 0.1, "macro_f1": 0.3, "a_custom_score": 7.0}
    _write(mc / "results" / "scores_BIG-G-sparse_2m.json", "mc_demo",
           _model("BIG-G sparse", "2m", 60_000_000, flop_matched=2_000_000, total=70_000_000), [
               _entry("mc_demo", 0, "multiple_choice_grade", mc_scores, 0.25, 1.0),
               _entry("mc_demo:part_a", 0, "multiple_choice_grade", {"multiple_choice_grade": 0.5}, 0.25, 1.0),
               _entry("programmatic text", -1, "multiple_choice_grade", {"multiple_choice_grade": 0.6}, 0.25, 1.0)])
    return root


def test_a_benchmark_tasks_tree_imports_without_sidecar_or_models_csv(tmp_path):
    rows, problems = read_bigbench(_tree(tmp_path / "demo"))
    assert set(rows["family"]) == {"BIG-G T=0", "BIG-G sparse"}
    by = rows.set_index(["model", "family", "task", "metric", "shots"])
    em = by.loc[("128b", "BIG-G T=0", "arith_demo", "exact_str_match", "2")]
    assert em["params"] == "128000000000" and em["score"] == "0.5" and em["benchmark"] == "BIG-bench"
    assert (em["unit"], em["higher_is_better"], em["chance"], em["n_items"]) == ("fraction", "true", "0.0", "3")
    assert "flop_matched_non_embedding_params" in em["source"] and "preferred" not in em["source"]
    bleu = by.loc[("128b", "BIG-G T=0", "arith_demo", "bleu", "2")]
    assert (bleu["unit"], bleu["chance"]) == ("percent", "")
    assert "not BIG-bench's preferred metric (exact_str_match)" in bleu["source"]
    # the sparse model is placed at its flop-matched size, not its total or non-embedding count
    mcg = by.loc[("2m", "BIG-G sparse", "mc_demo", "multiple_choice_grade", "0")]
    assert mcg["params"] == "2000000" and mcg["chance"] == "0.25" and mcg["n_items"] == "5"
    assert by.loc[("2m", "BIG-G sparse", "mc_demo:part_a", "multiple_choice_grade", "0"), "n_items"] == "3"
    assert by.loc[("2m", "BIG-G sparse", "mc_demo", "expected_calibration_error", "0"), "higher_is_better"] \
        == "false"
    # a programmatic subtask's free text goes after the task; -1 shots ("not applicable") is blank
    assert by.loc[("2m", "BIG-G sparse", "mc_demo:programmatic text", "multiple_choice_grade", ""), "n_items"] == ""
    # a metric whose direction nothing states is listed, not guessed
    assert "a_custom_score" not in set(rows["metric"])
    assert [(p.column, "not imported" in p.message) for p in problems] == \
        [("scores[0].score_dict.a_custom_score", True)]
    assert len(rows) == 2 * 2 * 4 + 4 + 2


def test_the_imported_rows_pass_the_contract(tmp_path):
    rows, _ = read_bigbench(_tree(tmp_path / "demo"))
    rows.to_csv(tmp_path / "demo.csv", index=False)
    loaded = read_scores(tmp_path / "demo.csv")
    assert [str(p) for p in loaded.problems] == []
    assert len(loaded.points) == len(rows)


def test_the_workflow_finds_the_dataset_and_reads_every_file(tmp_path):
    data = tmp_path / "data"
    _tree(data / "bigbench" / "demo")
    kind, source = importers.find_datasets(data)["demo"]
    assert kind == "bigbench" and source == data / "bigbench" / "demo"
    assert importers.unread_files(data) == []            # score files and task.json files are all inputs
    assert len(convert(source)[0]) == 22


def test_results_folder_copied_alone_is_read_too(tmp_path):
    _tree(tmp_path / "full")
    only = tmp_path / "only" / "arith_demo"
    only.mkdir(parents=True)
    for f in (tmp_path / "full" / "arith_demo" / "results").iterdir():
        (only / f.name).write_bytes(f.read_bytes())
    rows, problems = read_bigbench(tmp_path / "only")
    assert problems == [] and set(rows["task"]) == {"arith_demo"} and set(rows["n_items"]) == {""}


def test_malformed_files_are_named_and_the_rest_still_imported(tmp_path):
    root = _tree(tmp_path / "demo")
    results = root / "arith_demo" / "results"
    (results / "scores_broken.json").write_text('{"model": {"model_family": "GPT"')
    (results / "scores_harness.json").write_text(json.dumps({"results": {"arc_easy": {"acc": 0.5}}}))
    no_size = _model("GPT", "GPT-3 Small", 1)
    del no_size["flop_matched_non_embedding_params"]
    _write(results / "scores_GPT_GPT-3-Small.json", "arith_demo", no_size,
           [_entry("arith_demo", 0, "exact_str_match", {"exact_str_match": "n/a"}, 0.0, 1.0)])
    _write(results / "scores_GPT_GPT-3-XL.json", "arith_demo", _model("GPT", "GPT-3 XL", 10**9),
           [_entry("arith_demo", 0, "exact_str_match", {"exact_str_match": "n/a", "bleu": 1.0}, 0.0, 1.0),
            {"number_of_shots": 1}])
    rows, problems = read_bigbench(root)
    said = {(p.file.rsplit("/", 1)[-1], p.column): p.message for p in problems}
    assert said[("scores_broken.json", None)].startswith("cannot be read: is not valid JSON (line 1")
    assert "is it a BIG-bench scores_<model>.json" in said[("scores_harness.json", None)]
    assert said[("scores_GPT_GPT-3-Small.json", "model.flop_matched_non_embedding_params")].startswith(
        "has no model.flop_matched_non_embedding_params")
    assert said[("scores_GPT_GPT-3-XL.json", "scores[0].score_dict.exact_str_match")] == \
        "'n/a' is not a finite number; not imported"
    assert "has no score_dict, preferred_score" in said[("scores_GPT_GPT-3-XL.json", "scores[1]")]
    assert all(p.file.startswith(str(root)) and p.row is None for p in problems)
    assert set(rows.loc[rows["family"] == "GPT", "metric"]) == {"bleu"}
    assert len(rows) == 22 + 1                            # the good files are unaffected
    assert isinstance(rows, pd.DataFrame)


def test_the_format_example_imports_from_data_bigbench_with_no_sidecar(tmp_path):
    import shutil

    from tests.conftest import REPO
    shutil.copytree(REPO / "examples" / "bigbench" / "format-example", tmp_path / "data" / "bigbench" / "x")
    found = importers.find_datasets(tmp_path / "data")
    assert found["x"][0] == "bigbench"
    rows, problems = convert(found["x"][1])
    assert not [p for p in problems if not p.kept]
    assert set(rows["family"]) == {"example family"}
    assert sorted(set(rows["params"].astype(float))) == [2e6, 53e6, 1e9, 8e9, 137e9]   # non-embedding, from the files
    mc = rows[rows["metric"] == "multiple_choice_grade"]
    assert set(mc["chance"].astype(float)) == {0.25}
    assert set(rows.loc[rows["metric"] == "exact_str_match", "chance"].astype(float)) == {0.0}


def test_a_link_out_of_the_dataset_folder_is_said_not_read(tmp_path):
    import shutil

    from tests.conftest import REPO
    folder = tmp_path / "data" / "bigbench" / "x"
    shutil.copytree(REPO / "examples" / "bigbench" / "format-example", folder)
    outside = tmp_path / "outside.json"
    outside.write_text((folder / "example_choice" / "results" / "scores_example-family_example-2m.json").read_text())
    (folder / "example_choice" / "results" / "scores_linked.json").symlink_to(outside)
    rows, problems = convert(folder)
    assert any("scores_linked.json" in p.file and "link out of the dataset folder" in p.message for p in problems)
    assert len(rows) == 15                                 # the example's own 5 models x (2 + 1) metrics
