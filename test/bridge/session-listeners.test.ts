// TCP listeners in the bridge session engine (a page's passive ICE-TCP candidates, RFC 6544): the refusals,
// the accepted streams (credit, the stream limit), and a listener's close, with no sockets and no clock.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BridgeFeature, encodeStreamFrame } from '../../src/net/bridge-frame.js';
import { session } from './engine-harness.js';

const ON = { listen: true, maxListeners: 2, maxStreams: 2 } as const;
const local = { address: '0.0.0.0', port: 9000 };
const peer = (port: number) => ({ address: '192.0.2.8', port });

/** A session with one open listener: its id and the engine. */
function listening(limits: Parameters<typeof session>[0] = {}, window = 100) {
  const s = session({ ...ON, ...limits });
  s.frames();
  s.send({ type: 'listen', requestId: 3, family: 'IPv4', port: 0, window });
  const [listen] = s.actions();
  assert.ok(listen?.type === 'listen' && listen.port === 0 && listen.family === 'IPv4', JSON.stringify(listen));
  s.engine.handleListening(listen.listenerId, local);
  const [answer] = s.frames();
  assert.ok(answer.type === 'listening' && answer.requestId === 3 && answer.listenerId === listen.listenerId, JSON.stringify(answer));
  assert.deepEqual(answer.hostAddresses, ['192.0.2.1'], 'a wildcard listener announces the host addresses, as bound does');
  return { ...s, id: listen.listenerId };
}

