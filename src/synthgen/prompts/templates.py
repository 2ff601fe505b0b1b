"""Finding, parsing and rendering prompt templates.

A template is a Jinja2 file with YAML front matter that declares its defaults::

    ---
    description: one line for `synthgen templates`
    temperature: 1.0
    shots: 5          # seed examples shown per request
    per_request: 5    # conversations asked for per request
    ---
    <|system|>
    ...
    <|user|>
    ... {{ examples }} {{ n }} {{ system }} {{ category }} ...

Rendering happens in Jinja's sandbox and the seeds arrive as data, so a seed containing
``{{ 7*7 }}`` stays text: templates are code we trust, seeds are not. For the same reason the
section markers are the template's own: before compiling, each marker line of the template
file becomes a secret token that the rendered text is split on, so a seed (or an accepted
example shown in a later prompt) holding a ``<|system|>`` line stays text inside its message.
Markers are therefore literal lines of the file, never produced by an expression.

A file is a template only if it looks like one: a regular file of at most 256 KiB, front
matter of known settings between ``---`` lines, and a ``<|user|>`` section. Anything else
(``--template /etc/shadow``) is refused before a byte of it can reach a prompt.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthgen.errors import TemplateError
from synthgen.settings.naming import setting

if TYPE_CHECKING:
    import jinja2

SUFFIX = ".j2"
MAX_TEMPLATE_BYTES = 256 * 1024
_ROLE_MARK = re.compile(r"^<\|(system|user|assistant)\|>[ \t]*$", re.MULTILINE)
# Unguessable, and never sent: data cannot contain it, so only the template splits messages.
_TOKEN = f"\x00synthgen-section-{secrets.token_hex(16)}:"
_SECTION = re.compile(re.escape(_TOKEN) + "(system|user|assistant)\x00")
_BLANK_RUNS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_FRONT = re.compile(r"\A---[ \t]*\n(?:(.*?)\n)?---[ \t]*\n", re.DOTALL)
_DEFAULTS: dict[str, Any] = {
    "description": "",
    "temperature": 1.0,
    "shots": 5,
    "per_request": 5,
    "frontier": 0.4,  # share of shown examples drawn from those already accepted
    "attributes": None,  # rotated per request, like evolve's operations
    "needs_attributes": False,  # persona: refuse to run without --attributes
    # How the reply is asked for: "conversations" (the strict json_schema), "json_object"
    # (JSON mode, for endpoints without json_schema) or "none" (prompt only).
    "reply": "conversations",
}
REPLY_KINDS = ("conversations", "json_object", "none")
_KNOWN = frozenset(_DEFAULTS) | {"kind"}


def builtin_dir() -> Path:
    """The built-in templates: inside the installed package, or ``templates/`` in a checkout."""
    here = Path(__file__).resolve().parent.parent  # the synthgen package
    for candidate in (here / "templates", here.parent.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise TemplateError(f"built-in templates not found next to {here}: the install is broken")


@dataclass(frozen=True)
class Template:
    name: str
    path: Path
    body: str
    description: str
    temperature: float
    shots: int
    per_request: int
    frontier: float = 0.4
    attributes: dict[str, list[Any]] = field(default_factory=dict)
    needs_attributes: bool = False
    reply: str = "conversations"
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return str(self.settings.get("kind", "generate"))

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    @cached_property
    def _compiled(self) -> jinja2.Template:
        import jinja2
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        env = ImmutableSandboxedEnvironment(
            undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
        )
        # Markers become the secret token before compiling (see the module doc).
        body = _ROLE_MARK.sub(lambda m: f"{_TOKEN}{m.group(1)}\x00", self.body)
        try:
            return env.from_string(body)
        except jinja2.TemplateSyntaxError as e:
            line = (e.lineno or 0) + self.body_offset
            raise TemplateError(f"{self.path}:{line}: template syntax error: {e.message}") from None

    @cached_property
    def body_offset(self) -> int:
        """Lines of front matter before the body, so errors point at the real file line."""
        text = self.path.read_text(encoding="utf-8")
        return text[: len(text) - len(self.body)].count("\n")

    def check(self) -> None:
        """Compile now so a syntax error is reported before any request is sent."""
        _ = self._compiled

    def render(self, **context: Any) -> list[dict[str, str]]:
        """Render to chat messages. ``examples`` are dicts ``{"messages": [...], ...}``."""
        import jinja2

        try:
            text = self._compiled.render(**context)
        except jinja2.TemplateError as e:
            raise TemplateError(f"{self.path}: cannot render: {e}") from None
        return _split_roles(text, self.path)


def _split_roles(text: str, path: Path) -> list[dict[str, str]]:
    marks = list(_SECTION.finditer(text))
    if not marks:
        return [{"role": "user", "content": text.strip()}]
    messages = []
    for mark, nxt in zip(marks, [*marks[1:], None], strict=True):
        end = nxt.start() if nxt else len(text)
        # Jinja's block tags leave runs of blank lines; one blank line is plenty.
        content = _BLANK_RUNS.sub("\n\n", text[mark.end() : end]).strip()
        if content:
            messages.append({"role": mark.group(1), "content": content})
    if not messages or messages[-1]["role"] != "user":
        raise TemplateError(f"{path}: the rendered prompt must end with a <|user|> section")
    return messages


def _read(path: Path) -> str:
    from synthgen.data.seed_readers import open_regular

    with open_regular(
        path, what="a template", error=TemplateError, max_bytes=MAX_TEMPLATE_BYTES
    ) as f:
        data = f.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TemplateError(f"{path}: not a template: not UTF-8 (byte {e.start + 1})") from None


def _front_matter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    """The settings and the body of a template file, or a TemplateError saying why the file
    is not a template."""
    m = _FRONT.match(text)
    if m is None:
        raise TemplateError(
            f"{path}: not a template: it must start with front matter between '---' lines"
        )
    import yaml

    try:
        front = yaml.safe_load(m.group(1) or "") or {}
    except yaml.YAMLError as e:
        raise TemplateError(f"{path}: bad front matter: {e}".replace("\n", " ")) from None
    if not isinstance(front, dict):
        raise TemplateError(f"{path}: front matter must be a mapping of settings")
    unknown = sorted(str(k) for k in front if k not in _KNOWN)
    if unknown:
        known = ", ".join(sorted(_KNOWN))
        raise TemplateError(f"{path}: unknown front matter setting {unknown[0]!r} (known: {known})")
    body = text[m.end() :]
    if not any(mark.group(1) == "user" for mark in _ROLE_MARK.finditer(body)):
        raise TemplateError(f"{path}: not a template: no '<|user|>' line starts a section")
    return {**_DEFAULTS, **front}, body


def parse_template(path: Path, name: str | None = None) -> Template:
    settings, body = _front_matter(_read(path), path)
    try:
        tpl = Template(
            name=name or path.name.removesuffix(SUFFIX),
            path=path,
            body=body,
            description=str(settings["description"]),
            temperature=float(settings["temperature"]),
            shots=int(settings["shots"]),
            per_request=int(settings["per_request"]),
            frontier=float(settings["frontier"]),
            attributes=_attributes(settings["attributes"], path),
            needs_attributes=bool(settings["needs_attributes"]),
            reply=str(settings["reply"]),
            settings=settings,
        )
    except (TypeError, ValueError) as e:
        raise TemplateError(f"{path}: bad front matter value: {e}") from None
    if tpl.kind == "generate" and tpl.reply not in REPLY_KINDS:
        raise TemplateError(f"{path}: reply must be one of {', '.join(REPLY_KINDS)}")
    if not 0 <= tpl.frontier < 1:
        raise TemplateError(f"{path}: frontier must be in [0, 1)")
    if tpl.shots < 1 or tpl.per_request < 1:
        raise TemplateError(f"{path}: shots and per_request must be at least 1")
    return tpl


def _attributes(value: Any, path: Path) -> dict[str, list[Any]]:
    if value is None:
        return {}
    from synthgen.errors import ConfigError
    from synthgen.prompts.attributes import check_attributes

    try:
        return check_attributes(value, f"{path}: front matter")
    except ConfigError as e:
        raise TemplateError(str(e)) from None


def search_dirs() -> list[Path]:
    """Where templates are found by name: the folders in ``SYNTHGEN_TEMPLATE_DIR``
    (os.pathsep-separated, searched first, so a user template can shadow a built-in), then
    the built-ins."""
    user = [Path(p) for p in os.environ.get("SYNTHGEN_TEMPLATE_DIR", "").split(os.pathsep) if p]
    return [*user, builtin_dir()]


def list_templates(kind: str = "generate") -> list[Template]:
    """The templates of a kind ('generate', or 'judge' for judge rubrics) found by name."""
    found: dict[str, Template] = {}
    for folder in search_dirs():
        for path in sorted(folder.glob(f"*{SUFFIX}")):
            found.setdefault(path.name.removesuffix(SUFFIX), parse_template(path))
    return [t for _, t in sorted(found.items()) if t.kind == kind]


def load_template(name_or_path: str | Path) -> Template:
    """A template by name (``expand``; user folders first) or a template file by path."""
    ref = str(name_or_path)
    path = Path(ref)
    if path.suffix == SUFFIX or path.exists() or "/" in ref:
        tpl = parse_template(path)
    else:
        found = next(
            (d / f"{ref}{SUFFIX}" for d in search_dirs() if (d / f"{ref}{SUFFIX}").is_file()), None
        )
        if found is None:
            names = ", ".join(t.name for t in list_templates())
            raise TemplateError(f"unknown template {ref!r}: known are {names}, or give a path")
        tpl = parse_template(found, ref)
    tpl.check()
    return tpl


def load_mix(spec: str) -> list[tuple[Template, int]]:
    """``expand`` or ``expand:3,evolve:1`` (names or paths, each with an optional weight)."""
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts:
        raise TemplateError(f"{setting('template')} is empty")
    mix: list[tuple[Template, int]] = []
    for part in parts:
        ref, weight = part, 1
        head, sep, tail = part.rpartition(":")
        if sep and tail.strip().isdigit():
            ref, weight = head.strip(), int(tail)
        elif sep and head and not Path(part).exists():
            raise TemplateError(
                f"{setting('template')} {part!r}: the weight after ':' must be a whole number"
            )
        if weight < 1:
            raise TemplateError(f"{setting('template')} {part!r}: weights must be at least 1")
        template = load_template(ref)
        if template.kind != "generate":
            raise TemplateError(
                f"{setting('template')} {ref!r} is a {template.kind} template, not for generating"
            )
        mix.append((template, weight))
    names = [t.name for t, _ in mix]
    if len(set(names)) != len(names):
        raise TemplateError(f"{setting('template')} {spec!r} names a template twice")
    return mix
