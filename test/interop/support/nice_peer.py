"""A libnice ICE agent (Debian's gir1.2-nice-0.1, through GObject introspection) speaking `icebridge peer`'s
line protocol, for interop tests of ICE-TCP (RFC 6544; libnice's `ice-tcp`).

stdout: our description as RFC 8839 lines (a=ice-ufrag, a=ice-pwd, a=candidate..., a=end-of-candidates).
stdin: the peer's, in the same form, applied as it arrives. stderr: JSON event lines
({"event": "state" | "sent" | "error" | "done", ...}).

Gathers on the one --address given (loopback in tests). --protocols tcp turns libnice's UDP candidates off.
Once ready it sends --send TEXT every 200 ms for --linger-ms, then exits 0: what libnice receives cannot be
read through introspection (recv's caller-allocated buffer), so data is checked at the other end only.
Exit codes: 0 ready (and lingered), 1 failure or timeout, 2 usage (or libnice missing).
"""

import argparse
import json
import os
import sys

INSTALL_HINT = "libnice's GObject bindings are required: apt-get install -y gir1.2-nice-0.1 python3-gi"

try:
    import gi

    gi.require_version("Nice", "0.1")
    from gi.repository import GLib, Nice
except (ImportError, ValueError) as exc:  # pragma: no cover - the test turns this into a failure with the hint
    sys.stderr.write(json.dumps({"event": "error", "code": "NO_LIBNICE", "message": f"{exc}. {INSTALL_HINT}"}) + "\n")
    sys.exit(2)

RESEND_INTERVAL_MS = 500

# GLib writes its debug messages (G_MESSAGES_DEBUG=libnice) to fd 1: the description goes out on a copy of
# it, and fd 1 becomes stderr, so nothing but RFC 8839 lines reaches the peer.
sys.stdout = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
STATES = {
    Nice.ComponentState.DISCONNECTED: "disconnected",
    Nice.ComponentState.GATHERING: "gathering",
    Nice.ComponentState.CONNECTING: "connecting",
    Nice.ComponentState.CONNECTED: "connected",
    Nice.ComponentState.READY: "ready",
    Nice.ComponentState.FAILED: "failed",
}


def event(**fields):
    sys.stderr.write(json.dumps(fields) + "\n")
    sys.stderr.flush()


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Peer:
    def __init__(self, args):
        self.args = args
        self.loop = GLib.MainLoop()
        self.code = 1
        self.agent = Nice.Agent.new(self.loop.get_context(), Nice.Compatibility.RFC5245)
        self.agent.set_property("controlling-mode", args.role == "controlling")
        self.agent.set_property("ice-udp", "udp" in args.protocols)
        self.agent.set_property("ice-tcp", "tcp" in args.protocols)
        address = Nice.Address()
        address.set_from_string(args.address)
        self.agent.add_local_address(address)
        self.stream = self.agent.add_stream(1)
        self.agent.connect("candidate-gathering-done", self.on_gathered)
        self.agent.connect("component-state-changed", self.on_state)
        self.ready = False
        self.remote_credentials = {}
        self.credentials_set = False
        self.pending = []

    def run(self):
        GLib.timeout_add(self.args.timeout_ms, self.on_timeout)
        GLib.io_add_watch(sys.stdin.fileno(), GLib.IO_IN | GLib.IO_HUP, self.on_stdin)
        self.buffer = b""
        # Without a receive callback (attach_recv is not introspectable) libnice reads its sockets — STUN
        # checks included — only inside recv calls: poll from the start.
        GLib.timeout_add(5, self.poll_data)
        if not self.agent.gather_candidates(self.stream):
            event(event="error", code="GATHER", message="gather_candidates failed")
            return 1
        self.loop.run()
        return self.code

    def finish(self, code, **extra):
        self.code = code
        event(event="done", ok=code == 0, **extra)
        self.loop.quit()
        return False

    def on_timeout(self):
        event(event="error", code="TIMEOUT", message=f"not done within {self.args.timeout_ms} ms")
        return self.finish(1)

    def on_gathered(self, agent, stream):
        ok, ufrag, pwd = agent.get_local_credentials(stream)
        out(f"a=ice-ufrag:{ufrag}")
        out(f"a=ice-pwd:{pwd}")
        for c in agent.get_local_candidates(stream, 1):
            out(agent.generate_local_candidate_sdp(c))
        out("a=end-of-candidates")
        event(event="gathering", state="complete")

    def on_stdin(self, fd, condition):
        chunk = os.read(fd, 65536)
        if not chunk:
            return False
        self.buffer += chunk
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            self.on_line(line.decode().strip())
        return True

    def on_line(self, line):
        if line.startswith("a=ice-ufrag:"):
            self.remote_credentials["ufrag"] = line[len("a=ice-ufrag:"):]
        elif line.startswith("a=ice-pwd:"):
            self.remote_credentials["pwd"] = line[len("a=ice-pwd:"):]
        elif line.startswith("a=candidate:"):
            self.pending.append(line)
        else:
            return
        if not self.credentials_set and "ufrag" in self.remote_credentials and "pwd" in self.remote_credentials:
            self.agent.set_remote_credentials(self.stream, self.remote_credentials["ufrag"], self.remote_credentials["pwd"])
            self.credentials_set = True
        if self.credentials_set and self.pending:
            candidates = []
            for text in self.pending:
                c = self.agent.parse_remote_candidate_sdp(self.stream, text)
                if c is None:
                    event(event="error", code="SIGNALLING", message=f"libnice cannot parse {text}")
                else:
                    candidates.append(c)
            self.pending = []
            if candidates:
                self.agent.set_remote_candidates(self.stream, 1, candidates)

    def on_state(self, agent, stream, component, state):
        event(event="state", state=STATES.get(state, str(state)))
        if state == Nice.ComponentState.READY and not self.ready:
            self.ready = True
            # (get_selected_pair's caller-allocated candidates do not come back through introspection: the
            # pair is read at the other end.)
            if self.args.send is not None:
                GLib.timeout_add(200, self.send_text)
            GLib.timeout_add(self.args.linger_ms, lambda: self.finish(0))
        elif state == Nice.ComponentState.FAILED:
            event(event="error", code="FAILED", message="ICE failed")
            self.finish(1)

    def send_text(self):
        text = self.args.send
        self.agent.send(self.stream, 1, len(text.encode()), text)
        event(event="sent", text=text)
        return True

    def poll_data(self):
        # Drives libnice's reading (STUN checks and responses are handled inside recv); the data itself is
        # not readable through introspection.
        try:
            self.agent.recv_nonblocking(self.stream, 1)
        except GLib.Error:
            pass
        return True


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--role", choices=["controlling", "controlled"], required=True)
    p.add_argument("--address", required=True)
    p.add_argument("--protocols", default="udp,tcp")
    p.add_argument("--send")
    p.add_argument("--linger-ms", type=int, default=2000)
    p.add_argument("--timeout-ms", type=int, default=20000)
    args = p.parse_args()
    args.protocols = args.protocols.split(",")
    return Peer(args).run()


if __name__ == "__main__":
    sys.exit(main())
