"""An aioice ICE agent speaking `icebridge peer`'s line protocol, for interop tests.

stdout: our description as RFC 8839 lines (a=ice-ufrag, a=ice-pwd, a=ice-options:trickle, a=candidate...,
a=end-of-candidates), flushed line by line. stdin: the peer's, in the same form, applied as it arrives.
stderr: JSON event lines ({"event": "state" | "selected" | "data" | "echoed" | "error" | "done", ...}).

Gathers on loopback only: aioice lists every interface address except 127.0.0.1 (ice.get_host_addresses), so
that function is replaced by one returning exactly the loopback addresses asked for.

Exit codes as `icebridge peer`: 0 connected (and echoed with --send; stdin ended with --echo), 1 failure or
timeout, 2 usage (or aioice missing).
"""

import argparse
import asyncio
import ipaddress
import json
import logging
import sys
import time

INSTALL_HINT = "aioice is required: install it with `apt-get install -y python3-aioice`"

try:
    import aioice
    import aioice.ice
    from aioice import Candidate
except ImportError as exc:  # pragma: no cover - the test turns this into a failure with the hint
    sys.stderr.write(json.dumps({"event": "error", "code": "NO_AIOICE", "message": f"{exc}. {INSTALL_HINT}"}) + "\n")
    sys.exit(2)

RESEND_INTERVAL_S = 0.5


def event(**fields):
    sys.stderr.write(json.dumps(fields) + "\n")
    sys.stderr.flush()


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def candidate_json(c):
    return {"candidate": "candidate:" + c.to_sdp(), "type": c.type, "address": c.host, "port": c.port, "protocol": c.transport}


