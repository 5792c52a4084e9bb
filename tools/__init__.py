"""Build-time tools, never imported by the running service: the embedding model export."""
