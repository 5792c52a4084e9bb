"""Infer the industries of a building, firm or scenario from its Chinese (or mixed) prose."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache, partial
from itertools import accumulate, pairwise
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.industry_terms import TERMS, TRAPS
from models.enums import Industry

INDUSTRY_CODES: tuple[str, ...] = tuple(member.value for member in Industry)
"""Industry codes in `Industry` enum order: the column order of vectors and matrices."""

MIN_CONFIDENCE = 0.2
"""Inferred industries below this confidence are dropped."""

EVIDENCE_CACHE = 16_384
"""Texts whose industry evidence is kept (a stored record's text is explained again by every match)."""

SURE, FAIRLY_SURE = 0.7, 0.4
"""An inferred industry at least this likely is said with 把握较大, resp. 把握一般; below, 把握较小."""

_CODE_INDEX: dict[str, int] = {code: position for position, code in enumerate(INDUSTRY_CODES)}
_DECLARED_INDEX: dict[str, int] = {
    **{member.label: _CODE_INDEX[member.value] for member in Industry},
    **_CODE_INDEX,
}


@dataclass(frozen=True)
class IndustryGuess:
    """One industry of a record, how sure we are of it and the terms that point to it."""

    code: str
    confidence: float
    evidence: tuple[str, ...]
    declared: bool

    @property
    def certainty(self) -> str:
        """How sure the inference is, in words (把握较大 …); "" when declared."""
        return "" if self.declared else certainty(self.confidence)


_SPACE_NEAR_WIDE = re.compile(r"\s+(?=[^\x00-\x7f])|(?<=[^\x00-\x7f])\s+")
_SPACES = re.compile(r"\s+")
_LETTER = "A-Za-z\uff21-\uff3a\uff41-\uff5a"
_DIGIT = "0-9\uff10-\uff19"
_SEPARATOR = "\x00"  # joins texts for one scan; no term contains it and no term may span it
_MAX_SPELLINGS = 100_000  # bound on the table of term spellings seen in texts
TERM_DTYPE = np.int32
"""How `lexicon_scan` packs a text's term ids."""
Evidence = Callable[[str], tuple[str, ...]]
"""An industry code → the words of one text that show it, strongest first (see `term_evidence`)."""
_GROUP_SIZE = 16  # first characters per group of the root dispatch


def _fold(text: str) -> str:
    """Fold width and case, and drop spaces next to non-ASCII characters: the canonical form of a term."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return _SPACES.sub(" ", _SPACE_NEAR_WIDE.sub("", folded)).strip()


@dataclass(frozen=True)
class _Lexicon:
    """The compiled term table: one overlapping-match regex, term ids and their weight rows."""

    pattern: re.Pattern[str]
    ids: dict[str, int]  # folded key, and spellings seen in texts, to term id
    display: tuple[str, ...]
    weights: npt.NDArray[np.float64]  # [terms, 12]
    traps: frozenset[int]  # ids of terms that support no industry

    @cached_property
    def industry_weights(self) -> tuple[tuple[float, ...], ...]:
        """[12][terms]: each industry's weight of every term, as Python floats (read term by term)."""
        return tuple(map(tuple, self.weights.T.tolist()))


def _is_word(char: str) -> bool:
    """Whether a folded character is an ASCII letter or digit."""
    return char.isascii() and char.isalnum()


def _variants(char: str) -> str:
    """The characters a folded term character stands for: both cases and both widths of ASCII."""
    if not char.isascii() or char == " ":
        return re.escape(char)
    forms = {char, char.upper(), chr(ord(char) + 0xFEE0), chr(ord(char.upper()) + 0xFEE0)}
    return "".join(re.escape(form) for form in sorted(forms))


def _char_regex(char: str) -> str:
    """A regex for one folded term character in raw text."""
    if char == " ":
        return r"\s+"
    if not char.isascii():
        return re.escape(char)
    return f"[{_variants(char)}]"


def _edge(char: str) -> str:
    """The class a term's ASCII edge character must not touch ("AI" is not in "email"), or ""."""
    if not _is_word(char):
        return ""
    return _DIGIT if char.isdigit() else _LETTER


def _join(last: str, char: str) -> str:
    """Optional whitespace between a term's ASCII and Chinese characters ("IP 核" reads as "IP核")."""
    return r"\s*" if last.isascii() != char.isascii() else ""


def _trie_regex(keys: Iterable[str]) -> str:
    """A regex finding the longest of `keys` at every position: group 1 holds all but its first character."""
    root: dict[str, dict[str, Any]] = {}
    for key in keys:
        node = root
        for char in key:
            node = node.setdefault(char, {})
        node[""] = {}  # the empty-string child marks a key's end

    def build(node: dict[str, dict[str, Any]], last: str) -> str:
        """The regex for the rest of the keys below `node`, whose path so far ends with `last`."""
        branches = [
            _join(last, char) + _char_regex(char) + build(child, char)
            for char, child in sorted(node.items())
            if char
        ]
        if "" in node:  # listed last, so a shorter key matches only where the longer ones fail
            edge = _edge(last)
            branches.append(f"(?![{edge}])" if edge else "")
        if len(branches) == 1:
            return branches[0]
        return "(?:" + "|".join(branches) + ")"

    def start(char: str) -> str:
        """After the dispatch consumed `char`: check it, and that an ASCII term does not begin mid-word."""
        edge = _edge(char)
        before = f"(?<![{edge}].)" if edge else ""
        return f"(?<={_char_regex(char)}){before}{build(root[char], char)}"

    # The pattern consumes a term's first character (a set the engine skips to quickly), then a lookahead
    # matches the rest, so the scan moves one character at a time and finds overlapping terms. The engine
    # tries a branch's alternatives one by one, so the rest is dispatched on the first character in groups.
    firsts = sorted(root)
    groups = [firsts[index : index + _GROUP_SIZE] for index in range(0, len(firsts), _GROUP_SIZE)]
    dispatch = "|".join(
        "(?<=[" + "".join(_variants(char) for char in group) + "])(?:" + "|".join(map(start, group)) + ")"
        for group in groups
    )
    return "[" + "".join(map(_variants, firsts)) + "](?=(" + dispatch + "))"


@cache
def _lexicon() -> _Lexicon:
    """Compile the term table once."""
    vectors: dict[str, npt.NDArray[np.float64]] = {}
    display: dict[str, str] = {}
    for code, terms in TERMS.items():
        column = _CODE_INDEX[code]
        for term, weight in terms.items():
            key = _fold(term)
            vectors.setdefault(key, np.zeros(len(INDUSTRY_CODES)))[column] += weight
            display.setdefault(key, term)
    for trap in TRAPS:
        key = _fold(trap)
        vectors.setdefault(key, np.zeros(len(INDUSTRY_CODES)))
        display.setdefault(key, trap)
    keys = sorted(vectors, key=lambda key: (-len(key), key))
    return _Lexicon(
        pattern=re.compile(_trie_regex(keys)),
        ids={key: position for position, key in enumerate(keys)},
        display=tuple(display[key] for key in keys),
        weights=np.stack([vectors[key] for key in keys]),
        traps=frozenset(position for position, key in enumerate(keys) if not vectors[key].any()),
    )


def _scan(text: str, lexicon: _Lexicon) -> tuple[list[int], list[int]]:
    """Term ids found in `text` and where they end, without terms inside a longer match or touching a trap."""
    found: list[int] = []
    spans: list[tuple[int, int]] = []
    traps: list[tuple[int, int]] = []
    covered = -1  # the furthest end of a kept match; one ending within it lies inside an earlier match
    ids = lexicon.ids
    for match in lexicon.pattern.finditer(text):
        stop = match.end(1)
        if stop <= covered:
            continue
        covered = stop
        begin = match.start()
        surface = text[begin:stop]
        term_id = ids.get(surface)
        if term_id is None:  # other case, width or spacing than the table's key: remember the spelling
            folded_id = ids.get(_fold(surface))
            if folded_id is None:  # cannot happen while the regex and _fold agree; never fail a record for it
                continue
            term_id = folded_id
            if len(ids) < _MAX_SPELLINGS:
                ids[surface] = term_id
        if term_id in lexicon.traps:
            traps.append((begin, stop))
        else:
            found.append(term_id)
            spans.append((begin, stop))
    if traps:  # a term overlapping a trap is part of it (园林设计公司 hides 设计公司)
        trap_begins = [begin for begin, _ in traps]
        reach = list(accumulate((stop for _, stop in traps), max))  # furthest trap end so far
        kept = [
            index
            for index, (begin, stop) in enumerate(spans)
            if (last := bisect_left(trap_begins, stop) - 1) < 0 or reach[last] <= begin
        ]
        return [found[index] for index in kept], [spans[index][1] for index in kept]
    return found, [stop for _, stop in spans]


def _match_ids(text: str, lexicon: _Lexicon) -> list[int]:
    """Ids of the distinct terms in `text`, in order of appearance, without terms inside longer ones."""
    found, _ = _scan(text.replace(_SEPARATOR, " "), lexicon)
    return list(dict.fromkeys(found))


def _declared_indices(declared: Sequence[str]) -> list[int]:
    """Column indices of declared industries (codes or Chinese labels), deduplicated, in order given."""
    indices: list[int] = []
    for item in declared:
        index = _DECLARED_INDEX.get(item.strip())
        if index is None:
            raise ValueError(f"unknown industry: {item!r}")
        if index not in indices:
            indices.append(index)
    return indices


def _confidences(scores: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Map summed term weights to confidences in [0, 1): 1 - exp(-score), zero for non-positive scores."""
    return np.where(scores > 0, 1.0 - np.exp(-np.maximum(scores, 0.0)), 0.0)


def certainty(confidence: float) -> str:
    """How sure an inferred industry is, in words: 把握较大 / 把握一般 / 把握较小."""
    if confidence >= SURE:
        return "把握较大"
    return "把握一般" if confidence >= FAIRLY_SURE else "把握较小"


def lexicon_matrix(texts: Sequence[str]) -> npt.NDArray[np.float64]:
    """[m, 12]: each text's lexicon confidence in every industry (no threshold, nothing declared)."""
    return lexicon_scan(texts)[0]


def lexicon_scan(texts: Sequence[str]) -> tuple[npt.NDArray[np.float64], list[bytes]]:
    """`lexicon_matrix` of texts, and each text's distinct lexicon terms in order of appearance (those
    `term_evidence` reads), packed as TERM_DTYPE bytes for `stored_evidence`."""
    lexicon = _lexicon()
    # One scan over all texts joined by a separator no term can span; match ends tell the rows apart.
    cleaned = [text.replace(_SEPARATOR, " ") if _SEPARATOR in text else text for text in texts]
    found, ends = _scan(_SEPARATOR.join(cleaned), lexicon)
    text_ends = np.cumsum([len(text) + 1 for text in cleaned], dtype=np.int64) - 1
    rows = np.searchsorted(text_ends, np.asarray(ends, dtype=np.int64))
    keys = rows * len(lexicon.display) + np.asarray(found, dtype=np.int64)
    pairs, first = np.unique(keys, return_index=True)  # each term counts once per row
    scores = np.zeros((len(texts), len(INDUSTRY_CODES)), dtype=np.float64)
    np.add.at(scores, pairs // len(lexicon.display), lexicon.weights[pairs % len(lexicon.display)])
    appearing = np.sort(first)
    terms = np.asarray(found, dtype=TERM_DTYPE)[appearing]
    bounds = np.searchsorted(rows[appearing], np.arange(len(texts) + 1))
    packed = [terms[start:stop].tobytes() for start, stop in pairwise(bounds.tolist())]
    return _confidences(scores), packed


def industry_rows(
    inferred: npt.NDArray[np.float64], declared: Sequence[Sequence[str]], *, limit: int = 3
) -> npt.NDArray[np.float32]:
    """[m, 12] confidences: declared industries 1.0, then the likeliest inferred ones up to `limit` in all.

    `inferred` [m, 12] holds the inferred confidences (the lexicon's, or a classifier's probabilities);
    those below `MIN_CONFIDENCE` are dropped.
    """
    if len(inferred) != len(declared):
        raise ValueError(f"{len(inferred)} texts but {len(declared)} declared lists")
    width = len(INDUSTRY_CODES)
    declared_mask = np.zeros((len(declared), width), dtype=bool)
    for row, codes in enumerate(declared):
        if codes:
            declared_mask[row, _declared_indices(codes)] = True
    candidate = (inferred >= MIN_CONFIDENCE) & ~declared_mask
    # Rank inferred industries by confidence (ties by code order) and keep as many as the limit leaves.
    ranked = np.where(candidate, inferred, -1.0)
    order = np.argsort(-ranked, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(width)[np.newaxis, :].repeat(len(declared), axis=0), axis=1)
    slots = np.maximum(limit - declared_mask.sum(axis=1, keepdims=True), 0)
    keep = candidate & (rank < slots)
    result = np.where(keep, inferred, 0.0)
    result[declared_mask] = 1.0
    return result.astype(np.float32)


def industry_matrix(
    texts: Sequence[str], declared: Sequence[Sequence[str]], *, limit: int = 3
) -> npt.NDArray[np.float32]:
    """The lexicon's industries of each text: `industry_rows` of `lexicon_matrix`, computed in bulk."""
    if len(texts) != len(declared):
        raise ValueError(f"{len(texts)} texts but {len(declared)} declared lists")
    return industry_rows(lexicon_matrix(texts), declared, limit=limit)


@lru_cache(maxsize=EVIDENCE_CACHE)
def term_evidence(text: str) -> Mapping[str, tuple[str, ...]]:
    """The lexicon terms of a text supporting each industry: strongest first, then in order of appearance
    (read-only, cached by text: every match explains the same stored records again)."""
    lexicon = _lexicon()
    term_ids = _match_ids(text, lexicon)
    evidence: dict[str, tuple[str, ...]] = {}
    for column, code in enumerate(INDUSTRY_CODES):
        if supporting := _supporting(term_ids, column, lexicon):
            evidence[code] = supporting
    return MappingProxyType(evidence)


def text_evidence(text: str) -> Evidence:
    """The evidence of a text, scanned once (cached by text: see `term_evidence`)."""
    evidence = term_evidence(text)
    return lambda code: evidence.get(code, ())


def stored_evidence(terms: bytes) -> Evidence:
    """The evidence of a text from its terms as `lexicon_scan` packed them: the same words as
    `text_evidence`, without a second scan of a stored text."""
    return partial(_stored_words, terms)


@lru_cache(maxsize=EVIDENCE_CACHE)
def _stored_words(terms: bytes, code: str) -> tuple[str, ...]:
    """The words of a stored text (its packed terms) showing one industry (cached: every match explains the
    same stored records again, each by the industry it shares)."""
    return _supporting(np.frombuffer(terms, dtype=TERM_DTYPE).tolist(), _CODE_INDEX[code], _lexicon())


def _supporting(term_ids: Sequence[int], column: int, lexicon: _Lexicon) -> tuple[str, ...]:
    """The terms (distinct, in order of appearance) supporting one industry: strongest first."""
    weights = lexicon.industry_weights[column]
    supporting = sorted((-weights[term], order) for order, term in enumerate(term_ids) if weights[term] > 0)
    return tuple(lexicon.display[term_ids[order]] for _, order in supporting)


def guesses_of(
    row: npt.NDArray[np.floating[Any]], evidence: Evidence, declared: Sequence[str]
) -> list[IndustryGuess]:
    """A record's industries from its confidence row [12]: declared ones in the order given, then the
    inferred ones by confidence (ties by code order), each with the lexicon terms of its text that show it."""
    declared_indices = _declared_indices(declared)
    inferred = sorted(
        (-float(row[column]), column)
        for column in range(len(INDUSTRY_CODES))
        if column not in declared_indices and row[column] > 0
    )
    return [
        IndustryGuess(INDUSTRY_CODES[column], 1.0, evidence(INDUSTRY_CODES[column]), declared=True)
        for column in declared_indices
    ] + [
        IndustryGuess(code, -negative, evidence(code), declared=False)
        for negative, column in inferred
        for code in [INDUSTRY_CODES[column]]
    ]


def infer_industries(text: str, declared: Sequence[str] = (), *, limit: int = 3) -> list[IndustryGuess]:
    """The lexicon's industries of a record: declared codes first with confidence 1.0, then inferred ones."""
    return guesses_of(industry_matrix([text], [declared], limit=limit)[0], text_evidence(text), declared)


def industry_vector(guesses: Sequence[IndustryGuess]) -> npt.NDArray[np.float32]:
    """Confidence per industry in `INDUSTRY_CODES` order, zero for industries not guessed."""
    vector = np.zeros(len(INDUSTRY_CODES), dtype=np.float32)
    for guess in guesses:
        index = _CODE_INDEX[guess.code]
        vector[index] = max(vector[index], guess.confidence)
    return vector


def term_counts() -> dict[str, int]:
    """How many terms in the table support each industry (positive weight), for reports and tests."""
    return {code: sum(1 for weight in TERMS[code].values() if weight > 0) for code in INDUSTRY_CODES}
