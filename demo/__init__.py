"""Deterministic Chinese demo data: Chongqing buildings, software firms and application scenarios."""
