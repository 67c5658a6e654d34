"""A tiny archive in the official aclImdb layout, made on the fly for tests.

It holds what the real archive throws at the pipeline: HTML line breaks, non-ASCII text,
an empty review and (on request) bytes that are not UTF-8, a missing folder or no
``train/unsup``.
"""

from __future__ import annotations

import hashlib
import io
import random
import tarfile
from pathlib import Path

POSITIVE = ["great", "wonderful", "superb", "loved", "brilliant", "moving", "fun", "best"]
NEGATIVE = ["awful", "boring", "terrible", "hated", "dull", "worst", "mess", "waste"]
NEUTRAL = ["the", "film", "movie", "plot", "actors", "was", "a", "and", "story", "it", "director", "scene"]
SPECIAL_TEXTS = [
    "Amélie is a café-set film, naïve and charming.<br /><br />Great fun!",  # non-ASCII + breaks
    "",  # an empty review
]


def review_text(rng: random.Random, positive: bool) -> str:
    words = [rng.choice(POSITIVE if positive else NEGATIVE) if rng.random() < 0.3 else rng.choice(NEUTRAL) for _ in range(rng.randint(5, 30))]
    text = " ".join(words).capitalize() + "."
    if rng.random() < 0.3:
        text += "<br /><br />" + rng.choice(NEUTRAL).capitalize() + "!"
    return text


def make_archive(
    path: Path,
    per_class: int = 20,
    unsup: int = 10,
    seed: int = 0,
    invalid_utf8: bool = False,
    drop: tuple[str, ...] = (),
) -> dict[str, str | int]:
    """Write the archive; return its sha256 and size. ``drop`` lists folders to leave out."""
    rng = random.Random(seed)
    members: dict[str, bytes] = {"aclImdb/README": b"tiny test copy\n"}
    next_id = 0
    for split in ("train", "test"):
        for label in ("pos", "neg"):
            folder = f"{split}/{label}"
            if folder in drop:
                continue
            for k in range(per_class):
                rating = rng.randint(7, 10) if label == "pos" else rng.randint(1, 4)
                text = review_text(rng, label == "pos")
                if split == "train" and k < len(SPECIAL_TEXTS):
                    text = SPECIAL_TEXTS[k] if label == "pos" else text
                data = text.encode("utf-8")
                if invalid_utf8 and split == "train" and label == "neg" and k == 0:
                    data = b"Broken \xff\xfe bytes, a dull film."
                members[f"aclImdb/{folder}/{next_id}_{rating}.txt"] = data
                next_id += 1
    if "train/unsup" not in drop:
        for _ in range(unsup):
            members[f"aclImdb/train/unsup/{next_id}_0.txt"] = review_text(rng, rng.random() < 0.5).replace("<br /><br />", "").encode()
            next_id += 1
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    blob = buffer.getvalue()
    path.write_bytes(blob)
    return {"sha256": hashlib.sha256(blob).hexdigest(), "size": len(blob)}
