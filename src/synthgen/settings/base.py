"""What every Settings model shares, apart from its fields: one-line errors, the Specs, and
the JSON views (report.json's settings section, the job fingerprint's)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic.fields import FieldInfo

from synthgen.errors import ConfigError
from synthgen.settings.spec import Spec, error_line, spec_of

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self is Python 3.11+

__all__ = ["CLI_CONTEXT", "SettingsBase"]

# The validation context under which errors name command-line flags instead of parameters.
CLI_CONTEXT = {"cli": True}


class SettingsBase(BaseModel):
    # Frozen: a run's settings never change under it.
    # defer_build: `synthgen expand --help` reads the fields but never validates.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    @model_validator(mode="wrap")
    @classmethod
    def _one_line(
        cls, data: Any, handler: ModelWrapValidatorHandler[Self], info: ValidationInfo
    ) -> Self:
        try:
            return handler(data)
        except ValidationError as e:
            cli = bool(info.context and info.context.get("cli"))
            raise ConfigError(error_line(e.errors()[0], cls.model_fields, cli=cli)) from None

    @classmethod
    def specs(cls) -> Iterator[tuple[str, FieldInfo, Spec]]:
        """Every field with its pydantic FieldInfo and its Spec, in declaration order."""
        for name, info in cls.model_fields.items():
            yield name, info, spec_of(info)

    @classmethod
    def from_parameters(cls, values: Mapping[str, Any], *, cli: bool = False) -> Self:
        """Settings from a call's parameters (``expand``'s, or the CLI's flags): the fields
        among them. An empty model or endpoint asks for the environment's default."""
        given = {
            name: values[name]
            for name, info in cls.model_fields.items()
            if name in values and (info.default_factory is None or values[name])
        }
        return cls.model_validate(given, context=CLI_CONTEXT if cli else None)

    def public(self) -> dict[str, Any]:
        """Every setting, as plain JSON. The base URL may carry credentials: what is stored
        or shown goes through ``run.job.shown_settings`` first."""
        return self.model_dump(mode="json")

    def identity(self) -> dict[str, Any]:
        """The identity fields as plain JSON: the settings part of the job fingerprint."""
        data = self.public()
        ids = {name: data[name] for name, _, spec in self.specs() if spec.identity}
        # Only when on: the fingerprints of jobs from before the flag stay as they were.
        if ids.get("semantic_dedup", 0) is None:
            del ids["semantic_dedup"]
        return ids
