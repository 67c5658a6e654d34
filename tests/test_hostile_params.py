"""params.yaml against a hostile or careless user: every reader agrees on every value, nothing a
YAML parser cannot cope with reaches one, and `make params` writes what it says or nothing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from imdb_rnn.config import _dvc_reading, load_params, portable_number, smallest_limit
from imdb_rnn.errors import UserError
from imdb_rnn.params_edit import set_params

from conftest import ROOT, TEST_PARAMS

SET_PARAMS = ROOT / "tools" / "set_params.py"
# Ten levels of nine aliases: 9^10 values once expanded, in under 1 KB.
LAUGHS = "lol0: &l0 [x, x, x, x, x, x, x, x, x]\n" + "".join(f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10))
NESTED = "x: " + "[" * 800 + "]" * 800 + "\n"


@pytest.fixture
def params(tmp_path: Path) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(TEST_PARAMS.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def set_words(path: Path, words: str, **env: str) -> subprocess.CompletedProcess:
    """`make params SET=words`, as the Makefile runs it."""
    environ = {**os.environ, "SET": words, **env}
    command = [sys.executable, str(SET_PARAMS), "--params", str(path), "--words-from-env", "SET"]
    return subprocess.run(command, env=environ, capture_output=True, text=True, timeout=60)


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr


# ------------------------------------------------------------------ numbers DVC and Snakemake read alike


@pytest.mark.parametrize(
    ("words", "key", "expected", "written"),
    [
        ("train.lr=3e-4", ("train", "lr"), 0.0003, "  lr: 0.0003 "),  # set_params' own docstring example
        ("train.lr=1.0e9", ("train", "lr"), 1e9, "  lr: 1000000000.0 "),
        ("train.lr=1e-5", ("train", "lr"), 1e-5, "  lr: 1.0e-05 "),
        ("report.title='Part #1 of 2'", ("report", "title"), "Part #1 of 2", "  title: 'Part #1 of 2'\n"),
        ("report.title='Part: one'", ("report", "title"), "Part: one", "  title: 'Part: one'\n"),
        ("report.title=2021", ("report", "title"), "2021", "  title: '2021'\n"),
        ("report.title=yes", ("report", "title"), "yes", "  title: 'yes'\n"),
        ("data.sha256=" + "1" * 62 + "e1", ("data", "sha256"), "1" * 62 + "e1", "  sha256: '" + "1" * 62 + "e1'\n"),
        ("train.seeds='[1234, 1]'", ("train", "seeds"), [1234, 1], "  - 1234\n  - 1\n"),
    ],
)
def test_make_params_writes_the_value_it_prints(params, words, key, expected, written):
    done = set_words(params, words)
    assert done.returncode == 0, done.stderr
    text = params.read_text(encoding="utf-8")
    assert written in text
    # DVC's reader, Snakemake's (PyYAML) and the stages' all read the value that was set
    for reading in (_dvc_reading(text), yaml.safe_load(text)):
        assert reading[key[0]][key[1]] == expected
    assert load_params(params).model_dump()[key[0]][key[1]] == expected
    assert done.stdout.startswith(f"set_params: {params}: {'.'.join(key)}=")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("lr: 1.0e9", "train.lr: DVC (YAML 1.2) reads the number 1000000000.0, Snakemake (YAML 1.1) the text '1.0e9'; write 1000000000.0"),
        ("lr: 3e-4", "train.lr: DVC (YAML 1.2) reads the number 0.0003, Snakemake (YAML 1.1) the text '3e-4'; write 0.0003"),
        ("lr: 017", "train.lr: DVC (YAML 1.2) reads the number 17, Snakemake (YAML 1.1) the number 15; write 17"),
    ],
)
def test_a_number_the_two_yaml_versions_read_apart_is_refused_with_its_portable_spelling(params, line, message):
    params.write_text(params.read_text().replace("lr: 0.001", line), encoding="utf-8")
    with pytest.raises(UserError) as info:
        load_params(params)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_spellings_both_yaml_versions_read_alike_are_accepted(params):
    params.write_text(params.read_text().replace("lr: 0.001", "lr: 3.0e-4"), encoding="utf-8")
    assert load_params(params).train.lr == 3e-4


@pytest.mark.parametrize("value", [3e-4, 1e-5, 1e9, 1e20, 2.5e-300, 0.001, 12.0, 7])
def test_portable_numbers_read_the_same_in_yaml_1_1_and_1_2(value):
    text = f"x: {portable_number(value)}"
    assert yaml.safe_load(text)["x"] == _dvc_reading(text)["x"] == value


def test_a_yes_no_word_for_a_switch_names_both_readings(params):
    params.write_text(params.read_text().replace("bidirectional: true", "bidirectional: yes", 1), encoding="utf-8")
    with pytest.raises(UserError, match=r"models.bilstm2.bidirectional: .* write true for a yes/no value"):
        load_params(params)


def test_make_params_can_fix_a_value_the_two_versions_read_apart(params):
    params.write_text(params.read_text().replace("lr: 0.001", "lr: 3e-4"), encoding="utf-8")
    assert set_params(params, {"train.lr": "0.002"}).train.lr == 0.002


def test_a_broken_value_is_one_line_and_leaves_the_file(params):
    before = params.read_bytes()
    message = one_line_error(set_words(params, "train.seeds='[1234, 1'"))
    assert "train.seeds: '[1234, 1' is not a YAML value" in message
    assert params.read_bytes() == before


# ------------------------------------------------------------------ the form DVC writes


def test_dvc_rewrites_params_yaml_byte_for_byte_and_an_edit_diffs_to_its_line(params):
    from dvc.utils.hydra import apply_overrides

    original = params.read_text(encoding="utf-8")
    apply_overrides(str(params), ["train.lr=0.001"])  # what `dvc exp run -S train.lr=0.001` does to the file
    assert params.read_text(encoding="utf-8") == original
    apply_overrides(str(params), ["train.lr=0.002"])
    changed = [(a, b) for a, b in zip(original.splitlines(), params.read_text().splitlines(), strict=True) if a != b]
    assert changed == [("  lr: 0.001           # Adam learning rate", "  lr: 0.002           # Adam learning rate")]


def test_set_params_rewrites_params_yaml_byte_for_byte(params):
    original = params.read_text(encoding="utf-8")
    set_params(params, {"train.lr": "0.001", "data.limit": "null", "train.seeds": "[1234, 1, 2]"})
    assert params.read_text(encoding="utf-8") == original


# ------------------------------------------------------------------ what no YAML parser should see


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        (LAUGHS, "holds YAML aliases that expand to more than 100,000 values (line "),
        (NESTED, "holds nested more than 16 levels deep at line "),
        ("x: " + "9" * 5000 + "\n", "holds a value of 5,000 characters at line "),
    ],
)
def test_hostile_yaml_is_one_line_from_the_loader_and_from_make_params(params, tail, message):
    params.write_text(params.read_text() + tail, encoding="utf-8")
    before = params.read_bytes()
    with pytest.raises(UserError, match=re.escape(message)):
        load_params(params)
    assert message in one_line_error(set_words(params, "train.epochs=2"))
    assert params.read_bytes() == before


def test_a_hostile_value_on_the_command_line_is_one_line(params):
    assert "is not a YAML value (nested more than 16 levels deep" in one_line_error(set_words(params, "train.seeds=" + "[" * 800))


def test_a_huge_params_file_is_refused_unread(params):
    with open(params, "a", encoding="utf-8") as handle:
        handle.write("# " + "x" * (1 << 20) + "\n")
    with pytest.raises(UserError, match="params.yaml: more than 1,048,576 bytes, not a params file"):
        load_params(params)


def test_snakemake_prints_the_loaders_one_line_for_nested_brackets(tmp_path):
    for name, source in (("Snakefile", ROOT / "Snakefile"), ("params.yaml", TEST_PARAMS)):
        (tmp_path / name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    with open(tmp_path / "params.yaml", "a", encoding="utf-8") as handle:
        handle.write(NESTED)
    snakemake = Path(sys.executable).with_name("snakemake")
    done = subprocess.run([str(snakemake), "-n"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "error: params.yaml: holds nested more than 16 levels deep at line" in done.stderr
    assert "RecursionError" not in done.stdout + done.stderr


# ------------------------------------------------------------------ text the report prints


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("report.title", "Ψ analysis", "report.title: holds 'Ψ' (U+03A8), which report.pdf cannot set"),
        ("report.title", "作业二报告", "'二' (U+4E8C)"),
        ("report.author", "Ao 🙂", "report.author: holds '🙂' (U+1F642), which report.pdf cannot set"),
        ("report.course", "Курс", "report.course: holds 'К' (U+041A)"),
        ("models.rnn1.title", "<img src=x onerror=alert(1)>", "models.rnn1.title: holds '<', which report.md would show as HTML"),
        ("models.rnn1.title", "A &amp; B", "models.rnn1.title: holds '&amp;', which report.md would show as HTML"),
        ("models.rnn1.title", "[x](javascript:alert(1))", "holds '](', which report.md would show as HTML or a link"),
    ],
)
def test_text_the_report_cannot_print_as_written_is_refused_before_any_stage(params, key, value, message):
    before = params.read_bytes()
    with pytest.raises(UserError, match=re.escape(message)):
        set_params(params, {key: value})
    assert params.read_bytes() == before


def test_latin_text_and_an_ampersand_are_printed(params):
    report = set_params(params, {"report.author": "Łukasz Żółć — Café", "models.rnn1.title": "RNN & friends"}).report
    assert report.author == "Łukasz Żółć — Café"


# ------------------------------------------------------------------ smaller


def test_a_terminal_that_cannot_show_the_value_does_not_fail_after_the_write(params):
    done = set_words(params, "report.author='Zoë'", PYTHONIOENCODING="ascii")
    assert done.returncode == 0, done.stderr
    assert 'report.author="Zo\\xeb"' in done.stdout
    assert load_params(params).report.author == "Zoë"


@pytest.mark.parametrize(("fraction", "least"), [(0.3, 3), (0.5, 3), (0.1, 11), (0.9, 9), (0.01, 101)])
def test_data_limit_below_what_the_split_needs_is_refused(params, fraction, least):
    assert smallest_limit(fraction) == least
    set_params(params, {"data.valid_fraction": str(fraction), "data.limit": str(least)})
    with pytest.raises(UserError, match=rf"data.limit: {least - 1} reviews split by data.valid_fraction {fraction:g} leave .* use at least {least}"):
        set_params(params, {"data.limit": str(least - 1)})


def test_every_character_printed_text_allows_is_set_by_both_ways_of_making_the_pdf(tmp_path):
    """PDF_CHARACTERS against the engines: the plain PDF's DejaVu Sans Mono, and pdflatex with
    the report's font setup (T1, utf8, lmodern) where LaTeX is installed."""
    import matplotlib.font_manager as font_manager
    from matplotlib.ft2font import FT2Font

    from imdb_rnn.config import PDF_CHARACTERS
    from imdb_rnn.report.fmt import tex_escape

    mono = FT2Font(font_manager.findfont(font_manager.FontProperties(family="monospace")))
    assert not [c for c in PDF_CHARACTERS if ord(c) not in mono.get_charmap()]
    if not shutil.which("pdflatex"):
        pytest.skip("pdflatex is not installed: the plain PDF's font was checked")
    text = " ".join(tex_escape(c) for c in sorted(PDF_CHARACTERS) if c != " ")
    (tmp_path / "t.tex").write_text(
        "\\documentclass{article}\\usepackage[T1]{fontenc}\\usepackage[utf8]{inputenc}\\usepackage{lmodern}"
        f"\\begin{{document}}{text}\\par\\textbf{{{text}}}\\end{{document}}\n",
        encoding="utf-8",
    )
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp_path, capture_output=True, timeout=300)
    log = (tmp_path / "t.log").read_text(encoding="latin-1")
    assert done.returncode == 0, [line for line in log.splitlines() if line.startswith("!")]
    assert "Missing character" not in log
