"""params: the published run recorded the full recipe; every kind of mistake is one line naming the key.

These read the tests' own params (tests/params/recipe.yaml) and the published run's record
(dvc.lock as committed), never the project's params.yaml, which is the user's to edit.
"""

from __future__ import annotations

import copy

import pytest
import yaml

from imdb_rnn.checks.published import published_record
from imdb_rnn.checks.verify import published_params
from imdb_rnn.config import OFFICIAL_SHA256, OFFICIAL_URL, load_params, parse_params
from imdb_rnn.errors import UserError
from imdb_rnn.params_edit import set_params

from conftest import ROOT, TEST_PARAMS

RAW = yaml.safe_load(TEST_PARAMS.read_text(encoding="utf-8"))


def test_the_published_run_used_the_full_recipe_the_tests_use():
    """The params the published run recorded (dvc.lock's report stage holds the whole file, as
    committed) are the original report's recipe, and the tests' params are that recipe with the
    official archive (the run used a local copy of it)."""
    params = published_params(published_record(ROOT).lock)
    assert params.data.limit is None and params.data.vocab_size == 25000
    assert params.train.archs == ["bilstm2", "birnn2", "birnn1", "rnn1"]
    assert (params.train.epochs, params.train.batch_size, params.train.lr) == (5, 64, 1e-3)
    assert params.train.all_seeds[0] == params.train.seed
    assert [params.models[a].class_name for a in params.train.archs] == ["MyRNN", "biRNN_2", "biRNN_1", "RNN_1"]
    recipe = load_params(TEST_PARAMS)
    assert recipe.data.url == OFFICIAL_URL and recipe.data.sha256 == OFFICIAL_SHA256
    archive = {"data": {"url", "sha256"}}
    assert recipe.model_dump(exclude=archive) == params.model_dump(exclude=archive)


def _error(mutate) -> str:
    raw = copy.deepcopy(RAW)
    mutate(raw)
    with pytest.raises(UserError) as info:
        parse_params(raw)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda r: r["train"].update(epochs=0), "train.epochs: input should be greater than or equal to 1 (got 0)"),
        (lambda r: r["train"].update(lr=-0.1), "train.lr: input should be greater than 0 (got -0.1)"),
        (lambda r: r["train"].update(epochs="five"), "train.epochs: input should be a valid integer"),
        (lambda r: r["data"].update(limit=1), "data.limit: input should be greater than or equal to 2 (got 1)"),
        (lambda r: r["data"].update(valid_fraction=1.5), "data.valid_fraction: input should be less than 1"),
        (lambda r: r["data"].update(sha256="abc"), "data.sha256: string should match pattern"),
        (lambda r: r["embedding"].update(init="glove2"), "embedding.init: input should be 'random', 'word2vec' or 'glove'"),
        (lambda r: r["train"].update(epoch=3), "train.epoch: unknown key (did you mean 'epochs'?)"),
        (lambda r: r.update(trian={}), "trian: unknown key (did you mean 'train'?)"),
        (lambda r: r["models"]["rnn1"].update(hiden_dim=3), "models.rnn1.hiden_dim: unknown key (did you mean 'hidden_dim'?)"),
        (lambda r: r["train"].update(archs=["bilstm", "rnn1"]), "train.archs: unknown architecture 'bilstm' (did you mean 'bilstm2'?)"),
        (lambda r: r["train"].update(seeds=[1, 2]), "train.seeds: must include train.seed (1234)"),
        (lambda r: r["models"]["rnn1"].update(cell="transformer"), "models.rnn1.cell: input should be 'lstm', 'rnn' or 'gru'"),
        (lambda r: r["embedding"].update(init="glove"), "embedding.glove_path: must name a GloVe text file"),
        (lambda r: r["train"].update(seed=2**31), "train.seed: input should be less than or equal to 2147483647"),
        (lambda r: r["train"].update(seeds=[1234, 2**40]), "train.seeds.1: input should be less than or equal to 2147483647"),
        (lambda r: r["models"]["rnn1"].update(hidden_dim=10**9), "models.rnn1.hidden_dim: input should be less than or equal to 8192"),
        (lambda r: r["data"].update(vocab_size=10**12), "data.vocab_size: input should be less than or equal to 10000000"),
        (lambda r: r["train"].update(seeds=None), "train.seeds: list the seeds to run, e.g. [1234] (DVC's matrix needs a list, not null)"),
        # strict types: what DVC would put on a command line as written is refused
        (lambda r: r["train"].update(seeds=[1234, 1.0]), "train.seeds.1: input should be a valid integer"),
        (lambda r: r["train"].update(seeds=[1234, True]), "train.seeds.1: input should be a valid integer"),
        (lambda r: r["train"].update(seeds=[1234, "7"]), "train.seeds.1: input should be a valid integer"),
        (lambda r: r["data"].update(vocab_size=True), "data.vocab_size: input should be a valid integer"),
        (lambda r: r["train"].update(lr=float("inf")), "train.lr: input should be a finite number"),
        # text the report prints: a "|" or a line break would break its tables and headings
        (lambda r: r["models"]["rnn1"].update(title="RNN | one"), "models.rnn1.title: holds '|', which would break the report's tables"),
        (lambda r: r.update(report={"author": "A\nB"}), "report.author: holds '\\n', which would break the report's tables"),
        (lambda r: r["models"]["rnn1"].update(title=""), "models.rnn1.title: string should have at least 1 character"),
        # the embed stage writes a matrix of embedding.dim for a random start too
        (
            lambda r: (r["embedding"].update(init="random"), r["models"]["rnn1"].update(embedding_dim=50)),
            "models.rnn1.embedding_dim: 50 differs from embedding.dim 100",
        ),
    ],
)
def test_bad_params_name_the_key(mutate, expected):
    assert expected in _error(mutate)


