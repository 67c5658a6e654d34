"""Part 2 triplet-loss gradients: derivation, numeric checks, published verdicts, CLI."""

from __future__ import annotations

import copy
import dataclasses
import json
import runpy
import subprocess
import sys
from pathlib import Path

import pydantic
import pytest
import sympy as sp
import yaml

from imdb_rnn.errors import UserError, run_cli
from imdb_rnn.triplet import document
from imdb_rnn.triplet.document import verify
from imdb_rnn.triplet.kink import kink_point_F, measure_kink, measure_subgradients, one_sided_derivatives
from imdb_rnn.triplet.numeric import MIXED_MIN_F, numeric_checks
from imdb_rnn.triplet.problem import DEFAULT_PROBLEM, GENERIC, Problem, load_problem
from imdb_rnn.triplet.published import check_published, q4_summary, valid_triplets
from imdb_rnn.triplet.schema import VerificationDoc
from imdb_rnn.triplet.symbolic import Derivation, derive, scalar_form, to_latex, to_text

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "workflow" / "scripts" / "gradcheck.py"
NAMES = [f"f{i}" for i in range(1, 7)]
LOSSES = [f"L{i}" for i in range(1, 9)]
# Small enough to keep the suite fast, still a scalar and a vector shape.
QUICK = {"points": 2, "dims": (None, 3)}

f1, f2, f3, f4, f5, f6 = sp.symbols(NAMES)
fa, fp, fn = sp.symbols(GENERIC)


@pytest.fixture(scope="module")
def problem() -> Problem:
    return load_problem(DEFAULT_PROBLEM)


@pytest.fixture(scope="module")
def derivation(problem: Problem) -> Derivation:
    return derive(problem)


@pytest.fixture(scope="module")
def quick_result(problem: Problem) -> dict:
    return verify(problem, **QUICK)


