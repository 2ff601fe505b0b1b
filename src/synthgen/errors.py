"""Every error synthgen raises on purpose.

The tree::

    SynthgenError                 base; the CLI prints str(error) on one line
    ├── InputError                bad input or usage: exit code 2, nothing written
    │   ├── SeedError             a seeds file that cannot be read (names file:line)
    │   ├── TemplateError         unknown template, syntax error, bad front matter
    │   ├── ConfigError           flags that contradict each other or are out of range
    │   ├── OutputExistsError     OUT holds another job's files and --force was not given,
    │   │                         or files synthgen did not write, or is no place for output
    │   ├── OutputInUseError      another run holds OUT's lock (the message names its pid)
    │   └── DamagedStateError     OUT/.synthgen cannot be resumed as it is (names file:line)
    └── RunError                  failed at run time: exit code 1
        ├── TeacherError          a request to the teacher failed (kind says how)
        │   └── TeacherFatalError 401/403/404, out of credit: the whole run must stop
        ├── BudgetExceeded        a budget or the yield guard ended the run early
        ├── WriteError            a file could not be written mid-run (full disk, I/O error);
        │                         the message names the file
        └── IndexLostError        the shared dedup index (Redis) was lost mid-run

Messages never contain secrets: the teacher backends build them from the status, the error
type, the model, the endpoint host and the server's own message, and every message is passed
through :func:`synthgen.redact.redact` (the actual keys in use, then key shapes) when the error
is made, so a server that echoes the request's ``Authorization`` header cannot leak it.
"""

from __future__ import annotations


class SynthgenError(Exception):
    """Base of every error synthgen raises on purpose; its message is redacted."""

    exit_code = 1

    def __init__(self, *args: object) -> None:
        if args and isinstance(args[0], str):
            from synthgen.redact import redact

            args = (redact(args[0]), *args[1:])
        super().__init__(*args)


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


class OutputInUseError(InputError):
    """Another run holds the output folder's lock; the message names its pid."""


class DamagedStateError(InputError):
    """The run state in OUT/.synthgen cannot be used as it is; the message names the file
    and line, and what to do."""


class RunError(SynthgenError):
    """The run started but could not finish."""

    exit_code = 1


class WriteError(RunError):
    """A file could not be written during the run (full disk, I/O error); the message names
    the file. Paid work already journaled is kept, and the same command resumes."""


def write_error(path: object, error: OSError) -> WriteError:
    """The one-line error for ``error`` raised while writing ``path``."""
    why = error.strerror or type(error).__name__
    return WriteError(
        f"{path}: cannot be written ({why}); free some space or choose another -o, "
        "then run the same command again"
    )


class IndexLostError(RunError):
    """The shared dedup index stopped answering during the run. What was curated before is
    journaled, and the same command resumes once the index is back."""


class TeacherError(RunError):
    """A teacher request failed.

    ``kind`` says how, and whether sending the same request again can help:

    - retryable: rate_limit (429), server (5xx, 408, 409, a truncated reply), timeout,
      connection;
    - not retryable (the same request gets the same answer): bad_request (a 4xx, or a 5xx
      whose body is a validation error), too_large (the reply passed ``max_reply_bytes``),
      not_json (a 200 that is not JSON, e.g. an HTML page: the base URL is probably wrong),
      unknown;
    - fatal (:class:`TeacherFatalError`, the run must stop): auth (401/403), not_found (404),
      quota (out of credit: 402, or 429 ``insufficient_quota``).

    ``retry_after`` is the server's hint in seconds, when it gave one (capped); ``detail`` is
    the server's own message, redacted and bounded ("" when it sent none).
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str = "unknown",
        status: int | None = None,
        retry_after: float | None = None,
        detail: str = "",
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
        if detail:
            from synthgen.redact import redact

            detail = redact(detail)
        self.detail = detail

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE_KINDS


RETRYABLE_KINDS = frozenset({"rate_limit", "server", "timeout", "connection"})


class TeacherFatalError(TeacherError):
    """Authentication, model or credit errors: the whole run stops at once."""


class BudgetExceeded(RunError):
    """A budget (requests, cost) or the yield guard stopped the run; output is partial."""
