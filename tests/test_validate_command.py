"""`emergence-validate` and `emergence-import` as a user runs them: the problems the run would say, one line
per file, an exit status a script can act on (0 analysed, 1 rows set aside, 2 nothing to analyse), and a
quiet end when the reader of the output stops early (`| head -1`)."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

#: the console scripts that `pip install -e .` puts beside the interpreter
BIN = Path(sys.executable).parent
HEADER = "model,family,params,benchmark,task,metric,score,n_items,chance\n"
CLEAN = HEADER + "".join(f"m-{s}b,M,{s}B,MMLU,mmlu,acc,{score},14042,0.25\n"
                         for s, score in ((1, 0.26), (3, 0.31), (7, 0.45), (13, 0.55)))


def run(command: str, *args, cwd: Path) -> subprocess.CompletedProcess:
    """Run from a folder without workflow/config.yaml: the schema's defaults apply."""
    return subprocess.run([str(BIN / command), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


@pytest.fixture
def write(tmp_path):
    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path
    return write


def test_a_clean_file_exits_0_with_its_summary(write, tmp_path):
    result = run("emergence-validate", write("clean.csv", CLEAN), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f"{tmp_path / 'clean.csv'}: 4 rows read, 0 kept with warnings, 0 set aside, 1 curve"]


def test_a_warning_alone_exits_0_and_is_said(write, tmp_path):
    again = CLEAN + "m-7b,M,7B,MMLU,mmlu,acc,0.47,14042,0.25\n"  # a replicate: kept, and said
    path = write("replicate.csv", again)
    result = run("emergence-validate", path, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{path} row 6: the same model, task, metric and shots as row 4 with another score")
    assert lines[-1] == f"{path}: 5 rows read, 1 kept with warnings, 0 set aside, 1 curve"


def test_rows_set_aside_exit_1_each_named_by_file_and_row(write, tmp_path):
    path = write("bad.csv", CLEAN + "m-30b,M,30B,MMLU,mmlu,acc,85,14042,0.25\nm-0,M,0,MMLU,mmlu,acc,0.5,14042,0.25\n")
    result = run("emergence-validate", path, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f"{path} row 6: score 85 is outside 0-1 for unit fraction; if it is a percentage, set unit to percent",
        f"{path} row 7: params is 0; sizes must be positive (leave it blank if unknown)",
        f"{path}: 6 rows read, 0 kept with warnings, 2 set aside, 1 curve",
    ]


def test_an_unreadable_file_exits_2_and_the_worst_file_decides(write, tmp_path):
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\x00\x01\x02\xff" * 4096)
    result = run("emergence-validate", write("clean.csv", CLEAN), binary, tmp_path / "missing.csv", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].startswith(f"{binary}: ") and lines[-2].startswith(f"{tmp_path / 'missing.csv'}: cannot be opened")
    assert lines[2] == (f"{binary}: 0 rows read, 0 kept with warnings, 0 set aside, 0 curves; "
                        "nothing in it can be analysed")


SIDECAR = """
    model: model
    family: family
    params: params
    scores:
      MMLU:  {benchmark: MMLU, task: mmlu, metric: acc, shots: 5, chance: 0.25, n_items: 14042}
      GSM8K: {benchmark: GSM8K, task: gsm8k, metric: exact_match, shots: 5, chance: 0.0, n_items: 1319}
"""


def test_a_wide_table_is_imported_and_its_problems_name_its_rows(write, tmp_path):
    write("board.yaml", SIDECAR)
    table = write("board.csv", """
        model,family,params,MMLU,GSM8K
        m-1,M,1B,0.30,0.01
        m-3,M,3B,0.41,0.05
        m-7,M,0,45.2,0.10
        m-13,M,13B,0.55,0.20
    """)
    result = run("emergence-validate", table, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f"{table} row 4: params is 0; sizes must be positive (leave it blank if unknown) (2 scores)",
        f"{table} row 4: score 45.2 is outside 0-1 for unit fraction; if it is a percentage, set unit to percent",
        f"{table}: 8 rows imported, 0 kept with warnings, 2 set aside, 2 curves",
    ]
    write("board.csv", "model,family,params,MMLU,GSM8K\n" + "".join(
        f"m-{s},M,{s}B,{0.25 + s / 100},{s / 100}\n" for s in (1, 3, 7, 13)))
    assert run("emergence-validate", table, cwd=tmp_path).returncode == 0


def test_import_exits_as_validate_does(write, tmp_path):
    # a trailing comma on every row: a warning (read as blank), not a reason to fail
    warned = write("warned.csv", CLEAN.replace("\n", ",\n").replace("chance,\n", "chance\n", 1))
    result = run("emergence-import", warned, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "end with empty fields beyond the header" in result.stderr
    assert result.stdout.startswith("model,family,params,benchmark,task,metric,score,")
    # a percent score in a fraction file and a zero size: rows the run sets aside
    bad = write("bad.csv", CLEAN + "m-30b,M,30B,MMLU,mmlu,acc,85,14042,0.25\nm-0,M,0,MMLU,mmlu,acc,0.5,14042,0.25\n")
    result = run("emergence-import", bad, cwd=tmp_path)
    assert result.returncode == 1
    assert f"{bad} row 6: score 85 is outside 0-1" in result.stderr and f"{bad} row 7: params is 0" in result.stderr
    assert len(result.stdout.splitlines()) == 7  # the contract rows are still printed, all of them
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\x00\x01\x02\xff" * 4096)
    assert run("emergence-import", binary, cwd=tmp_path).returncode == 2


@pytest.mark.parametrize("command", ["emergence-validate", "emergence-import"])
def test_a_reader_that_stops_early_ends_the_output_quietly(command, tmp_path):
    # more output than a pipe holds (64 KiB): the command is still writing when the reader is gone
    rows = "".join(f"m-{i},M,{i + 1}B,MMLU,mmlu,acc,{'0.5' if i % 2 else '150'},14042,0.25\n" for i in range(3000))
    path = tmp_path / "long.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    # as `command long.csv | head -1`; stderr to a file, which never fills up as an unread pipe would
    with open(tmp_path / "stderr", "w") as err, subprocess.Popen([str(BIN / command), str(path)], cwd=tmp_path,
                                                                 stdout=subprocess.PIPE, stderr=err) as proc:
        first = proc.stdout.readline()
        proc.stdout.close()
        status = proc.wait(timeout=120)
    stderr = (tmp_path / "stderr").read_text()
    assert first
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert status == 1  # the file's status (rows set aside), not a crash
