"""Compare two async S3 clients for the upload path: obstore and aioboto3, a 2 MB resume up and down.

Not a test. Needs both clients and moto's server in one environment; aioboto3 pins an older botocore than
the project's moto, so run it from a scratch venv:

    python3 -m venv /tmp/s3-bench && /tmp/s3-bench/bin/pip install obstore aioboto3 'moto[server]'
    /tmp/s3-bench/bin/python bench/storage_clients.py --rounds 40

Each client gets a warm-up round, then `rounds` uploads (PUT) and downloads (GET, streamed in chunks as the
board's download handler would) of the same 2 MB of random bytes, against moto on loopback. The clients take
turns round by round, so a burst of load from elsewhere on the machine hits them alike.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import time

SIZE = 2 * 1024 * 1024
BUCKET = "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Obstore:
    name = "obstore"

    def __init__(self, endpoint: str) -> None:
        from obstore.store import S3Store

        self.store = S3Store(BUCKET, endpoint=endpoint, region="us-east-1", access_key_id="bench",
                             secret_access_key="bench", client_options={"allow_http": True})

    async def start(self) -> None:
        pass

    async def put(self, key: str, data: bytes) -> None:
        import obstore

        await obstore.put_async(self.store, key, data)

    async def get(self, key: str) -> int:
        import obstore

        result = await obstore.get_async(self.store, key)
        return sum([len(chunk) async for chunk in result.stream(min_chunk_size=64 * 1024)])

    async def close(self) -> None:
        pass


class Aioboto3:
    name = "aioboto3"

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    async def start(self) -> None:
        import aioboto3

        session = aioboto3.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1")
        self._cm = session.client("s3", endpoint_url=self.endpoint)
        self.client = await self._cm.__aenter__()

    async def put(self, key: str, data: bytes) -> None:
        await self.client.put_object(Bucket=BUCKET, Key=key, Body=data)

    async def get(self, key: str) -> int:
        answer = await self.client.get_object(Bucket=BUCKET, Key=key)
        total = 0
        body = answer["Body"]
        try:
            async for chunk in body.iter_chunks(64 * 1024):
                total += len(chunk)
        finally:
            body.close()
        return total

    async def close(self) -> None:
        await self._cm.__aexit__(None, None, None)


async def measure(clients, rounds: int, data: bytes) -> dict[str, dict[str, list[float]]]:
    times = {c.name: {"put": [], "get": []} for c in clients}
    for client in clients:
        await client.start()
        await client.put(f"{client.name}/warm", data)
        await client.get(f"{client.name}/warm")
    for n in range(rounds):
        for client in clients:
            key = f"{client.name}/resume-{n}.pdf"
            started = time.perf_counter()
            await client.put(key, data)
            times[client.name]["put"].append(time.perf_counter() - started)
            started = time.perf_counter()
            assert await client.get(key) == len(data)
            times[client.name]["get"].append(time.perf_counter() - started)
    for client in clients:
        await client.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                     aws_secret_access_key="bench").create_bucket(Bucket=BUCKET)
        data = os.urandom(SIZE)
        times = asyncio.run(measure([Obstore(endpoint), Aioboto3(endpoint)], args.rounds, data))
    finally:
        server.stop()
    print(f"2 MB object, {args.rounds} rounds each, moto on loopback; load average {os.getloadavg()[0]:.1f}")
    print(f"{'client':<10} {'op':<4} {'p50 ms':>8} {'p95 ms':>8} {'MB/s (p50)':>11}")
    for name, ops in times.items():
        for op, values in ops.items():
            values = sorted(values)
            p50 = statistics.median(values)
            p95 = values[int(0.95 * (len(values) - 1))]
            print(f"{name:<10} {op:<4} {p50 * 1000:8.1f} {p95 * 1000:8.1f} {SIZE / p50 / 1e6:11.1f}")


if __name__ == "__main__":
    main()