def _raw_problem() -> dict:
    return yaml.safe_load(DEFAULT_PROBLEM.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- the problem


def test_problem_file_holds_the_reference_triplets(problem: Problem) -> None:
    assert problem.classes == (("f1", "f2", "f3"), ("f4", "f5", "f6"))
    assert problem.margin == "alpha"
    assert [t.members for t in problem.triplets] == [
        ("f1", "f2", "f5"),
        ("f1", "f3", "f4"),
        ("f2", "f1", "f6"),
        ("f2", "f3", "f4"),
        ("f3", "f1", "f5"),
        ("f5", "f6", "f2"),
        ("f6", "f4", "f3"),
        ("f6", "f4", "f2"),
    ]
    # As published, including the Q5.6 pair the issue asked to transcribe with care.
    assert problem.published.q5["L6"]["f5"] == "f2 - f6"
    assert problem.published.q5["L6"]["f6"] == "f6 - f5"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("margin"), "missing key(s) margin"),
        (lambda d: d.update(extra=1), "unknown key(s) extra"),
        (lambda d: d["triplets"]["L1"].update(positive="f4"), "not in the anchor's class"),
        (lambda d: d["triplets"]["L1"].update(negative="f3"), "is in the anchor's class"),
        (lambda d: d["triplets"]["L1"].update(positive="f1"), "anchor and positive are both f1"),
        (lambda d: d["triplets"]["L1"].update(anchor="f9"), "'f9' is not in any class"),
        (lambda d: d["published"]["q5"]["L6"].update(f5="f2 -"), "published.q5.L6.f5: cannot parse"),
        (lambda d: d["published"]["q6"].update(f1="f1 + g7"), "unknown symbol(s) g7"),
        (lambda d: d["published"]["q5"].pop("L8"), "published.q5: missing key(s) L8"),
        (lambda d: d["published"].update(q4_count="eight"), "published.q4_count"),
        (lambda d: d["published"]["q4_patterns"].append([1, 3, 2]), "published.q4_patterns[8]: expected three class numbers from 1 to 2"),
        (lambda d: d["published"].pop("q4_patterns"), "published: missing key(s) q4_patterns"),
    ],
)
def test_bad_problem_is_one_line_user_error(tmp_path: Path, edit, message: str) -> None:
    data = _raw_problem()
    edit(data)
    path = tmp_path / "problem.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(UserError) as info:
        load_problem(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_or_malformed_file_is_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        load_problem(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("classes: [\n", encoding="utf-8")
    with pytest.raises(UserError, match="not valid YAML"):
        load_problem(broken)


def test_unquoted_zero_reads_as_formula(tmp_path: Path) -> None:
    data = _raw_problem()
    data["published"]["q5"]["L1"]["f3"] = 0
    path = tmp_path / "problem.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert load_problem(path).published.q5["L1"]["f3"] == "0"


# ---------------------------------------------------------------------------- derivation


def test_q3_generic_gradients(derivation: Derivation) -> None:
    assert derivation.q3 == {"f_a": fn - fp, "f_p": fp - fa, "f_n": fa - fn}
    assert set(derivation.q3_inactive.values()) == {0}
    assert derivation.dL_dF == sp.Heaviside(sp.Symbol("F"))


def test_q5_hand_cases(derivation: Derivation) -> None:
    q5 = derivation.q5
    assert q5["L1"]["f1"] == f5 - f2
    assert q5["L1"]["f2"] == f2 - f1
    assert q5["L1"]["f5"] == f1 - f5
    assert [q5["L1"][e] for e in ("f3", "f4", "f6")] == [0, 0, 0]
    # L6: anchor f5, positive f6, negative f2 (f2 is an anchor in L3 and L4).
    assert q5["L6"]["f5"] == f2 - f6
    assert q5["L6"]["f6"] == f6 - f5
    assert q5["L6"]["f2"] == f5 - f2
    # f4 is the positive of both L7 and L8, which share the anchor f6.
    assert q5["L7"]["f4"] == q5["L8"]["f4"] == f4 - f6


def test_q6_is_the_sum_of_q5_and_matches_hand_values(derivation: Derivation) -> None:
    for e in NAMES:
        assert sp.expand(derivation.q6[e] - sum(derivation.q5[loss][e] for loss in LOSSES)) == 0
    assert derivation.q6["f4"] == f1 + f2 - 2 * f6
    assert sp.expand(derivation.q6["f1"] - (2 * (f1 - f2 - f3) + f4 + f5)) == 0


def test_q6_general_keeps_each_triplet_s_step(derivation: Derivation) -> None:
    # Derived from the summed loss, not from Q5, yet each indicator's coefficient is that Q5 row.
    for e in NAMES:
        assert derivation.q6_general[e] == {loss: derivation.q5[loss][e] for loss in LOSSES if derivation.q5[loss][e] != 0}
        assert sp.expand(sum(derivation.q6_general[e].values()) - derivation.q6[e]) == 0
    assert list(derivation.q6_general["f5"]) == ["L1", "L5", "L6"]


def test_q2_norm_form_is_the_original_s_and_the_scalar_f(derivation: Derivation) -> None:
    assert sp.latex(derivation.F_norm, order="none") == (
        r"\frac{1}{2} \left\| f_{a} - f_{p} \right\|^{2} + \alpha - \frac{1}{2} \left\| f_{a} - f_{n} \right\|^{2}"
    )
    assert sp.expand(scalar_form(derivation.F_norm) - derivation.F) == 0


def test_one_sided_derivatives_are_derived_analytically() -> None:
    left, right = one_sided_derivatives()
    assert (left["side"], left["max_value"], left["quotient"], left["limit"]) == ("left", "0", "0", "0")
    assert (right["side"], right["max_value_latex"], right["quotient"], right["limit"]) == ("right", r"\Delta h", "1", "1")


@pytest.mark.parametrize(
    ("expr", "text", "latex"),
    [
        (f5 - f2, "f5 - f2", "f_{5} - f_{2}"),
        (sp.Integer(0), "0", "0"),
        (2 * f1 - 2 * f2 + f4, "2*f1 + f4 - 2*f2", "2 f_{1} + f_{4} - 2 f_{2}"),
        (-f1 - f3, "-f1 - f3", "-f_{1} - f_{3}"),
        (sp.Rational(1, 2) * f6 - 3, "1/2*f6 - 3", "\\frac{1}{2} f_{6} - 3"),
    ],
)
def test_text_and_latex_round_trip(expr: sp.Expr, text: str, latex: str) -> None:
    assert to_text(expr, NAMES) == text
    assert to_latex(expr, NAMES) == latex
    assert sp.sympify(text) == expr


def test_text_refuses_non_linear_forms() -> None:
    with pytest.raises(ValueError, match="not a linear form"):
        to_text(f1**2, NAMES)


# --------------------------------------------------------------------------- numeric checks


def test_numeric_checks_pass_for_the_derivation(problem, derivation) -> None:
    numeric = numeric_checks(problem, derivation, **QUICK)
    assert numeric["passed"]
    assert {c["target"] for c in numeric["checks"]} == {"q3", "q5", "q6", "q2 F<0", "q6 general"}
    assert {c["method"] for c in numeric["checks"]} == {"autograd", "finite_difference"}
    assert all(g["passed"] for g in numeric["gradcheck"])
    assert numeric["min_active_F"] >= 0.5
    assert numeric["max_inactive_F"] <= -0.5 + 1e-9
    assert numeric["min_abs_mixed_F"] >= MIXED_MIN_F


def _with(derivation: Derivation, field: str, key: tuple[str, ...], expr: sp.Expr) -> Derivation:
    table = {k: (dict(v) if isinstance(v, dict) else v) for k, v in getattr(derivation, field).items()}
    if len(key) == 2:
        table[key[0]][key[1]] = expr
    else:
        table[key[0]] = expr
    return dataclasses.replace(derivation, **{field: table})


@pytest.mark.parametrize(
    ("field", "key", "wrong", "target", "worst", "gradcheck_target"),
    [
        ("q3", ("f_a",), fp - fn, "q3", "dL/df_a", "q3"),
        ("q5", ("L6", "f5"), f6 - f2, "q5", "dL6/df5", "q5+q6"),
        ("q5", ("L3", "f4"), f4 - f1, "q5", "dL3/df4", "q5+q6"),
        ("q6", ("f2",), f4 + f5 - 2 * f1 - f2 - f3, "q6", "dL/df2", "q5+q6"),
        ("q3_inactive", ("f_n",), fa - fn, "q2 F<0", "dL/df_n", None),
    ],
)
def test_every_numeric_check_catches_a_wrong_formula(problem, derivation, field, key, wrong, target, worst, gradcheck_target) -> None:
    bad = _with(derivation, field, key, wrong)
    numeric = numeric_checks(problem, bad, **QUICK)
    rows = [c for c in numeric["checks"] if c["target"] == target]
    assert rows and not any(c["passed"] for c in rows)
    assert {c["worst"] for c in rows} == {worst}
    assert all(c["passed"] for c in numeric["checks"] if c["target"] != target)
    failed_gradchecks = {g["target"] for g in numeric["gradcheck"] if not g["passed"]}
    assert failed_gradchecks == ({gradcheck_target} if gradcheck_target else set())
    assert not numeric["passed"]


def test_the_mixed_activity_check_catches_a_wrong_general_q6(problem, derivation) -> None:
    # Every triplet's term of dL/df5 wrong, so whichever half of them is active, the sum is off.
    general = {e: dict(row) for e, row in derivation.q6_general.items()}
    general["f5"] = {loss: f6 - f2 for loss in LOSSES}
    numeric = numeric_checks(problem, dataclasses.replace(derivation, q6_general=general), **QUICK)
    rows = [c for c in numeric["checks"] if c["target"] == "q6 general"]
    assert rows and not any(c["passed"] for c in rows) and {c["worst"] for c in rows} == {"dL/df5"}
    assert all(c["passed"] for c in numeric["checks"] if c["target"] != "q6 general")
    assert not numeric["passed"]


# ------------------------------------------------------------------------------ the kink


def test_kink_one_sided_derivatives() -> None:
    kink = measure_kink()
    assert kink["left_derivative"] == 0.0
    assert kink["right_derivative"] == 1.0
    assert kink["differentiable"] is False
    assert set(kink["left_quotients"]) == {0.0} and set(kink["right_quotients"]) == {1.0}


def test_operators_pick_different_subgradients_at_zero() -> None:
    assert kink_point_F() == 0.0
    measured = {row["call"]: row for row in measure_subgradients()}
    slopes = {call.split("(")[0]: row["dL_dF_at_zero"] for call, row in measured.items()}
    assert slopes == {"torch.relu": 0.0, "torch.clamp": 1.0, "torch.maximum": 0.5}
    # At the kink point the Q3 formulas give (f_n - f_p, f_p - f_a, f_a - f_n) = (1, 1, -2).
    for row in measured.values():
        s = row["dL_dF_at_zero"]
        assert row["gradients_at_kink_point"] == {"f_a": s * 1.0, "f_p": s * 1.0, "f_n": s * -2.0}


# ----------------------------------------------------------------------- published, Q4


def test_published_answers_agree_with_the_derivation(problem, derivation) -> None:
    entries = check_published(problem, derivation)
    assert len(entries) == 3 + 8 * 6 + 6
    assert all(e["agrees"] for e in entries)
    q56 = next(e for e in entries if e["target"] == "dL6/df5")
    assert q56["question"] == "Q5.6" and q56["expected"] == "f2 - f6" and q56["derived"] == "f2 - f6"
    q61 = next(e for e in entries if e["target"] == "dL/df1")
    assert q61["latex_expected"] == "2 \\left(f_{1} - f_{2} - f_{3}\\right) + f_{4} + f_{5}"


def test_wrong_published_answer_is_flagged_not_raised(problem, derivation) -> None:
    q5 = {loss: dict(row) for loss, row in problem.published.q5.items()}
    q5["L6"]["f5"] = "f6 - f2"
    q5["L2"]["f1"] = "-(f3 - f4)"  # same formula written differently: must still agree
    edited = dataclasses.replace(problem, published=dataclasses.replace(problem.published, q5=q5))
    entries = {e["target"]: e for e in check_published(edited, derivation)}
    assert entries["dL6/df5"]["agrees"] is False
    assert entries["dL6/df5"]["derived"] == "f2 - f6"
    assert sp.sympify(entries["dL6/df5"]["difference"]) == 2 * f6 - 2 * f2
    assert entries["dL2/df1"]["agrees"] is True
    assert sum(not e["agrees"] for e in entries.values()) == 1


def test_valid_triplet_count(problem) -> None:
    assert len(valid_triplets(problem.classes)) == 36
    assert len(valid_triplets([["a", "b"], ["c", "d"]])) == 2 * 1 * 2 * 2
    q4 = q4_summary(problem)
    assert (q4["total_valid"], q4["used_count"], q4["published_count"]) == (36, 8, 8)
    assert q4["used_distinct"] and q4["used_all_valid"]
    assert q4["valid_class_patterns"] == [[1, 1, 2], [2, 2, 1]]
    assert q4["valid_patterns"] == [{"pattern": [1, 1, 2], "triplets": 18}, {"pattern": [2, 2, 1], "triplets": 18}]
    assert q4["used_by_pattern"] == [{"pattern": [1, 1, 2], "losses": LOSSES[:5]}, {"pattern": [2, 2, 1], "losses": LOSSES[5:]}]


def test_q4_verdict_on_the_original_s_label_patterns(problem) -> None:
    q4 = q4_summary(problem)
    patterns = [tuple(p["pattern"]) for p in q4["published_patterns"]]
    assert patterns == [(2, 2, 2), (1, 1, 1), (2, 2, 1), (1, 1, 2), (2, 1, 1), (1, 2, 1), (2, 1, 2), (1, 2, 2)]
    assert sorted(tuple(p["pattern"]) for p in q4["published_patterns"] if p["valid"]) == [(1, 1, 2), (2, 2, 1)]
    assert sorted(map(tuple, q4["published_valid_patterns"])) == [(1, 1, 2), (2, 2, 1)]
    assert (q4["published_patterns_valid"], q4["published_patterns_checked"], q4["pattern_count"]) == (2, 8, 8)
    verdict = {tuple(p["pattern"]): (p["defects"], p["triplets"]) for p in q4["published_patterns"]}
    assert verdict[(1, 1, 2)] == ([], 18)
    assert verdict[(2, 2, 2)] == (["negative from the anchor's class"], 0)
    assert verdict[(2, 1, 1)] == (["positive not from the anchor's class"], 0)
    assert verdict[(1, 2, 1)] == (["positive not from the anchor's class", "negative from the anchor's class"], 0)


# ---------------------------------------------------------------------- the JSON contract


def _assert_contract(result: dict) -> None:
    allowed = set(sp.symbols(NAMES))
    assert list(result["q5"]) == LOSSES
    for row in result["q5"].values():
        assert list(row) == NAMES
        for text in row.values():
            assert sp.sympify(text).free_symbols <= allowed
    assert list(result["q6"]) == NAMES
    assert all(sp.sympify(text).free_symbols <= allowed for text in result["q6"].values())
    for entry in result["published"]:
        assert {"question", "expected", "derived", "agrees"} <= set(entry)
        assert isinstance(entry["agrees"], bool)
    assert {"left_derivative", "right_derivative"} <= set(result["kink"])


def test_verify_document_matches_its_schema(quick_result: dict) -> None:
    adapter = pydantic.TypeAdapter(VerificationDoc)
    adapter.validate_python(json.loads(json.dumps(quick_result)), strict=True)
    extra = copy.deepcopy(quick_result)
    extra["q4"]["unlisted"] = 1
    with pytest.raises(pydantic.ValidationError, match="unlisted"):
        adapter.validate_python(extra, strict=True)
    missing = copy.deepcopy(quick_result)
    del missing["q2"]["F_norm_latex"]
    with pytest.raises(pydantic.ValidationError, match="F_norm_latex"):
        adapter.validate_python(missing, strict=True)


def test_verify_document_shape(quick_result: dict) -> None:
    _assert_contract(quick_result)
    assert set(quick_result) >= {
        "problem", "q2", "q3", "q4", "q5", "q5_latex", "q6", "q6_latex", "q6_general", "q6_general_latex",
        "published", "kink", "numeric", "summary", "all_numeric_checks_passed",
    }  # fmt: skip
    assert quick_result["q6_general_all_active_is_q6"] is True
    assert quick_result["q6_general"]["f5"] == {"L1": "f1 - f5", "L5": "f3 - f5", "L6": "f2 - f6"}
    assert quick_result["kink"]["agrees_with_analytic"] is True
    assert quick_result["q2"]["F_norm_is_F"] is True and quick_result["q2"]["differentiable_at_zero"] is False
    assert quick_result["summary"]["by_question"] == {
        "Q3": {"checked": 3, "agreeing": 3},
        "Q5": {"checked": 48, "agreeing": 48},
        "Q6": {"checked": 6, "agreeing": 6},
    }
    assert quick_result["problem"]["symbols_latex"]["alpha"] == r"\alpha"
    assert quick_result["problem"]["triplets"][0]["activity_latex"] == r"\mathbf{1}[F_{1} > 0]"
    assert quick_result["all_numeric_checks_passed"] is True
    assert quick_result["summary"]["disagreements"] == []
    assert quick_result["q5_latex"]["L1"]["f1"] == "f_{5} - f_{2}"
    assert [r["regime"] for r in quick_result["q2"]["regimes"]] == ["F < 0", "F = 0", "F > 0"]
    json.dumps(quick_result)  # serialisable as is


def test_verify_is_deterministic(problem, quick_result: dict) -> None:
    assert verify(problem, **QUICK) == quick_result


# ---------------------------------------------------------------------------------- CLI


def test_cli_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "results" / "triplet" / "verification.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--problem", str(DEFAULT_PROBLEM), "--out", str(out), "--points", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "57/57 published answers agree" in proc.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    _assert_contract(result)
    assert result["numeric"]["dims"] == ["scalar", 1, 2, 16, 128]


@pytest.fixture(scope="module")
def cli_main():
    return runpy.run_path(str(SCRIPT))["main"]


def test_cli_wrong_published_answer_warns_and_exits_zero(tmp_path: Path, cli_main, capsys) -> None:
    data = _raw_problem()
    data["published"]["q5"]["L6"]["f5"] = "f6 - f2"
    problem = tmp_path / "problem.yaml"
    problem.write_text(yaml.safe_dump(data), encoding="utf-8")
    out = tmp_path / "v.json"
    assert run_cli(cli_main, ["--problem", str(problem), "--out", str(out), "--points", "1"]) == 0
    err = capsys.readouterr().err
    assert "warning: published Q5.6 dL6/df5 = f6 - f2 disagrees with the derivation: f2 - f6" in err
    assert json.loads(out.read_text(encoding="utf-8"))["summary"]["published_agreeing"] == 56


def test_cli_numeric_failure_exits_non_zero(tmp_path: Path, cli_main, monkeypatch, capsys, derivation) -> None:
    bad = _with(derivation, "q6", ("f3",), f3)
    monkeypatch.setattr(document, "derive", lambda problem: bad)  # where verify looks it up
    out = tmp_path / "v.json"
    with pytest.raises(SystemExit) as info:
        run_cli(cli_main, ["--out", str(out), "--points", "1"])
    assert info.value.code == 1
    assert "error: numeric check failed: q6" in capsys.readouterr().err
    assert json.loads(out.read_text(encoding="utf-8"))["all_numeric_checks_passed"] is False


def test_cli_bad_problem_file_is_exit_2(tmp_path: Path, cli_main, capsys) -> None:
    assert run_cli(cli_main, ["--problem", str(tmp_path / "absent.yaml"), "--out", str(tmp_path / "v.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: problem file") and err.count("\n") == 1
