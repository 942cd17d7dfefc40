"""Reading definition files: ``forms/vocabulary.yaml``, ``forms/<ministry>/<form>.yaml`` and
``workflows/<event>.yaml``, with YAML errors reported, not raised."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from flask_babel import gettext
from flask_babel.speaklater import LazyString

from portal.config import REPO_ROOT

FORMS_DIR = REPO_ROOT / "forms"
WORKFLOWS_DIR = REPO_ROOT / "workflows"
VOCABULARY_FILE = "vocabulary.yaml"


@dataclass(frozen=True)
class Said:
    """What a fault says, kept as its English message id and the values put into it: the
    command line and the logs read it in English (``str``), an admin's page in the admin's
    language (``localized``). A value may itself be ``Said`` (a type's name, say)."""

    template: str
    params: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        return self._filled(self.template, str)

    def localized(self) -> str:
        return self._filled(gettext(self.template), Said.localized)

    def _filled(self, template: str, inner: Any) -> str:
        if not self.params:
            return template
        values = {
            name: inner(value) if isinstance(value, Said) else value for name, value in self.params
        }
        return template % values


def said(template: str, /, **params: Any) -> Said:
    """A fault's message (a keyword of message extraction: ``template`` is a message id)."""
    return Said(template, tuple(params.items()))


@dataclass(frozen=True)
class Problem:
    """One fault: the file, where in it (a path like ``sections/0/fields/2/key``), and what."""

    file: str
    path: str
    #: ``Said``, or a refusal's message (``lazy_gettext``), which is read in the language of
    #: the request, or the default one on the command line.
    message: Said | LazyString

    def __str__(self) -> str:
        return f"{self.file}:{self.path or '/'}: {self.message}"

    def localized(self) -> str:
        """The fault in the reader's language, with its file and place."""
        message = self.message
        shown = message.localized() if isinstance(message, Said) else str(message)
        return f"{self.file}:{self.path or '/'}: {shown}"


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
        sources.problems.append(
            Problem(shown, "", said("not valid YAML: %(error)s", error=str(exc)))
        )
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
