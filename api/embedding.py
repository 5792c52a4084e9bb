"""The embedding model the settings name, and the database's vector cache in front of it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from api.config import Settings
from matcher.encoder import CachedEncoder, Encoder, SentenceEncoder, content_key, expected_model_id
from matcher.industry_model import IndustryModel, trained
from models.text_vector import SqlVectorStore


def configured_model(settings: Settings) -> SentenceEncoder:
    """The embedding model the settings name (its int8 ONNX copy unless turned off), opened on its first
    `encode`: a server started from its snapshot, or an import whose texts are all cached, never opens it."""
    threads = settings.embedding_threads or None
    return SentenceEncoder(
        settings.embedding_model, quantize=settings.embedding_quantize, threads=threads, lazy=True
    )


def industry_model(settings: Settings, encoder: Encoder) -> IndustryModel | None:
    """The industry classifier of the encoder's model (fitted once, then read from the cache directory),
    or None when the settings ask for the lexicon alone."""
    if settings.industry_inference == "lexicon":
        return None
    return trained(encoder, Path(settings.cache_dir))


def cached_encoder(
    settings: Settings, sessions: sessionmaker[Session], model: Encoder | None = None
) -> CachedEncoder:
    """`model` (the configured one when None) behind the database's vector cache, typed-in texts of
    concurrent requests batched into shared model calls as the settings say."""
    return CachedEncoder(
        model or configured_model(settings),
        SqlVectorStore(sessions),
        batch_window=settings.encode_batch_ms / 1000,
        batch_max=settings.encode_batch_max,
    )


def uncached(settings: Settings, sessions: sessionmaker[Session], texts: list[str]) -> list[str]:
    """The distinct texts the vector cache lacks under the configured model (which is not loaded)."""
    model = expected_model_id(settings.embedding_model, settings.embedding_quantize)
    text_of = {content_key(model, text): text for text in texts}
    return [text_of[key] for key in SqlVectorStore(sessions).missing(list(text_of))]
