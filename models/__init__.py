"""What the world is: the catalogue's tables, vocabularies, validation and file interchange."""
