"""``synthgen serve``: the job service on one port. Only typer here: the service (FastAPI,
uvicorn, the engine) is imported when the command runs, not for ``synthgen --help``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["serve"]

LOOPBACK = "127.0.0.1"


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; anything but 127.0.0.1 needs --tokens.")
    ] = LOOPBACK,
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8700,
    data: Annotated[
        Path, typer.Option(help="Folder for jobs' files, uploads, the cache and the job store.")
    ] = Path("synthgen-data"),
    db: Annotated[
        str | None,
        typer.Option(help="Job store: postgresql://... (default: SQLite under --data)."),
    ] = None,
    tokens: Annotated[
        Path | None,
        typer.Option(help="Bearer tokens, one name:token per line; 'admin' sees all jobs."),
    ] = None,
    max_jobs: Annotated[int, typer.Option(help="Jobs run at once; the rest queue.")] = 2,
    max_upload_mb: Annotated[
        float, typer.Option(help="Largest seeds upload, in MB (other bodies: 20 MB).")
    ] = 100.0,
) -> None:
    """Run the job service: an HTTP API (/v1, /docs), a web page at /, and /metrics."""
    from synthgen.cli.app import _fail

    if not 0 <= port <= 65535:
        _fail(f"--port {port}: use 0..65535", 2)
    if max_jobs < 1:
        _fail(f"--max-jobs {max_jobs}: must be at least 1", 2)
    if not 0 < max_upload_mb <= 100_000:
        _fail(f"--max-upload-mb {max_upload_mb}: use a size in MB above 0", 2)
    if tokens is None and host != LOOPBACK:
        _fail(
            f"--host {host} without --tokens would let anyone who can reach it run jobs: "
            f"give --tokens FILE, or listen on {LOOPBACK}",
            2,
        )
    try:
        import uvicorn

        from synthgen.service.app import create_app
    except ImportError as e:
        _fail(
            f"synthgen serve needs the serve extra ({e.name} is missing): "
            "pip install 'synthgen[serve]'",
            2,
        )
    options = {"db": db, "max_jobs": max_jobs, "upload_bytes": int(max_upload_mb * 1_000_000)}
    _run_server(uvicorn, create_app, host, port, data, tokens, options)


def _run_server(
    uvicorn: Any,
    create_app: Any,
    host: str,
    port: int,
    data: Path,
    tokens: Path | None,
    options: dict[str, Any],
) -> None:
    import socket

    from synthgen.cli.app import _fail
    from synthgen.errors import SynthgenError
    from synthgen.service.auth import Tokens
    from synthgen.service.service import Limits

    try:
        names = Tokens.load(tokens) if tokens else None  # before anything is written
        data.mkdir(parents=True, exist_ok=True)
        # The response cache of every job lives with the jobs: a resumed job finds it.
        os.environ["SYNTHGEN_CACHE_DIR"] = str((data / "cache").resolve())
        app = create_app(
            data,
            db=options["db"],
            tokens=names,
            max_jobs=options["max_jobs"],
            limits=Limits(upload_bytes=options["upload_bytes"]),
        )
    except SynthgenError as e:
        _fail(str(e), e.exit_code)
    except OSError as e:
        _fail(f"--data {data}: cannot be used ({e.strerror or e})", 2)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: without it a response's second write waits for the
    # client's delayed ACK (40 ms a request).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        _fail(f"cannot listen on {host}:{port}: {e.strerror or e}", 2)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    store = "PostgreSQL" if options["db"] else f"SQLite in {data}"
    typer.echo(f"synthgen serve: listening on http://{shown}:{bound} (jobs in {data}, {store})")
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=5)
    uvicorn.Server(config).run(sockets=[sock])
