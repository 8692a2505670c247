"""Where the project's shared reference folder `shared/` is (the catalogue's source, real Exact
recordings; read in place, never copied): beside the clone, or beside the main clone when the
tests run in a git worktree of it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _main_clone(root: Path) -> Path:
    """The main clone of a worktree (its `.git` file names `<main>/.git/worktrees/<name>`)."""
    git = root / ".git"
    if git.is_file():
        text = git.read_text(encoding="utf-8").strip()
        if text.startswith("gitdir:"):
            gitdir = Path(text.partition(":")[2].strip())
            if gitdir.parent.name == "worktrees":
                return gitdir.parents[2]
    return root


SHARED = next(
    (
        folder / "shared"
        for folder in (ROOT.parent, _main_clone(ROOT).parent)
        if (folder / "shared").is_dir()
    ),
    ROOT.parent / "shared",
)
