"""Every error synthgen raises on purpose.

The tree::

    SynthgenError                 base; the CLI prints str(error) on one line
    ├── InputError                bad input or usage: exit code 2, nothing written
    │   ├── SeedError             a seeds file that cannot be read (names file:line)
    │   ├── TemplateError         unknown template, syntax error, bad front matter
    │   ├── ConfigError           flags that contradict each other or are out of range
    │   └── OutputExistsError     OUT holds another job's files and --force was not given
    └── RunError                  failed at run time: exit code 1
        ├── TeacherError          a request to the teacher failed (kind says how)
        │   └── TeacherFatalError 401/403/404: retrying cannot help
        └── BudgetExceeded        a budget or the yield guard ended the run early

Messages never contain secrets: the teacher backends build them from the status, the error
type, the model and the endpoint host, never from request headers.
"""

from __future__ import annotations


class SynthgenError(Exception):
    """Base of every error synthgen raises on purpose."""

    exit_code = 1


class InputError(SynthgenError):
    """Bad input or usage; nothing has been written."""

    exit_code = 2


class SeedError(InputError):
    """A seeds file cannot be used; the message names the file and line."""


class TemplateError(InputError):
    """A prompt template cannot be found, parsed or rendered."""


class ConfigError(InputError):
    """Settings that are out of range or contradict each other."""


class OutputExistsError(InputError):
    """The output folder holds files from a different job."""


class RunError(SynthgenError):
    """The run started but could not finish."""

    exit_code = 1


class TeacherError(RunError):
    """A teacher request failed.

    ``kind`` is one of: rate_limit, server, timeout, connection, auth, not_found,
    bad_request, unknown. ``retry_after`` is the server's hint in seconds, when it gave one.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str = "unknown",
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.kind in {"rate_limit", "server", "timeout", "connection"}


class TeacherFatalError(TeacherError):
    """Authentication or model errors: the whole run stops at once."""


class BudgetExceeded(RunError):
    """A budget (requests, cost) or the yield guard stopped the run; output is partial."""
