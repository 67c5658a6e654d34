"""Read the reviews straight out of an ``aclImdb`` tar.gz archive.

The layout is the official one: ``aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt`` and,
optionally, ``aclImdb/train/unsup/<id>_0.txt``. Nothing is extracted to disk.
"""

from __future__ import annotations

import os
import re
import tarfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from imdb_rnn.errors import UserError

MEMBER = re.compile(r"^(?:\./)?aclImdb/(train|test)/(pos|neg|unsup)/(\d+)_(\d+)\.txt$")
LABELED = [("train", "neg"), ("train", "pos"), ("test", "neg"), ("test", "pos")]
# The most bytes one review may hold. IMDB's longest is about 14 KB; a member far larger is
# not a review, and reading it whole (then decoding and tokenizing it) would take several
# times its size in memory: a 1 GB member in a small archive took prepare to 4.5 GB.
MAX_REVIEW_BYTES = 1 << 20
# The encoded splits store a review's id as int32 and its rating as int8 (imdb_rnn.data.dataset);
# IMDB's ids stop below 50,000 and its ratings are 1–10 stars (0 for unlabeled reviews).
MAX_REVIEW_ID = 2**31 - 1
MAX_RATING = 10


@dataclass(frozen=True)
class Review:
    split: str  # train | test
    label: str  # pos | neg | unsup
    id: int
    rating: int
    text: str

    @property
    def name(self) -> str:
        return f"{self.id}_{self.rating}.txt"


@dataclass
class ArchiveContents:
    reviews: dict[tuple[str, str], list[Review]] = field(default_factory=dict)
    invalid_utf8: Counter = field(default_factory=Counter)  # reviews decoded with replacement, per folder
    raw: dict[tuple[str, str], list[bytes]] = field(default_factory=dict)  # original bytes, for the fingerprint

    def get(self, split: str, label: str) -> list[Review]:
        return self.reviews.get((split, label), [])


def read_archive(path: str | os.PathLike[str], keep_raw: bool = True) -> ArchiveContents:
    """Read every review of the archive, sorted by (folder, id).

    Bytes that are not valid UTF-8 are replaced (U+FFFD) and counted, not fatal. A missing
    ``train``/``test`` class folder, a review of more than ``MAX_REVIEW_BYTES`` (checked
    before it is read) or an unreadable archive is a :class:`UserError`.
    """
    path = Path(path)
    contents = ArchiveContents()
    found: dict[tuple[str, str], list[tuple[int, int, bytes]]] = {}
    try:
        with tarfile.open(path, mode="r:*") as tar:
            for member in tar:
                match = MEMBER.match(member.name)
                if not match or not member.isfile():
                    continue
                split, label, review_id, rating = match.groups()
                # Lengths first: int() refuses strings of thousands of digits with a ValueError of its own.
                if len(review_id) > 10 or len(rating) > 2 or int(review_id) > MAX_REVIEW_ID or int(rating) > MAX_RATING:
                    raise UserError(
                        f"{path}: {member.name[:120]} names a review id or rating outside IMDB's ids (at most {MAX_REVIEW_ID:,}) "
                        f"or ratings (0 to {MAX_RATING}); this is not the IMDB archive, or it was tampered with: check data.url"
                    )
                if member.size > MAX_REVIEW_BYTES:
                    raise UserError(
                        f"{path}: {member.name} holds {member.size:,} bytes, more than any review may ({MAX_REVIEW_BYTES:,}); "
                        "this is not the IMDB archive, or it was tampered with: download it again, or check data.url"
                    )
                handle = tar.extractfile(member)
                data = handle.read() if handle else b""
                found.setdefault((split, label), []).append((int(review_id), int(rating), data))
    except FileNotFoundError:
        raise UserError(f"missing archive {path}; run the download stage first") from None
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise UserError(f"{path} is not a readable tar.gz archive ({exc}); delete it and download it again, or check data.url") from None
    missing = [f"{s}/{lab}" for s, lab in LABELED if not found.get((s, lab))]
    if missing:
        raise UserError(
            f"{path} has no reviews in aclImdb/{', aclImdb/'.join(missing)}; it is not the IMDB archive "
            "(expected aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt)"
        )
    for key, items in found.items():
        items.sort(key=lambda item: item[0])
        reviews = []
        for review_id, rating, data in items:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = data.decode("utf-8", errors="replace")
                contents.invalid_utf8[f"{key[0]}/{key[1]}"] += 1
            reviews.append(Review(key[0], key[1], review_id, rating, text))
        contents.reviews[key] = reviews
        if keep_raw:
            contents.raw[key] = [data for _, _, data in items]
    return contents