describe('bridge session listeners', () => {
  it('are off by default: the hello lacks the listen bit and a listen is refused not-supported at once', () => {
    const s = session();
    const [hello] = s.frames();
    assert.ok(hello.type === 'hello' && ((hello.limits.features ?? 0) & BridgeFeature.listen) === 0);
    s.send({ type: 'listen', requestId: 1, family: 'IPv4', port: 0, window: 10 });
    assert.equal(s.actions().length, 0, 'no listener is opened');
    const [error] = s.frames();
    assert.ok(error.type === 'error' && error.code === 'not-supported' && error.requestId === 1, JSON.stringify(error));
    assert.equal(s.metrics.snapshot().streamRefusals['not-supported'], 1);
  });

  it('with allowListen: the hello says so; over maxListeners, outside the port range, or a failed listen is refused with a code', () => {
    const s = session({ ...ON, maxListeners: 1, listenPortRange: [40000, 40010] });
    const [hello] = s.frames();
    assert.ok(hello.type === 'hello' && ((hello.limits.features ?? 0) & BridgeFeature.listen) !== 0);
    s.send({ type: 'listen', requestId: 1, family: 'IPv4', port: 39999, window: 10 });
    const [outside] = s.frames();
    assert.ok(outside.type === 'error' && outside.code === 'listen-port-not-allowed' && outside.requestId === 1);
    s.send({ type: 'listen', requestId: 2, family: 'IPv6', port: 0, window: 10 });
    const [listen] = s.actions();
    assert.ok(listen.type === 'listen' && listen.family === 'IPv6' && listen.portRange?.[0] === 40000, 'port 0 picks from the range');
    s.send({ type: 'listen', requestId: 3, family: 'IPv4', port: 40001, window: 10 });
    const [limit] = s.frames();
    assert.ok(limit.type === 'error' && limit.code === 'listener-limit' && limit.requestId === 3);
    s.engine.handleListenFailed(listen.listenerId, 'EADDRINUSE');
    const [failed] = s.frames();
    assert.ok(failed.type === 'error' && failed.code === 'listen-failed' && failed.requestId === 2 && /EADDRINUSE/.test(failed.reason));
    // The failed one no longer counts.
    s.send({ type: 'listen', requestId: 4, family: 'IPv4', port: 40001, window: 10 });
    assert.equal(s.actions()[0]?.type, 'listen');
  });

  it('a connection that comes in is a stream open at once, with the window the listen announced', () => {
    const s = listening({}, 5);
    const streamId = s.engine.handleAccepted(s.id, { address: '192.0.2.1', port: 9000 }, peer(50000), 10);
    assert.ok(streamId !== undefined && streamId !== s.id);
    const [accepted] = s.frames();
    assert.ok(accepted.type === 'accepted' && accepted.listenerId === s.id && accepted.streamId === streamId, JSON.stringify(accepted));
    assert.deepEqual(accepted.remote, peer(50000));
    assert.equal(accepted.window, 1000, "the bridge's streamWindow is the client's credit");
    // TCP → client within the listen's window of 5, then a pause until the client grants more.
    s.engine.handleStreamData(streamId, Uint8Array.of(1, 2, 3, 4, 5, 6, 7), 11);
    const [bytes] = s.frames();
    assert.ok(bytes.type === 'stream' && bytes.payload.length === 5);
    assert.deepEqual(s.actions(), [{ type: 'pause-stream', streamId }]);
    s.send({ type: 'window', streamId, increment: 10 });
    const [rest] = s.frames();
    assert.ok(rest.type === 'stream' && rest.payload.length === 2);
    // Client → TCP: a write.
    s.engine.handleFrame(encodeStreamFrame(streamId, Uint8Array.of(9)), 12);
    const written = s.actions().find((a) => a.type === 'write');
    assert.ok(written?.type === 'write' && written.streamId === streamId && written.bytes[0] === 9);
    const m = s.metrics.snapshot();
    assert.equal(m.listenersOpen, 1);
    assert.equal(m.streamsAccepted, 1);
    assert.equal(m.streamsOpen, 1);
  });

  it('a zero window pauses an accepted stream before any byte', () => {
    const s = listening({}, 0);
    const streamId = s.engine.handleAccepted(s.id, local, peer(1), 1);
    assert.ok(streamId !== undefined);
    assert.deepEqual(s.actions(), [{ type: 'pause-stream', streamId }]);
  });

  it('over maxStreams a connection is refused: undefined for the driver, an error about the listener for the client', () => {
    const s = listening({ maxStreams: 1 });
    assert.ok(s.engine.handleAccepted(s.id, local, peer(1), 1) !== undefined);
    s.frames();
    assert.equal(s.engine.handleAccepted(s.id, local, peer(2), 2), undefined);
    const [error] = s.frames();
    assert.ok(error.type === 'error' && error.code === 'stream-limit' && error.socketId === s.id, JSON.stringify(error));
    assert.equal(s.metrics.snapshot().streamRefusals['stream-limit'], 1);
    // A connected stream counts against the same limit.
    s.send({ type: 'connect', requestId: 7, remote: peer(443), tls: false, serverName: '', window: 10 });
    const [refused] = s.frames();
    assert.ok(refused.type === 'error' && refused.code === 'stream-limit' && refused.requestId === 7);
  });

  it("a listener's close stops it (close-listener) and leaves its streams; later connections are refused; an unknown id is an error", () => {
    const s = listening();
    const streamId = s.engine.handleAccepted(s.id, local, peer(1), 1)!;
    s.frames();
    s.send({ type: 'close', socketId: s.id });
    assert.deepEqual(s.actions(), [{ type: 'close-listener', listenerId: s.id }]);
    assert.equal(s.engine.handleAccepted(s.id, local, peer(2), 2), undefined, 'a closed listener takes no connection');
    s.engine.handleStreamData(streamId, Uint8Array.of(1), 3);
    assert.equal(s.frames()[0]?.type, 'stream', 'the accepted stream goes on');
    assert.equal(s.metrics.snapshot().listenersOpen, 0);
    s.send({ type: 'close', socketId: s.id });
    const [unknown] = s.frames();
    assert.ok(unknown.type === 'error' && unknown.code === 'unknown-socket');
  });

  it('a listener the OS closed is reported (an error, then a close); the session end closes every listener once', () => {
    const s = listening();
    s.engine.handleListenerClosed(s.id, 'EMFILE');
    const [error, close] = s.frames();
    assert.ok(error.type === 'error' && error.code === 'listener-error' && error.socketId === s.id);
    assert.ok(close.type === 'close' && close.socketId === s.id);
    s.send({ type: 'listen', requestId: 8, family: 'IPv4', port: 0, window: 1 });
    const [listen] = s.actions();
    assert.ok(listen.type === 'listen');
    s.engine.handleListening(listen.listenerId, local);
    s.frames();
    s.engine.close(1000, 'bye');
    const actions = s.actions();
    assert.equal(actions.filter((a) => a.type === 'close-listener').length, 1, JSON.stringify(actions));
    assert.equal(s.metrics.snapshot().listenersOpen, 0);
  });

  it('a version 1 session carries no listen frames', () => {
    const s = session(ON, 1);
    s.frames();
    s.send({ type: 'listen', requestId: 1, family: 'IPv4', port: 0, window: 1 });
    const [error] = s.frames();
    assert.ok(error.type === 'error' && error.code === 'malformed-frame');
  });
});
