// The bridge session engine alone, with no sockets and no clock: frames and driver reports in, frames and
// actions out, time passed by hand. What the WebSocket and WebTransport carriers both rely on.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { session } from './engine-harness.js';
import { BridgeCloseCode } from '../../src/bridge/close-codes.js';
import { encodeDataFrame, encodeStreamFrame } from '../../src/net/bridge-frame.js';

describe('bridge session engine', () => {
  it('says hello, binds through the driver, forwards datagrams both ways and refuses by policy naming the destination', () => {
    const s = session();
    const [hello] = s.frames();
    assert.ok(hello.type === 'hello' && hello.version === 2 && hello.limits.features === 7);
    s.send({ type: 'bind', requestId: 5, family: 'IPv4', port: 0 });
    const [bind] = s.actions();
    assert.ok(bind.type === 'bind');
    s.engine.handleBound(bind.socketId, { address: '0.0.0.0', port: 4000 });
    const [bound] = s.frames();
    assert.ok(bound.type === 'bound' && bound.requestId === 5 && bound.hostAddresses[0] === '192.0.2.1');
    s.engine.handleFrame(encodeDataFrame(bind.socketId, { address: '192.0.2.9', port: 9 }, Uint8Array.of(7)), 2);
    const [send] = s.actions();
    assert.ok(send.type === 'send' && send.to.address === '192.0.2.9' && send.payload[0] === 7);
    s.engine.handleFrame(encodeDataFrame(bind.socketId, { address: '169.254.169.254', port: 80 }, Uint8Array.of(7)), 3);
    assert.equal(s.actions().length, 0, 'nothing is sent to a refused destination');
    const [refused] = s.frames();
    assert.ok(refused.type === 'error' && refused.code === 'destination-denied' && refused.destination?.address === '169.254.169.254');
    s.engine.handleDatagram(bind.socketId, Uint8Array.of(1, 2), { address: '192.0.2.9', port: 9 }, 4);
    const [data] = s.frames();
    assert.ok(data.type === 'data' && data.peer.port === 9 && data.payload.length === 2);
  });

  it('a version 1 session names no destination and carries no v2 frames', () => {
    const s = session({}, 1);
    const [hello] = s.frames();
    assert.ok(hello.type === 'hello' && hello.version === 1 && hello.limits.maxStreams === undefined);
    s.send({ type: 'resolve', requestId: 1, name: 'a.test', families: ['IPv4'] });
    const [error] = s.frames();
    assert.ok(error.type === 'error' && error.code === 'malformed-frame');
    assert.equal(s.actions().length, 0);
  });

  it("counts what a carrier's mapping forbids (handleMalformed) with its reason, and ends the session past maxMalformedFrames", () => {
    const s = session();
    s.frames();
    s.engine.handleMalformed('a datagram carries only data frames, not frame type 4', 1);
    const [error] = s.frames();
    assert.ok(error.type === 'error' && error.code === 'malformed-frame');
    assert.equal(error.reason, 'a datagram carries only data frames, not frame type 4');
    assert.equal(s.metrics.malformedFrames, 1);
    for (let i = 0; i < 3; i++) s.engine.handleMalformed('again', 2);
    const actions = s.actions();
    assert.ok(actions[0]?.type === 'close-carrier' && actions[0].code === BridgeCloseCode.malformedFrames, JSON.stringify(actions));
  });

  it('times out a lookup at resolveTimeoutMs and ignores the late answer; caches answers by TTL', () => {
    const s = session();
    s.frames();
    s.send({ type: 'resolve', requestId: 1, name: 'slow.test', families: ['IPv4'] }, 0);
    const [resolve] = s.actions();
    assert.ok(resolve.type === 'resolve');
    assert.equal(s.engine.pollTimeout(), 500);
    s.engine.handleTimeout(500);
    const [timeout] = s.frames();
    assert.ok(timeout.type === 'error' && timeout.code === 'resolve-timeout' && timeout.requestId === 1);
    s.engine.handleLookupAnswered(resolve.lookupId, [{ address: '192.0.2.5', ttl: 60 }], 600);
    assert.equal(s.frames().length, 0, 'a late answer is not sent');
    s.send({ type: 'resolve', requestId: 2, name: 'fast.test', families: ['IPv4'] }, 1000);
    const [again] = s.actions();
    assert.ok(again.type === 'resolve');
    s.engine.handleLookupAnswered(again.lookupId, [{ address: '192.0.2.5', ttl: 60 }, { address: '169.254.1.1', ttl: 60 }], 1001);
    const [answer] = s.frames();
    assert.ok(answer.type === 'resolved' && answer.addresses.length === 1 && answer.addresses[0].address === '192.0.2.5');
    assert.equal(s.metrics.answersDenied, 1);
    s.send({ type: 'resolve', requestId: 3, name: 'FAST.test', families: ['IPv4'] }, 31_000);
    assert.equal(s.actions().length, 0, 'answered from the cache');
    const [cached] = s.frames();
    assert.ok(cached.type === 'resolved' && cached.addresses[0].ttl === 30, 'the TTL counts down');
  });

  it('streams: credit both ways, pause and resume of TCP reading, flow-control violations end the stream', () => {
    const s = session();
    s.frames();
    s.send({ type: 'connect', requestId: 9, remote: { address: '192.0.2.7', port: 443 }, tls: true, serverName: 'x.test', window: 10 });
    const [connect] = s.actions();
    assert.ok(connect.type === 'connect' && connect.tls && connect.serverName === 'x.test');
    s.engine.handleStreamConnected(connect.streamId, { address: '192.0.2.1', port: 5 }, { address: '192.0.2.7', port: 443 }, 2);
    const [connected] = s.frames();
    assert.ok(connected.type === 'connected' && connected.window === 1000);
    // TCP → client: 25 bytes against a window of 10.
    s.engine.handleStreamData(connect.streamId, new Uint8Array(25), 3);
    const out = s.frames();
    assert.equal(out.filter((f) => f.type === 'stream').reduce((n, f) => n + (f.type === 'stream' ? f.payload.length : 0), 0), 10);
    assert.deepEqual(s.actions().map((a) => a.type), ['pause-stream']);
    s.send({ type: 'window', streamId: connect.streamId, increment: 100 }, 4);
    const resumed = s.frames();
    assert.equal(resumed.reduce((n, f) => n + (f.type === 'stream' ? f.payload.length : 0), 0), 15, 'the held bytes go first');
    assert.deepEqual(s.actions().map((a) => a.type), ['resume-stream']);
    // client → TCP: within the credit, granted back once written.
    s.engine.handleFrame(encodeStreamFrame(connect.streamId, new Uint8Array(600)), 5);
    const [write] = s.actions();
    assert.ok(write.type === 'write' && write.bytes.length === 600);
    s.engine.handleStreamWritten(connect.streamId, 600);
    const [grant] = s.frames();
    assert.ok(grant.type === 'window' && grant.increment === 600);
    s.engine.handleFrame(encodeStreamFrame(connect.streamId, new Uint8Array(1001)), 6);
    const violation = s.frames();
    assert.ok(violation.some((f) => f.type === 'error' && f.code === 'flow-control'));
    assert.ok(violation.some((f) => f.type === 'close' && f.socketId === connect.streamId));
    assert.deepEqual(s.actions().map((a) => a.type), ['close-stream']);
    assert.equal(s.metrics.streamFlowControlErrors, 1);
    assert.equal(s.metrics.streamsOpen, 0);
  });

  it('refuses connects over the stream limit, to refused destinations, and gives up on a slow connect', () => {
    const s = session();
    s.frames();
    s.send({ type: 'connect', requestId: 1, remote: { address: '169.254.169.254', port: 80 }, tls: false, serverName: '', window: 10 });
    s.send({ type: 'connect', requestId: 2, remote: { address: '192.0.2.7', port: 80 }, tls: false, serverName: '', window: 10 }, 0);
    s.send({ type: 'connect', requestId: 3, remote: { address: '192.0.2.7', port: 80 }, tls: false, serverName: '', window: 10 });
    const codes = s.frames().map((f) => (f.type === 'error' ? `${f.requestId} ${f.code}` : f.type));
    assert.deepEqual(codes, ['1 destination-denied', '3 stream-limit']);
    const [connect] = s.actions();
    assert.equal(s.engine.pollTimeout(), 2000);
    s.engine.handleTimeout(2000);
    assert.deepEqual(s.frames().map((f) => (f.type === 'error' ? f.code : f.type)), ['connect-timeout']);
    assert.deepEqual(s.actions(), [{ type: 'close-stream', streamId: connect.type === 'connect' ? connect.streamId : -1 }]);
  });

  it('closes an idle session, and its close releases every socket and stream once', () => {
    const s = session();
    s.frames();
    s.send({ type: 'bind', requestId: 1, family: 'IPv4', port: 0 }, 0);
    const [bind] = s.actions();
    s.engine.handleBound(bind.type === 'bind' ? bind.socketId : 0, { address: '0.0.0.0', port: 1 });
    s.send({ type: 'connect', requestId: 2, remote: { address: '192.0.2.7', port: 80 }, tls: false, serverName: '', window: 10 }, 0);
    s.actions();
    s.engine.handleTimeout(9_999);
    assert.equal(s.actions().length, 1, 'not idle yet: only the slow connect was given up');
    s.engine.handleTimeout(10_000);
    const actions = s.actions();
    assert.deepEqual(actions.map((a) => a.type), ['close-carrier', 'close-socket']);
    assert.ok(actions[0].type === 'close-carrier' && actions[0].code === BridgeCloseCode.idleTimeout);
    s.engine.handleCarrierClosed(actions[0].code, 'idle', 10_001);
    assert.equal(s.metrics.sessionsOpen, 0);
    assert.equal(s.metrics.socketsOpen, 0);
    assert.equal(s.engine.pollTimeout(), undefined);
  });
});
