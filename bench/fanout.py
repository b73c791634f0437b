"""SSE fan-out: N clients on one realtime process, one event published; how long until every
client has it, and the process's resident memory per connection.

    python -m bench.fanout [--clients 10000]

Needs the Redis of `make services`. Raises the open-file limit of itself and of the realtime
process it starts (as far as the hard limit allows).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from redis.asyncio import Redis

from pantry_common import AcceptedData, Event, EventPublisher, Keys

OUT = Path(__file__).parent / "out"


def raise_nofile(target: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(target, hard) if hard != resource.RLIM_INFINITY else target
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (ValueError, OSError):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, target))
        except (ValueError, OSError):
            return soft
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Client:
    __slots__ = ("connected", "got_at", "reader", "writer")

    def __init__(self) -> None:
        self.got_at: float | None = None
        self.connected = False


async def open_client(port: int, search_id: str, client: Client, marker: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET /events?search_id={search_id} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    buffer = b""
    while b"retry:" not in buffer:
        chunk = await reader.read(4096)
        if not chunk:
            raise ConnectionError(f"closed before the stream began: {buffer[:200]!r}")
        buffer += chunk
    client.connected = True
    while marker not in buffer:
        chunk = await reader.read(65536)
        if not chunk:
            return
        buffer = buffer[-len(marker) :] + chunk
    client.got_at = time.perf_counter()
    writer.close()


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    limit = raise_nofile(args.clients + 1000)
    if limit < args.clients + 100:
        print(f"open-file limit {limit} is below {args.clients}", file=sys.stderr)
        return 2
    redis_url = os.environ.get("PANTRY_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    port = 18000 + os.getpid() % 1000
    env = {
        **os.environ,
        "PANTRY_REDIS_URL": redis_url,
        "PANTRY_REDIS_PREFIX": prefix,
        "PANTRY_LOG_LEVEL": "WARNING",
        "PANTRY_REALTIME_PORT": str(port),
        "PANTRY_REALTIME_MAX_CONNECTIONS": str(args.clients + 100),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "pantry_realtime"],
        env=env,
        preexec_fn=lambda: raise_nofile(args.clients + 1000),
    )
    redis = Redis.from_url(redis_url)
    keys = Keys(prefix)
    search_id = uuid.uuid4()
    await redis.set(keys.refresh(str(search_id)), "requested", ex=600)
    results: dict[str, object] = {"clients": args.clients, "cpus": os.cpu_count()}
    try:
        for _ in range(100):
            try:
                _, w = await asyncio.open_connection("127.0.0.1", port)
                w.close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        base_rss = rss_kb(server.pid)
        marker = b"id: "
        clients = [Client() for _ in range(args.clients)]
        tasks: list[asyncio.Task[None]] = []
        started = time.perf_counter()
        for i in range(0, args.clients, args.batch):
            for client in clients[i : i + args.batch]:
                tasks.append(asyncio.create_task(open_client(port, str(search_id), client, marker)))
            while sum(c.connected for c in clients[: i + args.batch]) < min(
                i + args.batch, args.clients
            ):
                await asyncio.sleep(0.01)
                if any(t.done() and t.exception() for t in tasks):
                    raise next(t.exception() for t in tasks if t.done() and t.exception())  # type: ignore[misc]
        connect_s = time.perf_counter() - started
        await asyncio.sleep(1.0)
        loaded_rss = rss_kb(server.pid)
        per_conn = (loaded_rss - base_rss) * 1024 / args.clients
        print(
            f"{args.clients} SSE clients connected in {connect_s:.1f} s; "
            f"server RSS {base_rss / 1024:.1f} MiB -> {loaded_rss / 1024:.1f} MiB "
            f"({per_conn / 1024:.1f} KiB per connection)"
        )
        publisher = EventPublisher(redis, keys)
        sent = time.perf_counter()
        await publisher.publish(
            Event(type="search.accepted", search_id=search_id, data=AcceptedData(sources=["x"]))
        )
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
        lags = sorted((c.got_at - sent) * 1000 for c in clients if c.got_at is not None)
        received = len(lags)
        p99 = lags[min(len(lags) - 1, round(0.99 * (len(lags) - 1)))]
        print(
            f"one event to {received}/{args.clients} clients: p50 {statistics.median(lags):.1f} ms"
            f"  p99 {p99:.1f} ms  max {lags[-1]:.1f} ms"
        )
        results.update(
            connected_in_s=round(connect_s, 2),
            rss_base_mib=round(base_rss / 1024, 1),
            rss_loaded_mib=round(loaded_rss / 1024, 1),
            rss_per_connection_kib=round(per_conn / 1024, 2),
            received=received,
            delivery_p50_ms=round(statistics.median(lags), 1),
            delivery_p99_ms=round(p99, 1),
            delivery_max_ms=round(lags[-1], 1),
        )
    finally:
        server.terminate()
        server.wait(30)
        await redis.aclose()
    OUT.mkdir(exist_ok=True)
    (OUT / "fanout.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    sys.exit(asyncio.run(main()))
