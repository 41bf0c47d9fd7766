"""Where the bundled knowledge base lives (no other import: loader and checks both read it)."""

from __future__ import annotations

from pathlib import Path


def bundled_dir() -> Path:
    """The bundled guidelines: inside the installed package (the wheel ships them as vascular_cli/guidelines), or
    the checkout's guidelines/ in an editable install. importlib.resources is the fallback for unusual loaders."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "guidelines", here.parent / "guidelines"):
        if (candidate / "vocabulary.yaml").is_file():
            return candidate
    from importlib import resources

    return Path(str(resources.files("vascular_cli") / "guidelines"))
