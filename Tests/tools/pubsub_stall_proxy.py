#!/usr/bin/env python3
"""A TCP proxy in front of Redis that can stop forwarding pub/sub messages while passing
everything else (subscription confirmations, PONGs, command replies): the half-dead
connection a delivery probe must find.

    pubsub_stall_proxy.py <target port>

Prints the port it listens on (loopback), then reads commands on stdin, one per line:
`stall` drops every pub/sub message pushed to any client until `resume`. Exits when stdin
closes.
"""
import asyncio
import sys

PUSHES = (b"message", b"smessage", b"pmessage")
stalled = False


def parse(buffer, start=0):
    """One RESP value at `start`: (end, first array element or None), or None if incomplete."""
    if start >= len(buffer):
        return None
    kind = buffer[start:start + 1]
    line_end = buffer.find(b"\r\n", start)
    if line_end < 0:
        return None
    head = buffer[start + 1:line_end]
    if kind in (b"+", b"-", b":"):
        return line_end + 2, None
    if kind == b"$":
        length = int(head)
        if length < 0:
            return line_end + 2, None
        end = line_end + 2 + length + 2
        return (end, bytes(buffer[line_end + 2:line_end + 2 + length])) if end <= len(buffer) else None
    if kind == b"*":
        count = int(head)
        position = line_end + 2
        first = None
        for index in range(max(count, 0)):
            parsed = parse(buffer, position)
            if parsed is None:
                return None
            position, value = parsed
            if index == 0:
                first = value
        return position, first
    raise ValueError(f"not RESP: {bytes(buffer[start:start + 20])!r}")


async def pipe_from_redis(reader, writer):
    buffer = bytearray()
    while data := await reader.read(65536):
        buffer += data
        out = bytearray()
        while (parsed := parse(buffer)) is not None:
            end, first = parsed
            if not (stalled and first in PUSHES):
                out += buffer[:end]
            del buffer[:end]
        if out:
            writer.write(bytes(out))
            await writer.drain()
    writer.close()


async def pipe(reader, writer):
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


async def main():
    target = int(sys.argv[1])

    async def accept(client_reader, client_writer):
        try:
            redis_reader, redis_writer = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            pipe(client_reader, redis_writer), pipe_from_redis(redis_reader, client_writer),
            return_exceptions=True)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    global stalled
    while line := await reader.readline():
        command = line.strip()
        if command == b"stall":
            stalled = True
        elif command == b"resume":
            stalled = False
        print(f"ok {command.decode()}", flush=True)


asyncio.run(main())