class Failure(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class Peer:
    def __init__(self, args):
        self.args = args
        self.conn = aioice.Connection(ice_controlling=args.role == "controlling", components=1, use_ipv4=True, use_ipv6=True)
        self.connected = asyncio.Event()
        self.input_ended = asyncio.Event()
        self.echoed = asyncio.Event()
        self.params_applied = False
        self.remote_ended = False
        self.connect_task = None
        self.line_number = 0

    async def run(self):
        await self.conn.gather_candidates()
        event(event="gathering", state="complete")
        out(f"a=ice-ufrag:{self.conn.local_username}")
        out(f"a=ice-pwd:{self.conn.local_password}")
        out("a=ice-options:trickle")
        for c in self.conn.local_candidates:
            out("a=candidate:" + c.to_sdp())
        out("a=end-of-candidates")

        reader = asyncio.ensure_future(self.read_input())
        try:
            await self.wait_connected(reader)
            receiver = asyncio.ensure_future(self.receive())
            try:
                waits = [reader, receiver]
                if self.args.send is not None:
                    sender = asyncio.ensure_future(self.send_until_echoed())
                    waits.append(sender)
                    await self.first(waits, self.echoed.wait())
                if self.args.echo:
                    await self.first(waits, self.input_ended.wait())
            finally:
                for t in waits:
                    t.cancel()
        finally:
            reader.cancel()
            if self.connect_task is not None:
                self.connect_task.cancel()

    async def first(self, background, awaitable):
        """Waits for `awaitable`; a background task that fails first raises its error."""
        main = asyncio.ensure_future(awaitable)
        while True:
            done, _ = await asyncio.wait([main, *background], return_when=asyncio.FIRST_COMPLETED)
            if main in done:
                return main.result()
            for t in done:
                if t.exception() is not None:
                    main.cancel()
                    raise t.exception()
                background.remove(t)

    async def wait_connected(self, reader):
        while self.connect_task is None:
            if reader.done():
                reader.result()  # a signalling error
                raise Failure("SIGNALLING", "stdin ended before the peer sent a=ice-ufrag and a=ice-pwd")
            await asyncio.sleep(0.01)
        await self.first([reader], self.connect_task)
        event(event="state", state="connected")
        pair = self.conn._nominated.get(1)  # aioice keeps the selected pair per component here
        if pair is not None:
            event(event="selected", local=candidate_json(pair.local_candidate), remote=candidate_json(pair.remote_candidate))
        self.connected.set()

    async def read_input(self):
        loop = asyncio.get_running_loop()
        stream = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), sys.stdin)
        while True:
            raw = await stream.readline()
            if not raw:
                break
            self.line_number += 1
            await self.on_line(raw.decode("utf-8", "replace").strip())
        self.input_ended.set()
        if not self.remote_ended and self.params_applied:
            self.remote_ended = True
            await self.conn.add_remote_candidate(None)

    async def on_line(self, line):
        if line == "":
            return
        if not line.startswith("a="):
            raise Failure("SIGNALLING", f"line {self.line_number} is not an a= attribute line")
        name, _, value = line[2:].partition(":")
        if name == "ice-ufrag":
            self.conn.remote_username = value
        elif name == "ice-pwd":
            self.conn.remote_password = value
        elif name == "ice-lite":
            self.conn.remote_is_lite = True
        elif name == "candidate":
            self.apply_parameters()
            try:
                candidate = Candidate.from_sdp(value)
            except (ValueError, IndexError) as exc:
                raise Failure("SIGNALLING", f"line {self.line_number}: bad candidate: {exc}")
            if ipaddress.ip_address(candidate.host).is_loopback is False:
                # Never check anything but loopback from a test.
                event(event="ignored", line=line, reason="not a loopback address")
                return
            await self.conn.add_remote_candidate(candidate)
        elif name == "end-of-candidates":
            self.apply_parameters()
            if not self.remote_ended:
                self.remote_ended = True
                await self.conn.add_remote_candidate(None)

    def apply_parameters(self):
        if self.conn.remote_username is None or self.conn.remote_password is None:
            raise Failure("SIGNALLING", f"line {self.line_number}: a candidate before a=ice-ufrag and a=ice-pwd")
        if not self.params_applied:
            self.params_applied = True
            event(event="state", state="checking")
            self.connect_task = asyncio.ensure_future(self.conn.connect())

    async def receive(self):
        while True:
            data = await self.conn.recv()
            text = data.decode("utf-8", "replace")
            event(event="data", text=text, bytes=len(data))
            if self.args.echo:
                await self.conn.send(data)
            if self.args.send is not None and text == self.args.send and not self.echoed.is_set():
                event(event="echoed", text=text, rttMs=round((time.monotonic() - self.sent_at) * 1000, 3))
                self.echoed.set()

    async def send_until_echoed(self):
        self.sent_at = time.monotonic()
        while not self.echoed.is_set():
            await self.conn.send(self.args.send.encode("utf-8"))
            event(event="sent", text=self.args.send)
            await asyncio.sleep(RESEND_INTERVAL_S)


async def main(args):
    addresses = args.address or ["127.0.0.1"]
    for a in addresses:
        if not ipaddress.ip_address(a).is_loopback:
            event(event="error", code="USAGE", message=f"--address {a}: this test peer gathers on loopback only")
            return 2
    # aioice leaves 127.0.0.1 out of its interface list; gather on exactly the loopback addresses asked for.
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: list(addresses)
    peer = Peer(args)
    code = 1
    try:
        await asyncio.wait_for(peer.run(), args.timeout_ms / 1000)
        code = 0
    except asyncio.TimeoutError:
        event(event="error", code="TIMEOUT", message=f"not done after {args.timeout_ms} ms")
    except Failure as exc:
        event(event="error", code=exc.code, message=str(exc))
    except ConnectionError as exc:
        event(event="error", code="FAILED", message=str(exc))
    finally:
        await peer.conn.close()
    event(event="done", ok=code == 0)
    return code


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=["controlling", "controlled"], required=True)
    parser.add_argument("--send")
    parser.add_argument("--echo", action="store_true")
    parser.add_argument("--timeout-ms", type=float, default=30000)
    parser.add_argument("--address", action="append", help="a loopback address to gather on (default 127.0.0.1)")
    parser.add_argument("--verbose", action="store_true", help="aioice's own log on stderr")
    args = parser.parse_args()
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    sys.exit(asyncio.run(main(args)))
