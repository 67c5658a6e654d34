"""The pipeline's single configuration, ``params.yaml``, validated on load.

    from imdb_rnn.config import load_params
    params = load_params("params.yaml")      # raises UserError naming the bad key

Every key has a type, a range and a default; an unknown key (a typo) is an error that
names it and suggests the closest valid key.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import json
import os
import re
import unicodedata
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from imdb_rnn.errors import UserError
from imdb_rnn.fileio import write_text

OFFICIAL_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
OFFICIAL_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="64 lower-case hex digits")]
# Architecture ids name folders and files and go on the tools' command lines: plain identifiers only.
ARCH_ID = re.compile(r"[a-z][a-z0-9_]{0,39}")
# Seeds name files (seed<k>) and seed numpy, torch and gensim: kept to what all of them take.
MAX_SEED = 2**31 - 1
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]


class _Section(BaseModel):
    # strict: no coercion, so 1234.0, true or "1234" are not a seed (DVC would put them on a
    # command line and in file names as written); no infinite or NaN floats.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class DataParams(_Section):
    url: str = Field(OFFICIAL_URL, min_length=1, description="http(s) URL, file:// URL or local path of the archive")
    sha256: Sha256 = Field(OFFICIAL_SHA256, description="sha256 of the archive")
    limit: int | None = Field(None, ge=2, le=10_000_000, description="reviews used per archive split; null = all")
    seed: Seed = Field(1234, description="seed of the train/validation split")
    valid_fraction: float = Field(0.3, gt=0, lt=1, description="validation share of the training reviews")
    vocab_size: int = Field(25000, ge=1, le=10_000_000, description="most frequent training tokens kept")


class EmbeddingParams(_Section):
    init: Literal["random", "word2vec", "glove"] = Field("word2vec", description="how the embedding starts")
    dim: int = Field(100, ge=1, le=4096, description="embedding width")
    glove_path: str | None = Field(None, description="GloVe text file when init=glove")
    seed: Seed = Field(1, description="word2vec seed")
    epochs: int = Field(5, ge=1, le=1000, description="word2vec epochs")
    window: int = Field(5, ge=1, le=1000, description="word2vec window")
    min_count: int = Field(5, ge=1, le=1_000_000, description="word2vec minimum count")

    @model_validator(mode="after")
    def _glove_needs_path(self) -> EmbeddingParams:
        if self.init == "glove" and not self.glove_path:
            raise ValueError("embedding.glove_path: must name a GloVe text file when embedding.init is glove")
        return self


def _printable(text: str) -> str:
    """Text the report prints: no '|' or backtick (they break Markdown tables and code) and no
    control characters or line breaks (they break a heading or a table row)."""
    bad = sorted({c for c in text if c in "|`" or unicodedata.category(c).startswith("C")})
    if bad:
        raise ValueError(f"holds {', '.join(repr(c) for c in bad)}, which would break the report's tables; remove it")
    return text


PrintedText = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_printable)]


class ModelParams(_Section):
    class_name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="class name print(model) shows")
    title: PrintedText = Field(description="name in the report")
    cell: Literal["lstm", "rnn", "gru"] = Field(description="recurrent cell")
    embedding_dim: int = Field(100, ge=1, le=4096)
    hidden_dim: int = Field(200, ge=1, le=8192)
    num_layers: int = Field(1, ge=1, le=16)
    bidirectional: bool = False
    dropout: float = Field(0.5, ge=0, lt=1)
    family: PrintedText | None = Field(
        None, description="the group the report discusses this model with (e.g. tanh RNN); null = by cell: LSTM, GRU or tanh RNN"
    )

    @property
    def family_name(self) -> str:
        """The report's group for this model: ``family``, else named after its cell."""
        return self.family or {"lstm": "LSTM", "gru": "GRU", "rnn": "tanh RNN"}[self.cell]


class TrainParams(_Section):
    archs: list[str] = Field(min_length=1, description="architecture ids to train")
    epochs: int = Field(5, ge=1, le=1000, description="training epochs")
    seed: Seed = Field(1234, description="the primary seed: its run gives the checkpoint and curves shown")
    seeds: list[Seed] | None = Field(None, min_length=1, max_length=1000, description="every seed to run per architecture; null = [seed]")
    batch_size: int = Field(64, ge=1, le=65536, description="batch size")
    lr: float = Field(1e-3, gt=0, description="learning rate of train.optimizer")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    clip_norm: float | None = Field(
        None, gt=0, le=1e6, description="rescale each batch's gradients to at most this L2 norm before the step; null = no clipping (the original)"
    )
    optimizer: Literal["adam", "sgd"] = Field("adam", description="adam (the lineage's upgraded tutorials) | sgd (plain SGD, its first tutorial)")
    batching: Literal["bucketed", "padded"] = Field(
        "bucketed",
        description="bucketed: equal-length training batches, every review read to its own end | "
        "padded: tutorial-style batches padded to their longest member and read through the padding",
    )
    checkpoint: Literal["best", "last"] = Field("best", description="weights tested: best = lowest validation loss | last = the last epoch's")

    @model_validator(mode="after")
    def _seed_among_seeds(self) -> TrainParams:
        if self.seeds is None:
            return self
        if self.seed not in self.seeds:
            raise ValueError(f"train.seeds: must include train.seed ({self.seed}); got {self.seeds}")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"train.seeds: a seed is listed twice in {self.seeds}")
        return self

    @property
    def all_seeds(self) -> list[int]:
        """Every seed to run, the primary ``seed`` first."""
        return [self.seed] + [s for s in self.seeds or [] if s != self.seed]


