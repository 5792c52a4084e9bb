"""GB 32100-2015 unified social credit codes (统一社会信用代码)."""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18


def check_character(first17: str) -> str:
    """Return the check character for the first 17 characters of a code."""
    total = sum(ALPHABET.index(char) * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """Return why `code` is not a valid credit code (in Chinese), or None when it is valid."""
    if len(code) != LENGTH:
        return f"应为 {LENGTH} 位，实际 {len(code)} 位"
    bad = sorted({char for char in code if char not in ALPHABET})
    if bad:
        return f"含有不允许的字符 {''.join(bad)}（不得使用 I、O、Z、S、V 和小写字母）"
    expected = check_character(code[:-1])
    if code[-1] != expected:
        return f"校验码错误：第 18 位应为 {expected}，实际为 {code[-1]}"
    return None
