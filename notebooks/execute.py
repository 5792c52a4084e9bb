"""Execute a notebook headless and write the executed copy under var/notebooks/ (the source stays clean)."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def main(paths: list[str]) -> None:
    """Run every cell of each notebook; a failing cell fails the command."""
    out_dir = Path("var/notebooks")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in paths:
        path = Path(name)
        notebook = nbformat.read(path, as_version=4)
        NotebookClient(
            notebook, timeout=1200, kernel_name="python3", resources={"metadata": {"path": "."}}
        ).execute()
        target = out_dir / path.name
        nbformat.write(notebook, target)
        print(f"executed {path} -> {target}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["notebooks/evaluation.ipynb"])
