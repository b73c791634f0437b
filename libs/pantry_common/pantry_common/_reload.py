"""What the services' reload mode (the cluster's dev overlay, `make dev-watch`) watches."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def source_dirs(*packages: str) -> list[str]:
    """The directories the named packages are imported from: in the dev overlay the source tree
    mounted into the pod (PYTHONPATH puts it before the image's installed copy), so a change
    saved on the host is a change in these directories."""
    dirs: list[str] = []
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ValueError(f"{package} is not an importable package")
        dirs.extend(str(Path(location)) for location in spec.submodule_search_locations)
    return dirs
