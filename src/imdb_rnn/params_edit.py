"""Setting keys of params.yaml from the command line: ``make params`` and tools/set_params.py.

    from imdb_rnn.params_edit import set_params
    set_params("params.yaml", {"train.lr": "3e-4", "report.title": "Part #1 of 2"})

The file keeps its comments and is written in the form DVC writes it (``dvc exp run -S``:
block lists, null as an empty value), so an edit by either tool diffs to the lines it changed.
A value is read by the type of its key: a text key takes the words as written (``#`` and
``:`` included; ``null`` clears an optional one); any other key reads them as YAML, the way
DVC does (``3e-4`` is a number, ``[1234, 1]`` a list). Numbers are written so that YAML 1.1
(Snakemake) and 1.2 (DVC) read the same number, text is quoted where either would read it as
something else, and the new file is read back as :func:`imdb_rnn.config.load_params` reads
it before it replaces the old one: a bad value leaves the file as it was.
"""

from __future__ import annotations

import io
import os
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel

from imdb_rnn.config import (
    Params,
    TooComplexError,
    check_shape,
    parse_params,
    portable_number,
    read_params_text,
    read_params_yaml,
)
from imdb_rnn.errors import UserError
from imdb_rnn.fileio import write_text

NULL_WORDS = ("null", "Null", "NULL", "~", "")
_PLAIN_STR = "tag:yaml.org,2002:str"


def _annotation(key: str) -> Any:
    """The type ``params.yaml`` declares for a dotted key; None for a key it does not know."""
    node: Any = Params
    for part in key.split("."):
        if get_origin(node) is dict:  # models: dict[str, ModelParams]
            node = get_args(node)[1]
        elif isinstance(node, type) and issubclass(node, BaseModel) and part in node.model_fields:
            node = node.model_fields[part].annotation
        else:
            return None
    return node


def _is_text(annotation: Any) -> bool:
    """Whether a key holds text (str, a choice of words, or either of them or null)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _is_text(get_args(annotation)[0])
    if origin is Literal:
        return all(isinstance(arg, str) for arg in get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return all(_is_text(arg) for arg in get_args(annotation) if arg is not type(None))
    return annotation is str


def parse_value(key: str, text: str) -> Any:
    """What ``KEY=text`` sets: the text itself for a text key, else ``text`` read as DVC reads YAML."""
    if _is_text(_annotation(key)):
        return None if text in NULL_WORDS else text
    from ruamel.yaml import YAML
    from ruamel.yaml import YAMLError as RuamelError

    try:
        check_shape(text)
        return YAML(typ="safe").load(text)
    except (yaml.YAMLError, RuamelError, ValueError) as exc:
        detail = str(exc) if isinstance(exc, TooComplexError) else str(getattr(exc, "problem", "") or exc).strip().splitlines()[0]
        raise UserError(f"{key}: {text!r} is not a YAML value ({detail}); check its brackets and quotes, e.g. train.seeds='[1234, 1]'") from None


def _plain_str_differs(text: str) -> bool:
    """Whether YAML 1.1 (PyYAML, Snakemake) reads ``text`` written plain as anything but that text."""
    return yaml.resolver.Resolver().resolve(yaml.ScalarNode, text, (True, False)) != _PLAIN_STR


def _writer() -> Any:
    """ruamel's round-trip YAML as DVC configures it to write params, plus portable numbers and
    text quoted where YAML 1.1 would read it as a number or a yes/no."""
    from ruamel.yaml import YAML

    rt = YAML()
    rt.default_flow_style = False
    rt.preserve_quotes = True
    representer = rt.representer
    representer.add_representer(float, lambda rep, value: rep.represent_scalar("tag:yaml.org,2002:float", portable_number(value)))
    representer.add_representer(
        str,
        lambda rep, value: rep.represent_scalar(_PLAIN_STR, value, style="'") if _plain_str_differs(value) else rep.represent_str(value),
    )
    return rt


def set_params(path: str | os.PathLike[str], overrides: dict[str, Any]) -> Params:
    """Set dotted keys in a params file (``{"data.limit": "500"}``) and return the validated result.

    A string value is read by :func:`parse_value`; any other is set as it is. Setting
    ``train.seeds`` to a list without the primary seed (and not ``train.seed`` with it) makes the
    first of them the primary seed, and ``overrides`` then holds ``train.seed`` too.
    """
    from ruamel.yaml import YAMLError as RuamelError

    path = Path(path)
    text = read_params_text(path)
    # Hostile or broken text is refused before the round-trip reader (a recursive one) sees it;
    # values the two YAML versions read apart may be the very ones this edit fixes.
    read_params_yaml(text, str(path), agree=False)
    rt = _writer()
    try:
        doc = rt.load(text)
    except RuamelError as exc:
        raise UserError(f"{path}: cannot be edited ({str(exc).strip().splitlines()[0]}); fix it by hand first") from None
    for key, value in overrides.items():
        *parents, last = key.split(".")
        node = doc
        for part in parents:
            if not isinstance(node, dict) or part not in node:
                raise UserError(f"{key}: no section '{part}' in {path}")
            node = node[part]
        if not isinstance(node, dict):
            raise UserError(f"{key}: '{'.'.join(parents)}' in {path} is a value, not a section")
        node[last] = parse_value(key, value) if isinstance(value, str) else value
    _follow_seeds(doc, overrides)
    buffer = io.StringIO()
    rt.dump(doc, buffer)
    params = parse_params(read_params_yaml(buffer.getvalue(), str(path)), str(path))
    write_text(path, buffer.getvalue())
    return params


def _follow_seeds(doc: Any, overrides: dict[str, Any]) -> None:
    """New ``train.seeds`` without the primary seed, and no new ``train.seed``: the primary seed
    becomes the first of them (it must be one of them: its run gives the checkpoint and curves shown)."""
    train = doc.get("train") if isinstance(doc, dict) else None
    if "train.seeds" not in overrides or "train.seed" in overrides or not isinstance(train, dict):
        return
    seeds = train.get("seeds")
    if isinstance(seeds, list) and seeds and train.get("seed") not in seeds:
        train["seed"] = seeds[0]
        overrides["train.seed"] = str(seeds[0])  # so the caller reports it too


def value_at(params: Params, key: str) -> Any:
    """The value a dotted key has in validated params (what an edit actually set)."""
    node: Any = params.model_dump(mode="json")
    for part in key.split("."):
        node = node[part]
    return node
