"""The pipeline's single configuration, ``params.yaml``, validated on load.

    from imdb_rnn.config import load_params
    params = load_params("params.yaml")      # raises UserError naming the bad key

Every key has a type, a range and a default; an unknown key (a typo) is an error that
names it and suggests the closest valid key.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import unicodedata
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from imdb_rnn.errors import UserError

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


def _split_sizes(limit: int, valid_fraction: float) -> tuple[int, int]:
    """(training, validation) reviews the prepare stage makes of ``limit`` reviews of the
    official archive (as many positive as negative), as imdb_rnn.data.prepare draws and splits them."""
    positive = round(limit * 0.5)
    valid = sum(round(n * valid_fraction) for n in (limit - positive, positive))
    return limit - valid, valid


def smallest_limit(valid_fraction: float) -> int:
    """The least ``data.limit`` that leaves both the training and the validation split a review."""
    # A label of n reviews gives validation one from n * f > 1/2 and keeps one from n * (1 - f) > 1/2.
    start = max(2, 2 * int(0.5 / min(valid_fraction, 1 - valid_fraction)) - 2)
    return next(limit for limit in range(start, start + 8) if min(_split_sizes(limit, valid_fraction)) >= 1)


class DataParams(_Section):
    url: str = Field(OFFICIAL_URL, min_length=1, description="http(s) URL, file:// URL or local path of the archive")
    sha256: Sha256 = Field(OFFICIAL_SHA256, description="sha256 of the archive")
    limit: int | None = Field(None, ge=2, le=10_000_000, description="reviews used per archive split; null = all")
    seed: Seed = Field(1234, description="seed of the train/validation split")
    valid_fraction: float = Field(0.3, gt=0, lt=1, description="validation share of the training reviews")
    vocab_size: int = Field(25000, ge=1, le=10_000_000, description="most frequent training tokens kept")

    @model_validator(mode="after")
    def _limit_leaves_both_splits(self) -> DataParams:
        if self.limit is not None and min(_split_sizes(self.limit, self.valid_fraction)) < 1:
            least = smallest_limit(self.valid_fraction)
            raise ValueError(
                f"data.limit: {self.limit} reviews split by data.valid_fraction {self.valid_fraction:g} leave the training or the "
                f"validation split empty; use at least {least} (or null for all)"
            )
        return self


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


# What both ways of making report.pdf can set: pdflatex with the report's T1 + lmodern preamble
# (TeX Live's utf8 tables for T1/TS1) and, without LaTeX, matplotlib's DejaVu Sans Mono. That is
# printable ASCII, Latin-1 and Latin Extended-A but for nine letters T1 lacks, and common
# typography. Greek, Cyrillic, CJK or emoji stop pdflatex ("Unicode character … not set up")
# and print as boxes in the plain PDF; setting them would take a Unicode TeX engine and CJK
# fonts (texlive-xetex and fonts-noto-cjk: 68 MB to download, 107 MB installed).
PDF_CHARACTERS = frozenset(
    [chr(c) for c in range(0x20, 0x7F)] + [chr(c) for c in range(0xA0, 0x180) if chr(c) not in "ĦħĸĿŀŉŦŧſ"] + list("‐–—‘’‚“”„†‡•…‰‹›€™←↑→↓")
)
# report.md is Markdown, which passes HTML through as markup: a tag, an entity or a link
# written in a title would be rendered, not printed.
_MARKUP = re.compile(r"[<>]|&(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#[xX][0-9A-Fa-f]+);|\]\(")


def _printable(text: str) -> str:
    """Text the report prints: no '|' or backtick (they break Markdown tables and code), no
    control characters or line breaks (they break a heading or a table row), no HTML or link
    markup (report.md would render it) and nothing report.pdf cannot set."""
    bad = sorted({c for c in text if c in "|`" or unicodedata.category(c).startswith("C")})
    if bad:
        raise ValueError(f"holds {', '.join(repr(c) for c in bad)}, which would break the report's tables; remove it")
    markup = _MARKUP.search(text)
    if markup:
        raise ValueError(f"holds {markup.group()!r}, which report.md would show as HTML or a link, not as text; remove it")
    unset = sorted(set(text) - PDF_CHARACTERS)
    if unset:
        shown = ", ".join(f"'{c}' (U+{ord(c):04X})" for c in unset)
        raise ValueError(f"holds {shown}, which report.pdf cannot set (Latin letters and common punctuation only); remove or transliterate it")
    return text


PrintedText = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_printable)]


def printable(text: str) -> str:
    """``text`` if the report can print it as it is (see :data:`PrintedText`); ValueError naming the problem otherwise."""
    return _printable(text)


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


# What a params file may hold: params.yaml is 4 KB, 3 levels deep, about 100 values. Past
# these it is not a params file, and the YAML readers cannot cope: PyYAML's and ruamel's
# (DVC's) composers recurse once per level (800 nested brackets: RecursionError), and a 4 KB
# file of aliases to aliases (a "billion laughs") expands to 10^9 values where DVC walks it.
MAX_PARAMS_BYTES = 1 << 20
MAX_DEPTH = 16
MAX_VALUES = 100_000
MAX_SCALAR = 4096


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


class TooComplexError(yaml.YAMLError):
    """A YAML text past :data:`MAX_DEPTH`, :data:`MAX_VALUES` or :data:`MAX_SCALAR`; the
    message says which and where."""


def check_shape(text: str) -> None:
    """Refuse, before any YAML reader builds it, a text nested or expanded past the limits.

    PyYAML's event parser keeps a stack, not a recursion, so walking its events is safe on any
    text; an alias counts as every value of the node it names.
    """
    depth = values = 0
    sizes: dict[str, int] = {}
    opened: list[tuple[str | None, int]] = []
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth, values = depth + 1, values + 1
            opened.append((event.anchor, values))
            if depth > MAX_DEPTH:
                raise TooComplexError(f"nested more than {MAX_DEPTH} levels deep at line {line}; params.yaml needs 3, check the brackets")
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
            anchor, first = opened.pop()
            if anchor:
                sizes[anchor] = values - first + 1
        elif isinstance(event, yaml.ScalarEvent):
            values += 1
            sizes.update({event.anchor: 1} if event.anchor else {})
            if len(event.value) > MAX_SCALAR:
                raise TooComplexError(f"a value of {len(event.value):,} characters at line {line}, more than {MAX_SCALAR:,}; shorten it")
        elif isinstance(event, yaml.AliasEvent):
            values += sizes.get(event.anchor, 1)
        if values > MAX_VALUES:
            raise TooComplexError(
                f"YAML aliases that expand to more than {MAX_VALUES:,} values (line {line}); write the values out (params.yaml holds about 100)"
            )


def load_yaml(text: str) -> Any:
    """Safe YAML (PyYAML, YAML 1.1) that refuses duplicate keys and texts past the limits of
    :func:`check_shape` (raises yaml.YAMLError)."""
    check_shape(text)
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise TooComplexError(str(exc).split(";")[0]) from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, TooComplexError):
        return f"holds {exc}"
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}" if mark else ""
    problem = str(getattr(exc, "problem", "") or "")
    if problem.startswith("duplicate key"):
        return f"{problem}{where}; keep one of the two"
    return f"not valid YAML{where} ({problem or exc.__class__.__name__}); fix the syntax"


def _dvc_reading(text: str) -> Any:
    """``text`` as DVC reads params: ruamel.yaml's safe loader (YAML 1.2), what
    ``dvc.utils.serialize.parse_yaml`` uses."""
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(text)


def portable_number(value: int | float) -> str:
    """``value`` spelled so that YAML 1.1 and 1.2 read the same number: 0.0003, 1.0e-05, 1.0e+20
    (1.1 wants a dot and a signed exponent, e.g. not 3e-4)."""
    text = repr(value)
    mantissa, e, exponent = text.partition("e")
    if not e or not isinstance(value, float):
        return text
    return f"{mantissa if '.' in mantissa else mantissa + '.0'}e{exponent if exponent[0] in '+-' else '+' + exponent}"


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and (a == b or (isinstance(a, float) and a != a and b != b))


def _disagreement(snakemake: Any, dvc: Any, key: str = "") -> str | None:
    """Where the YAML 1.1 reading (Snakemake's config, PyYAML) and the 1.2 one (DVC's) of a
    params file differ, as one line; None if they agree."""
    if isinstance(snakemake, dict) and isinstance(dvc, dict):
        if list(snakemake) != list(dvc):
            odd = next(str(k) for k, d in zip(snakemake, dvc, strict=False) if not _same(k, d))
            return f"{key or 'a key'} {odd!r} reads as a key of another kind in DVC (YAML 1.2) and Snakemake (YAML 1.1); quote it"
        found = (_disagreement(v, dvc[k], f"{key}.{k}".lstrip(".")) for k, v in snakemake.items())
        return next((d for d in found if d), None)
    if isinstance(snakemake, list) and isinstance(dvc, list) and len(snakemake) == len(dvc):
        found = (_disagreement(s, d, f"{key}.{i}") for i, (s, d) in enumerate(zip(snakemake, dvc, strict=True)))
        return next((d for d in found if d), None)
    if _same(snakemake, dvc):
        return None
    if isinstance(dvc, (int, float)) and not isinstance(dvc, bool):
        fix = f"write {portable_number(dvc)}"
    elif isinstance(snakemake, bool) and isinstance(dvc, str):
        fix = f"write {str(snakemake).lower()} for a yes/no value, or '{dvc}' (quoted) for text"
    else:
        fix = f"write '{dvc}' (quoted) for text"
    return f"{key}: DVC (YAML 1.2) reads {_reading(dvc)}, Snakemake (YAML 1.1) {_reading(snakemake)}; {fix}, so that both read it alike"


def _reading(value: Any) -> str:
    if isinstance(value, bool):
        return f"the yes/no value {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return f"the text {value!r}" if isinstance(value, str) else repr(value)


def read_params_text(path: Path) -> str:
    """The text of a params file, refused in one line if it is missing, huge or not UTF-8."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_PARAMS_BYTES + 1)
    except FileNotFoundError:
        raise UserError(f"{path}: not found; run from the project root or pass --params") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, not a params file; pass the params.yaml file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror or exc}); check its permissions") from None
    if len(data) > MAX_PARAMS_BYTES:
        raise UserError(f"{path}: more than {MAX_PARAMS_BYTES:,} bytes, not a params file (params.yaml is about 4 KB); check the path")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); save it as UTF-8") from None


