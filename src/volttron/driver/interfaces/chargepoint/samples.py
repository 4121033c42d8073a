"""The sample device config and registry shipped in the package, and writing them out (``chargepoint-driver init``).

They are the files README's commands use; in a clone of the repository, ``chargepoint.config``, ``chargepoint.csv``
and ``chargepoint-group.csv`` at its root are symlinks to these.
"""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).with_name("samples")
SAMPLE_CONFIG = SAMPLES / "chargepoint.config"
SAMPLE_REGISTRY = SAMPLES / "chargepoint.csv"
SAMPLE_GROUP_REGISTRY = SAMPLES / "chargepoint-group.csv"  # for a device that names a station group (sgID)


class ExistingFiles(Exception):
    """``init`` would replace files that are already there (and ``force`` was not given)."""

    def __init__(self, paths: list[Path]) -> None:
        super().__init__(", ".join(map(str, paths)))
        self.paths = paths


def write_samples(directory: Path, *, force: bool = False) -> list[Path]:
    """Copy both samples into ``directory`` (made if missing); returns the paths written.

    Nothing is written when either file exists already, unless ``force``. OSError for a directory that cannot be
    made or written.
    """
    targets = [directory / sample.name for sample in (SAMPLE_CONFIG, SAMPLE_REGISTRY)]
    existing = [target for target in targets if target.exists()]
    if existing and not force:
        raise ExistingFiles(existing)
    directory.mkdir(parents=True, exist_ok=True)
    for sample, target in zip((SAMPLE_CONFIG, SAMPLE_REGISTRY), targets):
        target.write_bytes(sample.read_bytes())
    return targets
