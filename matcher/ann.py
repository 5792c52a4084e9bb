"""Approximate dense candidates for large tables: a faiss IVF index over 8-bit codes, re-ranked exactly.

The index keeps 384 bytes of codes (plus an 8-byte id) per row rather than a second float32 copy of the
table's vectors: each query reads the codes of the rows in its `probes` nearest inverted lists, keeps
the `CANDIDATES × n` best, and re-ranks those by the exact inner product with the table's own vectors,
which the caller passes in. Faiss ids are table rows: rows appended to the table are added after the
last one, and a compaction of the table renumbers them the same way (`compact`). Parameters were chosen
by measurement (bench/million.py, figures in bench/README.md).
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

CANDIDATES = 2
"""Rows read from the codes per row asked for, before the exact re-ranking."""
ROWS_PER_LIST = 1024
"""Inverted lists: about one per this many rows at build time, a power of two."""
TRAIN_PER_LIST = 40
"""Rows sampled per list to train the k-means (faiss warns below 39)."""
KMEANS_ITERATIONS = 10
EXACT_SHARE = 8
"""Scan the alive rows exactly when they are fewer than 1/EXACT_SHARE of the codes the probes read:
a float32 row is 4 bytes a dimension to the code's 1, gathered rather than streamed."""
TUNING_DEPTH = 100
"""Probes are tuned for the recall of the exact top-100 of sample queries."""
TUNING_RECALL = 0.995


def list_count(rows: int) -> int:
    """The number of inverted lists for a table of `rows` rows: a power of two near rows / ROWS_PER_LIST."""
    return int(2 ** max(4, round(np.log2(max(rows, 1) / ROWS_PER_LIST))))


def exact_top(vectors: np.ndarray, queries: np.ndarray, n: int) -> np.ndarray:
    """The exact top-`n` rows of `vectors` [size, dim] for each of `queries` [q, dim], unordered: [q, n]."""
    scores = queries @ vectors.T
    return np.argpartition(-scores, n - 1, axis=1)[:, :n]


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """The share of each row of `truth` [q, n] found in the same row of `found` [q, m], averaged."""
    return float(np.mean([np.isin(want, got).mean() for got, want in zip(found, truth, strict=True)]))


def _best(candidates: np.ndarray, scores: np.ndarray, n: int) -> np.ndarray:
    """The `n` best of each row of `candidates` [q, c] by `scores` [q, c], best first: [q, ≤ n] int64.

    Candidates scored -inf (none found) come out as -1.
    """
    if candidates.shape[1] > n:
        best = np.argpartition(-scores, n - 1, axis=1)[:, :n]
        candidates, scores = np.take_along_axis(candidates, best, 1), np.take_along_axis(scores, best, 1)
    order = np.argsort(-scores, axis=1, kind="stable")
    ranked = np.array(np.take_along_axis(candidates, order, 1), dtype=np.int64)
    ranked[np.take_along_axis(scores, order, 1) == -np.inf] = -1
    return ranked