def read_params_yaml(text: str, source: str = "params.yaml", agree: bool = True) -> Any:
    """The mapping a params text holds, as DVC reads it, refused in one line where it is not
    YAML, is hostile (:func:`check_shape`) or, with ``agree``, where Snakemake reads a value
    otherwise than DVC does (YAML 1.1 against 1.2: ``3e-4``, ``yes``, ``017``, ``1:30``)."""
    from ruamel.yaml import YAMLError as RuamelError

    try:
        snakemake = load_yaml(text)
    except yaml.YAMLError as exc:
        raise UserError(f"{source}: {_yaml_problem(exc)}") from None
    try:
        dvc = _dvc_reading(text)
    except (RuamelError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise UserError(f"{source}: DVC's YAML reader refuses it ({first}); fix the syntax") from None
    problem = _disagreement(snakemake, dvc) if agree else None
    if problem:
        raise UserError(f"{source}: {problem}")
    return dvc


def load_params(path: str | os.PathLike[str] = "params.yaml") -> Params:
    """Read and validate ``params.yaml``, every value as DVC and Snakemake both read it."""
    path = Path(path)
    return parse_params(read_params_yaml(read_params_text(path), str(path)), str(path))


def params_hash(params: Params) -> str:
    """A short, stable fingerprint of the resolved configuration."""
    blob = json.dumps(params.model_dump(mode="json"), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]