class NumericsParams(_Section):
    cpu: Literal["avx2", "native"] = Field(
        "avx2", description="CPU kernels: avx2 = the same on every x86-64 CPU (see imdb_rnn.numerics); native = each library's own pick"
    )


class ReportParams(_Section):
    title: PrintedText = "Assignment2 Report"
    course: PrintedText = "COMP-5900V 2021 Winter"
    author: PrintedText = "Ao Peng"


class Params(_Section):
    data: DataParams = DataParams()
    embedding: EmbeddingParams = EmbeddingParams()
    train: TrainParams
    models: dict[str, ModelParams]
    numerics: NumericsParams = NumericsParams()
    report: ReportParams = ReportParams()

    @model_validator(mode="after")
    def _cross_checks(self) -> Params:
        if self.train.seeds is None:
            raise ValueError(f"train.seeds: list the seeds to run, e.g. [{self.train.seed}] (DVC's matrix needs a list, not null)")
        for arch in self.models:
            if not ARCH_ID.fullmatch(arch):
                raise ValueError(
                    f"models: architecture id {arch!r} is not a plain identifier; use lower-case letters, digits and _ "
                    "(starting with a letter, at most 40 characters): ids name files and go on command lines"
                )
        for arch in self.train.archs:
            if arch not in self.models:
                raise ValueError(f"train.archs: unknown architecture '{arch}'{_suggest(arch, self.models)}; known: {', '.join(self.models)}")
        if len(set(self.train.archs)) != len(self.train.archs):
            raise ValueError("train.archs: an architecture is listed twice")
        for arch, model in self.models.items():
            # The embed stage writes a [vocab, embedding.dim] matrix for every init (random too).
            if model.embedding_dim != self.embedding.dim:
                raise ValueError(
                    f"models.{arch}.embedding_dim: {model.embedding_dim} differs from embedding.dim {self.embedding.dim}; make them equal"
                )
        return self


def _suggest(word: str, candidates: Any) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """Valid keys of the section that ``loc`` points into (for suggestions)."""
    node: Any = Params
    for part in loc[:-1]:
        if get_origin(node) is dict:  # e.g. models: dict[str, ModelParams] -> the arch's section
            node = get_args(node)[1]
        elif isinstance(node, type) and issubclass(node, BaseModel) and part in node.model_fields:
            node = node.model_fields[part].annotation
        else:
            return []
    if isinstance(node, type) and issubclass(node, BaseModel):
        return list(node.model_fields)
    return []


def _format(error: dict[str, Any]) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(p) for p in loc) or "params"
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{key}: unknown key{_suggest(str(loc[-1]), _fields_at(loc))}"
    if kind == "missing":
        return f"{key}: required key is missing"
    message = error["msg"].removeprefix("Value error, ")
    if kind == "value_error" and ":" in message.split(" ")[0]:
        return message
    got = error.get("input")
    shown = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
    return f"{key}: {message[0].lower() + message[1:]}{shown}"


def parse_params(raw: Any, source: str = "params.yaml") -> Params:
    """Validate an already-loaded mapping; raise UserError with one line per problem, joined."""
    if not isinstance(raw, dict):
        raise UserError(f"{source}: expected a mapping of sections (data, train, models, …)")
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(_format(e) for e in exc.errors())
        raise UserError(f"{source}: {problems}") from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key written twice in one mapping (PyYAML keeps the
    last silently, DVC refuses the file: the tools would disagree)."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def load_yaml(text: str) -> Any:
    """Safe YAML that refuses duplicate keys (raises yaml.YAMLError)."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def load_params(path: str | os.PathLike[str] = "params.yaml") -> Params:
    """Read and validate ``params.yaml``."""
    path = Path(path)
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: not found; run from the project root or pass --params") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, not a params file; pass the params.yaml file") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); save it as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = str(getattr(exc, "problem", "") or "")
        if problem.startswith("duplicate key"):
            raise UserError(f"{path}: {problem}{where}; keep one of the two") from None
        raise UserError(f"{path}: not valid YAML{where}; fix the syntax") from None
    return parse_params(raw, str(path))


def params_hash(params: Params) -> str:
    """A short, stable fingerprint of the resolved configuration."""
    blob = json.dumps(params.model_dump(mode="json"), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def set_params(path: str | os.PathLike[str], overrides: dict[str, str]) -> Params:
    """Set dotted keys in a params file (``{"data.limit": "500"}``), keeping its comments.

    Values are read as YAML (``null``, ``3e-4``, ``[1, 2]``). The result is validated before
    the file is replaced, so a bad value leaves the file as it was.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedSeq

    path = Path(path)
    rt = YAML()
    rt.preserve_quotes = True
    rt.representer.add_representer(type(None), lambda rep, _: rep.represent_scalar("tag:yaml.org,2002:null", "null"))
    try:
        doc = rt.load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: not found") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except Exception as exc:  # ruamel's parser and duplicate-key errors share no base class with yaml's
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise UserError(f"{path}: cannot be edited ({first}); fix it by hand first") from None
    for key, text in overrides.items():
        *parents, last = key.split(".")
        node = doc
        for part in parents:
            if not isinstance(node, dict) or part not in node:
                raise UserError(f"{key}: no section '{part}' in {path}")
            node = node[part]
        value = yaml.safe_load(text) if isinstance(text, str) else text
        if isinstance(value, list):  # keep lists on one line, as params.yaml writes them
            value = CommentedSeq(value)
            value.fa.set_flow_style()
        node[last] = value
    parse_params(json.loads(json.dumps(doc)), str(path))
    buffer = io.StringIO()
    rt.dump(doc, buffer)
    write_text(path, buffer.getvalue())
    return load_params(path)
