"""Reading definition files: ``forms/vocabulary.yaml``, ``forms/<ministry>/<form>.yaml`` and
``workflows/<event>.yaml``, with YAML errors reported, not raised."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from portal.config import REPO_ROOT

FORMS_DIR = REPO_ROOT / "forms"
WORKFLOWS_DIR = REPO_ROOT / "workflows"
VOCABULARY_FILE = "vocabulary.yaml"


@dataclass(frozen=True)
class Problem:
    """One fault: the file, where in it (a path like ``sections/0/fields/2/key``), and what."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.path or '/'}: {self.message}"


@dataclass(frozen=True)
class Source:
    kind: str  # "vocabulary", "form" or "workflow"
    file: str  # as shown to the author, e.g. "forms/mic/tenshutsu.yaml"
    data: Any

    @property
    def digest(self) -> str:
        return content_digest(self.data)


@dataclass
class Sources:
    files: list[Source] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[Source]:
        return [source for source in self.files if source.kind == kind]


def content_digest(data: Any) -> str:
    """The same content gives the same digest, however the YAML was laid out."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def read_sources(forms_dir: Path = FORMS_DIR, workflows_dir: Path = WORKFLOWS_DIR) -> Sources:
    sources = Sources()
    base = forms_dir.parent
    for path in sorted(forms_dir.rglob("*.yaml")):
        kind = "vocabulary" if path == forms_dir / VOCABULARY_FILE else "form"
        _read(path, kind, base, sources)
    for path in sorted(workflows_dir.glob("*.yaml")):
        _read(path, "workflow", base, sources)
    return sources


def _read(path: Path, kind: str, base: Path, sources: Sources) -> None:
    shown = _display(path, base)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        sources.problems.append(Problem(shown, "", f"not valid YAML: {exc}"))
        return
    sources.files.append(Source(kind, shown, data))


def _display(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def file_for(kind: str, key: str) -> str:
    """Where a definition lives in the repository: ``forms/vocabulary.yaml``,
    ``forms/<ministry>/<name>.yaml`` for the form ``<ministry>.<name>``, or
    ``workflows/<event>.yaml``."""
    if kind == "vocabulary":
        return f"forms/{VOCABULARY_FILE}"
    if kind == "form":
        ministry, name = key.split(".", 1)
        return f"forms/{ministry}/{name}.yaml"
    return f"workflows/{key}.yaml"


def to_yaml(data: Any) -> str:
    """A definition as its repository file is written: keys in their order, Japanese as is."""
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