class DenseIndex:
    """Approximate top-n table rows by inner product with a unit query vector."""

    def __init__(self, index: faiss.IndexIVFScalarQuantizer) -> None:
        """Wrap a trained index whose ids are table rows (`build` or `load` make one)."""
        self.index = index

    def __getstate__(self) -> dict[str, np.ndarray]:
        """Pickled as faiss's own serialisation (bytes in an array, kept out of band by pickle 5)."""
        return {"index": faiss.serialize_index(self.index)}

    def __setstate__(self, state: dict[str, np.ndarray]) -> None:
        """Read back what `__getstate__` gave."""
        index = faiss.deserialize_index(state["index"])
        if not isinstance(index, faiss.IndexIVFScalarQuantizer):
            raise ValueError("not an inner-product IVF index over 8-bit codes")
        self.index = index

    @classmethod
    def build(
        cls, vectors: np.ndarray, queries: np.ndarray, *, lists: int | None = None, seed: int = 0
    ) -> DenseIndex:
        """Train on a sample of `vectors` [n, dim] (float32, unit), add them all as rows 0..n-1, tune.

        The probes are tuned on `queries` [q, dim]: a sample of the vectors the index will be asked about
        (the other side's rows). Rows of `vectors` themselves are easier queries: tuned on them, the
        probes found 0.95 of the top-100 of firm queries instead of 0.99 (bench/README.md).
        """
        rows, dim = vectors.shape
        lists = lists or list_count(rows)
        index = faiss.IndexIVFScalarQuantizer(
            faiss.IndexFlatIP(dim), dim, lists, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        index.cp.niter = KMEANS_ITERATIONS
        index.cp.seed = seed
        rng = np.random.default_rng(seed)
        index.train(vectors[np.sort(rng.choice(rows, min(rows, TRAIN_PER_LIST * lists), replace=False))])
        built = cls(index)
        built.add(vectors)
        built.tune(vectors, queries)
        return built

    def tune(self, vectors: np.ndarray, queries: np.ndarray, target: float = TUNING_RECALL) -> None:
        """Probe the fewest lists (1, 2, 3, 4, 6, 8, 11, …: ×√2) finding `target` of the exact top-100."""
        depth = min(TUNING_DEPTH, len(vectors))
        truth = exact_top(vectors, queries, depth)
        self.index.nprobe = 1
        while self.index.nprobe < self.index.nlist:
            if recall(self.search_many(queries, depth, vectors), truth) >= target:
                return
            self.index.nprobe = min(
                self.index.nlist, max(self.index.nprobe + 1, round(self.index.nprobe * 2**0.5))
            )

    @property
    def size(self) -> int:
        """Rows indexed: 0..size-1."""
        return int(self.index.ntotal)

    @property
    def probes(self) -> int:
        """Lists read per query."""
        return int(self.index.nprobe)

    def add(self, vectors: np.ndarray) -> None:
        """Index the rows appended to the table after the last indexed one: [m, dim] become size..size+m-1.

        Not safe while another thread searches this index.
        """
        ids = np.arange(self.size, self.size + len(vectors), dtype=np.int64)
        self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)

    def compact(self, alive: np.ndarray) -> None:
        """Follow the table's compaction: drop the rows dead in `alive` [size] bool, renumber the others.

        Not safe while another thread searches this index.
        """
        kept = alive[: self.size]
        renumbered = np.cumsum(kept, dtype=np.int64) - 1
        dead = np.flatnonzero(~kept)
        if len(dead):
            self.index.remove_ids(faiss.IDSelectorBatch(len(dead), faiss.swig_ptr(dead)))
        lists = self.index.invlists
        assert lists is not None
        for number in range(self.index.nlist):
            count = lists.list_size(number)
            if count:
                # A view of the list's ids: faiss has no call to renumber them, so rewrite them in place.
                ids = faiss.rev_swig_ptr(lists.get_ids(number), count)
                ids[:] = renumbered[ids]

    def search(
        self, vector: np.ndarray, n: int, vectors: np.ndarray, alive: np.ndarray | None = None
    ) -> np.ndarray:
        """The top `n` rows [≤ n] int64 by exact inner product with `vector` [dim], best first.

        `vectors` [size', dim] are the table's vectors (size' ≥ size): rows beyond the indexed ones are
        scanned exactly. `alive` [size'] bool leaves dead rows out. One query runs on the calling thread.
        """
        found: np.ndarray = self.search_many(vector[None], n, vectors, alive)[0]
        return found[found >= 0]

    def search_many(
        self, queries: np.ndarray, n: int, vectors: np.ndarray, alive: np.ndarray | None = None
    ) -> np.ndarray:
        """`search` for each of `queries` [q, dim]: [q, ≤ n] int64, -1 after the last row found.

        When few rows are alive (no more than 1/EXACT_SHARE of the codes the probes would read), those
        rows are scanned exactly instead: cheaper than the index, and the probes were tuned for all rows.
        """
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if alive is not None and np.count_nonzero(alive) * EXACT_SHARE * self.index.nlist <= (
            self.size * self.index.nprobe
        ):
            rows = np.flatnonzero(alive[: len(vectors)])
            scores = np.einsum("md,qd->qm", vectors[rows], queries)
            return _best(np.broadcast_to(rows, scores.shape), scores, n)
        params = faiss.SearchParametersIVF()
        params.nprobe = self.index.nprobe
        if alive is not None:
            bitmap = np.packbits(alive[: self.size], bitorder="little")
            selector = faiss.IDSelectorBitmap(self.size, faiss.swig_ptr(bitmap))
            params.sel = selector
        _, found = self.index.search(queries, min(CANDIDATES * n, self.size), params=params)
        tail = np.arange(self.size, len(vectors), dtype=np.int64)
        if alive is not None:
            tail = tail[alive[self.size : len(vectors)]]
        candidates = np.concatenate([found, np.broadcast_to(tail, (len(queries), len(tail)))], axis=1)
        scores = np.einsum("qcd,qd->qc", vectors[candidates], queries)
        scores[candidates < 0] = -np.inf
        return _best(candidates, scores, n)

    def save(self, path: Path) -> None:
        """Write the index (codes, ids, centroids, probes) to one file."""
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        """Read an index `save` wrote; ValueError when the file holds something else."""
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as error:
            raise ValueError(f"{path}: {error}") from error
        if not isinstance(index, faiss.IndexIVFScalarQuantizer) or (
            index.metric_type != faiss.METRIC_INNER_PRODUCT
        ):
            raise ValueError(f"{path}: not an inner-product IVF index over 8-bit codes")
        return cls(index)
