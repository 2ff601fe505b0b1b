"""Teacher throughput: ``synthgen expand`` against a bare aiohttp loop, same server, same bodies.

    python benchmarks/bench_throughput.py [--concurrency 64 256] [--seconds 10] [--target 15]

A FakeTeacher runs in its own process (its own GIL) and answers every request after a fixed
200 ms. At each concurrency, one after the other against that server:

- bare: a plain aiohttp loop posting the JSON body synthgen renders for its first request
  (template ``expand``, seeds ``samples/support.jsonl``) and parsing each reply: the
  practical limit of this machine;
- teacher: synthgen's own OpenAI-compatible teacher (its default aiohttp transport) in the same
  plain loop, without the engine: separates the SDK's cost from the engine's;
- synthgen: ``synthgen expand -n N --no-cache`` as a subprocess, N sized so that it sends
  requests for at least ``--target`` seconds (it cannot outrun the teacher loop). At these
  sizes the engine curates in a worker process (``synthgen.run.curation_worker``, through
  ``run/ordered_curation.py``); with ``--loop-too`` it runs again with
  ``SYNTHGEN_CURATION_WORKER=off`` (curation on the event loop), for the difference in the
  same run.

Requests/s are counted by the server (arrivals in the middle 80% of each run's span), the same
way for every client; synthgen's own report (requests.total / wall_time_s, which includes
start-up and the final split and write) is printed beside it. CPU time is the client
process's user+sys from ``wait4``, which includes the curation worker's (a child it waited
for); peak RSS is the larger of the two processes', not their sum. With ``--sdk-httpx`` the
openai SDK on its default httpx transport is measured too, at 64. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    SEEDS,
    ChildResult,
    Server,
    bench_env,
    print_machine,
    run_child,
    synthgen_exe,
)

MODEL = "m"


# ---- the clients, each run as its own process ---------------------------------------------------


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _workers(concurrency: int, seconds: float, one: Any) -> tuple[int, float]:
    """(requests done, CPU seconds the loop used: imports and set-up left out)."""
    loop = asyncio.get_running_loop()
    stop = loop.time() + seconds
    done = 0
    cpu = _cpu()

    async def worker() -> None:
        nonlocal done
        while loop.time() < stop:
            await one()
            done += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, _cpu() - cpu


async def bare_loop(
    url: str, body: dict[str, Any], concurrency: int, seconds: float
) -> tuple[int, float]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    headers = {"Content-Type": "application/json", "Authorization": "Bearer no-key"}
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            payload = json.dumps(body).encode()  # a real client serialises every request
            async with session.post(f"{url}/chat/completions", data=payload, headers=headers) as r:
                reply = json.loads(await r.read())
            if r.status != 200 or not reply["choices"]:
                raise RuntimeError(f"bad reply {r.status}")

        return await _workers(concurrency, seconds, one)


async def teacher_loop(
    url: str, body: dict[str, Any], concurrency: int, seconds: float
) -> tuple[int, float]:
    from synthgen.teacher import ChatRequest, make_teacher

    # The transport expand uses by default (direct aiohttp).
    teacher = make_teacher(MODEL, base_url=url, max_connections=concurrency)
    request = ChatRequest(
        messages=tuple(body["messages"]),
        temperature=body["temperature"],
        response_format=body.get("response_format"),
    )

    async def one() -> None:
        await teacher.complete(request)

    try:
        return await _workers(concurrency, seconds, one)
    finally:
        await teacher.aclose()


async def sdk_httpx_loop(
    url: str, body: dict[str, Any], concurrency: int, seconds: float
) -> tuple[int, float]:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=url, api_key="no-key", max_retries=0)  # default transport

    async def one() -> None:
        await client.chat.completions.create(**body)

    try:
        return await _workers(concurrency, seconds, one)
    finally:
        await client.close()


CLIENTS = {"bare": bare_loop, "teacher": teacher_loop, "sdk-httpx": sdk_httpx_loop}


def client_main(argv: list[str]) -> None:
    kind, url, body_file, concurrency, seconds = argv
    body = json.loads(Path(body_file).read_text())
    start = time.perf_counter()
    done, cpu = asyncio.run(CLIENTS[kind](url, body, int(concurrency), float(seconds)))
    print(json.dumps({"requests": done, "loop_cpu_s": cpu, "seconds": time.perf_counter() - start}))


# ---- the driver ----------------------------------------------------------------------------------


def render_body(tmp: Path, per_request: int | None) -> dict[str, Any]:
    """The JSON body synthgen sends for its first request (what the openai SDK posts)."""
    from synthgen.run.expand import prepare
    from synthgen.settings import Settings

    job = prepare(
        SEEDS,
        Settings(n=100, out_dir=tmp / "render", model=MODEL, per_request=per_request),
    )
    request = job.request(job.planner.plan(0))
    body: dict[str, Any] = {
        "model": MODEL,
        "messages": list(request.messages),
        "temperature": request.temperature,
    }
    if request.response_format:
        body["response_format"] = request.response_format
    return body


def measure_client(
    server: Server, kind: str, body_file: Path, concurrency: int, seconds: float
) -> dict[str, Any]:
    server.reset()
    before = server.stats()["cpu_s"]
    cmd = [sys.executable, __file__, "--client", kind, server.url, str(body_file)]
    child = run_child([*cmd, str(concurrency), str(seconds)])
    if child.returncode != 0:
        raise SystemExit(f"{kind} client failed:\n{child.stderr[-2000:]}")
    own = json.loads(child.stdout)
    fig = _figures(kind, concurrency, child, server.stats(), own["requests"], before)
    fig["cpu_per_1k"] = 1000 * own["loop_cpu_s"] / max(1, own["requests"])
    return fig


def synthgen_cmd(
    url: str, out: Path, n: int, concurrency: int, per_request: int | None
) -> list[str]:
    cmd = [synthgen_exe(), "expand", str(SEEDS), "-n", str(n), "--base-url", url]
    cmd += ["--model", MODEL, "--concurrency", str(concurrency), "--no-cache", "-q", "--json"]
    cmd += ["-o", str(out), "--force"]
    if per_request is not None:
        cmd += ["--per-request", str(per_request)]
    return cmd


def measure_synthgen(
    server: Server,
    tmp: Path,
    concurrency: int,
    n: int,
    per_request: int | None,
    worker: str = "auto",
) -> dict[str, Any]:
    """One ``synthgen expand`` run; CPU per 1,000 requests net of a 1-request run's CPU
    (imports, set-up, split and write), which is paid once per run. ``worker``: the
    curation worker process (SYNTHGEN_CURATION_WORKER), "auto" (synthgen's choice) or "off"
    (curation on the event loop). CPU includes the worker's (wait4 counts the children a
    process waited for)."""
    env = bench_env(tmp)
    env["SYNTHGEN_CURATION_WORKER"] = worker
    fixed = run_child(synthgen_cmd(server.url, tmp / "fixed", 1, concurrency, per_request), env=env)
    server.reset()
    before = server.stats()["cpu_s"]
    out = tmp / f"out-{concurrency}-{worker}"
    cmd = synthgen_cmd(server.url, out, n, concurrency, per_request)
    child = run_child(cmd, env=env)
    if child.returncode != 0 or fixed.returncode != 0:
        err = child.stderr or fixed.stderr
        raise SystemExit(f"synthgen expand failed ({child.returncode}):\n{err[-2000:]}")
    report = json.loads(child.stdout)
    requests = report["requests"]["total"]
    kind = "synthgen" if worker == "auto" else f"synthgen, worker {worker}"
    fig = _figures(kind, concurrency, child, server.stats(), requests, before)
    fig["cpu_per_1k"] = 1000 * max(0.0, child.cpu_s - fixed.cpu_s) / max(1, requests - 1)
    fig["fixed_cpu_s"] = fixed.cpu_s
    wall = report.get("run", report)["wall_time_s"]  # report.json schema 2 keeps it in "run"
    fig["report_rate"] = requests / wall
    fig["report_wall_s"] = wall
    fig["accepted"] = report["accepted"]
    return fig


def _figures(
    kind: str,
    concurrency: int,
    child: ChildResult,
    stats: dict[str, Any],
    requests: int,
    server_cpu_before: float,
) -> dict[str, Any]:
    span = (stats["last"] - stats["first"]) if stats["count"] >= 2 else 0.0
    return {
        "client": kind,
        "concurrency": concurrency,
        "requests": requests,
        "server_count": stats["count"],
        "rate": stats["rate"] or 0.0,
        "span_s": span,
        "wall_s": child.wall_s,
        "cpu_s": child.cpu_s,
        "maxrss_mb": child.maxrss_mb,
        "body_bytes": stats["body_bytes"],
        "server_cpu_per_1k": 1000 * (stats["cpu_s"] - server_cpu_before) / max(1, stats["count"]),
    }


def run(
    concurrencies: list[int],
    seconds: float,
    target: float,
    per_request: int | None,
    sdk_httpx: bool,
    latency: float,
    loop_too: bool = False,
) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="synthgen-bench-") as name:
        tmp = Path(name)
        body = render_body(tmp, per_request)
        body_file = tmp / "body.json"
        body_file.write_text(json.dumps(body))
        asked = per_request or 5
        for concurrency in concurrencies:
            with Server("--latency", str(latency)) as server:
                bare = measure_client(server, "bare", body_file, concurrency, seconds)
                teacher = measure_client(server, "teacher", body_file, concurrency, seconds)
                # Sized by the teacher loop's rate, an upper bound for synthgen (which sends
                # through that teacher): the run lasts at least ``target`` seconds.
                n = math.ceil(teacher["rate"] * target) * asked
                teacher["fraction"] = teacher["rate"] / bare["rate"]
                rows += [bare, teacher]
                for worker in ("auto", "off") if loop_too else ("auto",):
                    ours = measure_synthgen(server, tmp, concurrency, n, per_request, worker)
                    ours["n"] = n
                    ours["fraction"] = ours["rate"] / bare["rate"]
                    rows.append(ours)
                if sdk_httpx and concurrency == 64:
                    sdk = measure_client(server, "sdk-httpx", body_file, concurrency, seconds)
                    sdk["fraction"] = sdk["rate"] / bare["rate"]
                    rows.append(sdk)
    return {"latency_s": latency, "body_bytes": len(json.dumps(body)), "rows": rows}


def show(result: dict[str, Any]) -> None:
    print(
        f"\nFakeTeacher in its own process, {result['latency_s'] * 1000:.0f} ms per reply; "
        f"request body {result['body_bytes']:,} bytes (rendered by synthgen)"
    )
    head = (
        f"{'client':<19} {'conc':>5} {'requests':>9} {'req/s':>8} {'of bare':>8} "
        f"{'CPU s':>7} {'CPU s/1k req':>13} {'server':>7} {'peak RSS':>9}"
    )
    print(head)
    print("-" * len(head))
    for r in result["rows"]:
        frac = f"{r['fraction']:.2f}" if "fraction" in r else "1.00"
        print(
            f"{r['client']:<19} {r['concurrency']:>5} {r['requests']:>9,} {r['rate']:>8.0f} "
            f"{frac:>8} {r['cpu_s']:>7.1f} {r['cpu_per_1k']:>13.2f} "
            f"{r['server_cpu_per_1k']:>7.2f} {r['maxrss_mb']:>7.0f}MB"
        )
    for r in result["rows"]:
        if r["client"].startswith("synthgen"):
            print(
                f"{r['client']} at {r['concurrency']}: -n {r['n']:,}, requests for "
                f"{r['span_s']:.1f} s "
                f"(process {r['wall_s']:.1f} s); its report says {r['report_rate']:.0f} req/s "
                f"over wall_time_s {r['report_wall_s']:.1f} s; a 1-request run costs "
                f"{r['fixed_cpu_s']:.1f} CPU s"
            )
    print(
        "req/s: counted by the server, middle 80% of each run. CPU s: the client process, "
        "user+sys.\nCPU s/1k req: plain loops, the loop alone (no imports); synthgen, net of "
        "a 1-request run.\nserver: the FakeTeacher process's CPU s per 1,000 requests."
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        client_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each plain loop")
    parser.add_argument("--target", type=float, default=15.0, help="seconds synthgen sends for")
    parser.add_argument("--per-request", type=int, default=None, help="default: the template's")
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--sdk-httpx", action="store_true", help="also the SDK's httpx, at 64")
    parser.add_argument(
        "--loop-too",
        action="store_true",
        help="also synthgen with curation on the event loop (SYNTHGEN_CURATION_WORKER=off)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    print_machine()
    result = run(
        args.concurrency,
        args.seconds,
        args.target,
        args.per_request,
        args.sdk_httpx,
        args.latency,
        args.loop_too,
    )
    show(result)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
