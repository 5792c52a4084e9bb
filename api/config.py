"""Settings: the only place that reads the environment (variables prefixed `XINGPEI_`)."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from matcher.industry_model import DEFAULT_CACHE_DIR

DEFAULT_DATABASE_URL = "sqlite:///var/xingpei.db"
ENV_PREFIX = "XINGPEI_"


class Settings(BaseSettings):
    """Xingpei's configuration; unknown `XINGPEI_*` variables are rejected."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    database_url: str = DEFAULT_DATABASE_URL
    """SQLAlchemy URL of the catalogue database, e.g. `postgresql+psycopg://user@host/db`."""

    embedding_model: str = "var/models/multilingual-e5-small"
    """Local sentence-transformers folder of the embedding model (never downloaded from a hub)."""

    embedding_quantize: bool = True
    """Encode with the model's int8 ONNX copy (3-4x faster on CPU, cosine >= 0.99); false: float32."""

    industry_inference: Literal["combined", "lexicon"] = "combined"
    """How a record's undeclared industries are inferred: a classifier on the embedding vectors combined with
    the lexicon (fitted once per model on matcher/industry_corpus/), or the lexicon alone."""

    cache_dir: str = str(DEFAULT_CACHE_DIR)
    """Where fits derived from the embedding model are kept (the industry classifier's, a few hundred KB)."""

    encode_batch_ms: float = Field(default=0.0, ge=0, le=100)
    """How long a typed-in text waits for others to share one model call (ms); 0: each is encoded alone."""

    encode_batch_max: int = Field(default=4, ge=1, le=256)
    """At most this many typed-in texts in one model call."""

    snapshot: bool = True
    """Start from the recommender's build kept in `cache_dir` while the catalogue is unchanged since."""

    embedding_threads: int = Field(default=0, ge=0)
    """Threads one process encodes with; 0: every core, or with `serve --workers N`, the cores / N."""

    malloc_arenas: int = Field(default=2, ge=0)
    """glibc malloc arenas per server process; 0: glibc's default (8 per core, memory creeps under load)."""

    host: str = "127.0.0.1"
    """Interface the web server listens on."""

    port: int = 8000
    """Port the web server listens on."""

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_variables(cls, data: Any) -> Any:
        """A misspelt `XINGPEI_*` variable is an error, not a silently ignored setting."""
        known = {ENV_PREFIX + name.upper() for name in cls.model_fields}
        unknown = sorted(
            name for name in os.environ if name.upper().startswith(ENV_PREFIX) and name.upper() not in known
        )
        if unknown:
            raise ValueError(f"未知的配置变量 {', '.join(unknown)}；可用的有 {', '.join(sorted(known))}")
        return data


@lru_cache
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
