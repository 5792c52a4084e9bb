"""How matching works: embeddings, index, constraints, factors, scoring and explanations."""