@pytest.mark.parametrize("arch_id", ["rnn1`touch /tmp/x`", "../../../../tmp/escape", "rnn 1", "RNN1", "1rnn", "a" * 41, "rnn1;id", "$(id)"])
def test_architecture_ids_are_plain_identifiers(arch_id):
    def mutate(raw):
        raw["models"][arch_id] = raw["models"]["rnn1"]
        raw["train"]["archs"] = [arch_id]

    assert f"models: architecture id {arch_id!r} is not a plain identifier" in _error(mutate)


def test_a_params_file_that_is_not_utf8_or_a_folder_is_one_line(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_bytes(b"data:\n  url: caf\xe9\n")
    with pytest.raises(UserError, match=r"params.yaml: not UTF-8 text \(byte 0xe9 at offset 16\); save it as UTF-8"):
        load_params(bad)
    with pytest.raises(UserError, match="is a folder, not a params file"):
        load_params(tmp_path)


def test_a_key_written_twice_is_refused_in_one_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(TEST_PARAMS.read_text() + "numerics:\n  cpu: native\n")
    with pytest.raises(UserError, match=r"params.yaml: duplicate key 'numerics' at line \d+; keep one of the two"):
        load_params(path)
    with pytest.raises(UserError, match=r"params.yaml: duplicate key 'numerics' at line \d+; keep one of the two"):
        set_params(path, {"train.epochs": "2"})


def test_not_a_mapping_and_bad_yaml(tmp_path):
    with pytest.raises(UserError, match="expected a mapping"):
        parse_params([1, 2])
    bad = tmp_path / "params.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML at line"):
        load_params(bad)
    with pytest.raises(UserError, match="not found"):
        load_params(tmp_path / "missing.yaml")


def test_set_params_keeps_comments_and_refuses_bad_values(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(TEST_PARAMS.read_text())
    params = set_params(path, {"data.limit": "500", "train.seeds": "[1234, 7]"})
    assert params.data.limit == 500 and params.train.all_seeds == [1234, 7]
    text = path.read_text()
    assert "limit: 500          # reviews used per archive split" in text
    # the form DVC writes: a list one item a line, null as an empty value
    assert "  seeds:              # every seed" in text and "\n  - 1234\n  - 7\n" in text
    assert "\n  glove_path:         # init=glove" in text
    before = path.read_text()
    with pytest.raises(UserError, match="train.epochs"):
        set_params(path, {"train.epochs": "0"})
    assert path.read_text() == before


def test_new_seeds_without_the_primary_seed_make_the_first_of_them_primary(tmp_path) -> None:
    # the README's own example of a user's edit: one architecture, another seed, another rate
    path = tmp_path / "params.yaml"
    path.write_text(TEST_PARAMS.read_text())
    overrides = {"train.archs": "[rnn1]", "train.seeds": "[7]", "train.lr": "0.003"}
    params = set_params(path, overrides)
    assert (params.train.archs, params.train.seeds, params.train.seed, params.train.lr) == (["rnn1"], [7], 7, 0.003)
    assert overrides["train.seed"] == "7"  # reported with the rest
    # a primary seed among the new seeds stays, and one set with them is taken as given
    assert set_params(path, {"train.seeds": "[5, 7]"}).train.seed == 7
    assert set_params(path, {"train.seeds": "[5, 8]", "train.seed": "8"}).train.seed == 8
