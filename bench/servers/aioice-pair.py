#!/usr/bin/python3
# Two aioice Connections (controlling and controlled) in one asyncio loop, for bench/ice-connect.ts; run with
# Debian's /usr/bin/python3 and python3-aioice. The driver sends {"cmd": name, ...} lines on stdin, this
# answers {"type": name, ...} (or {"type": "error"}) on stdout, one command at a time; it exits when stdin
# closes (SIGTERM's default action ends it too).
#
#   connect {count, turn?: {host, port, username, password}, timeoutMs}: `count` connections one after the
#     other. Each: both gather_candidates() (awaited), then at t0 each gets the other's ufrag/pwd, every
#     local candidate of the other and end-of-candidates, then asyncio.gather(a.connect(), b.connect());
#     t1 is when both connect() calls have returned (time.perf_counter()).
#
# Gathering is restricted to 127.0.0.1: aioice's get_host_addresses() skips loopback addresses, so it is
# replaced by one that returns ['127.0.0.1'] (host mode) or [] (relay mode: no host sockets at all, so the
# only local candidate and the only socket is the TURN allocation, whose client socket talks to the loopback
# TURN server the driver names). No STUN server, no mDNS, IPv6 off.
import asyncio
import json
import os
import sys
import time

import aioice
import aioice.ice
from aioice.ice import Connection, TransportPolicy

HOST = '127.0.0.1'
HOST_ADDRESSES = [HOST]


def _host_addresses(use_ipv4, use_ipv6):
    return list(HOST_ADDRESSES)


aioice.ice.get_host_addresses = _host_addresses

# When each connection's checklist completed (a nominated pair for the component), which is earlier than
# connect() returning: connect() polls its checklist every 20 ms (asyncio.sleep(0.02)).
_check_complete = Connection.check_complete


def _timed_check_complete(self, pair):
    _check_complete(self, pair)
    if self._check_list_done and getattr(self, '_bench_done_at', None) is None:
        self._bench_done_at = time.perf_counter()


Connection.check_complete = _timed_check_complete


def _version():
    try:
        from aioice import about
        return about.__version__
    except Exception:
        return getattr(aioice, '__version__', '?')


async def connect_once(turn, timeout_s):
    global HOST_ADDRESSES
    kwargs = {'use_ipv6': False}
    if turn:
        HOST_ADDRESSES = []
        kwargs.update(
            turn_server=(turn['host'], int(turn['port'])),
            turn_username=turn['username'],
            turn_password=turn['password'],
            transport_policy=TransportPolicy.RELAY,
        )
    else:
        HOST_ADDRESSES = [HOST]
    a = Connection(ice_controlling=True, **kwargs)
    b = Connection(ice_controlling=False, **kwargs)
    try:
        g0 = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(a.gather_candidates(), b.gather_candidates()), timeout_s)
        gather_ms = (time.perf_counter() - g0) * 1000
        if not a.local_candidates or not b.local_candidates:
            raise RuntimeError('a connection gathered no candidates')
        for c in a.local_candidates + b.local_candidates:
            if c.host != HOST:
                raise RuntimeError('candidate on %s, expected only %s' % (c.host, HOST))
        done = {}
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        for x, y in ((a, b), (b, a)):
            x.remote_username = y.local_username
            x.remote_password = y.local_password
            for c in y.local_candidates:
                await x.add_remote_candidate(c)
            await x.add_remote_candidate(None)

        async def run(conn, name):
            await conn.connect()
            done[name] = time.perf_counter()

        await asyncio.wait_for(asyncio.gather(run(a, 'controlling'), run(b, 'controlled')), timeout_s)
        t1 = time.perf_counter()
        cpu_ms = (time.process_time() - cpu0) * 1000
        pair = a._nominated.get(1)

        def checklist_ms(conn):
            at = getattr(conn, '_bench_done_at', None)
            return None if at is None else (at - t0) * 1000

        return {
            'totalMs': (t1 - t0) * 1000,
            'controllingMs': (done['controlling'] - t0) * 1000,
            'controlledMs': (done['controlled'] - t0) * 1000,
            'checklistControllingMs': checklist_ms(a),
            'checklistControlledMs': checklist_ms(b),
            'gatherMs': gather_ms,
            'cpuMs': cpu_ms,
            'selected': '%s->%s' % (pair.local_candidate.type, pair.remote_candidate.type) if pair else '?',
        }
    finally:
        # Closes the sockets and, with TURN, deletes the allocation (awaited).
        for conn in (a, b):
            try:
                await asyncio.wait_for(conn.close(), 5)
            except Exception:
                pass


async def cmd_connect(args):
    count = int(args.get('count', 1))
    timeout_s = float(args.get('timeoutMs', 10000)) / 1000
    turn = args.get('turn')
    samples, failures = [], []
    for _ in range(count):
        try:
            samples.append(await connect_once(turn, timeout_s))
        except Exception as exc:  # noqa: BLE001 - reported to the driver
            failures.append('%s: %s' % (type(exc).__name__, exc))
        await asyncio.sleep(0.02)
    return {'samples': samples, 'failures': failures}


COMMANDS = {'connect': cmd_connect}


def write(message):
    sys.stdout.write(json.dumps(message) + '\n')
    sys.stdout.flush()


async def main():
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    write({'type': 'ready', 'pid': os.getpid(), 'aioice': _version(), 'python': sys.version.split()[0]})
    while True:
        line = await reader.readline()
        if not line:
            return  # stdin closed: the driver went away
        name = '?'
        try:
            message = json.loads(line)
            name = str(message.get('cmd'))
            command = COMMANDS.get(name)
            if command is None:
                raise ValueError('unknown command %s' % name)
            reply = dict(await command(message))
            reply['type'] = name
        except Exception as exc:  # noqa: BLE001 - reported to the driver
            reply = {'type': 'error', 'cmd': name, 'message': '%s: %s' % (type(exc).__name__, exc)}
        write(reply)


if __name__ == '__main__':
    asyncio.run(main())
