// The engine tells a v2 client when what its sockets and listeners are announced at changes (`host-addresses`),
// only for those whose list differs, and never a v1 client; mDNS registration follows the new addresses.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { session } from './engine-harness.js';

describe('bridge session host-address changes', () => {
  it('notifies each bound socket and open listener whose announcement changed, once', () => {
    let list = ['192.0.2.1'];
    const s = session({ listen: true, maxListeners: 1, maxStreams: 1, maxMdnsNames: 2, mdns: true }, 2, () => list);
    s.frames();
    s.send({ type: 'bind', requestId: 1, family: 'IPv4', port: 0 });
    s.send({ type: 'bind', requestId: 2, family: 'IPv4', port: 0 });
    s.send({ type: 'listen', requestId: 3, family: 'IPv4', port: 0, window: 1 });
    const [wild, second, listen] = s.actions();
    assert.ok(wild.type === 'bind' && second.type === 'bind' && listen.type === 'listen');
    s.engine.handleBound(wild.socketId, { address: '0.0.0.0', port: 4000 });
    s.engine.handleBound(second.socketId, { address: '0.0.0.0', port: 4001 });
    s.engine.handleListening(listen.listenerId, { address: '0.0.0.0', port: 4002 });
    s.frames();
    s.engine.handleHostAddressesChanged();
    assert.deepEqual(s.frames(), [], 'nothing changed: nothing said');
    list = ['192.0.2.9', '192.0.2.10'];
    s.engine.handleHostAddressesChanged();
    const notices = s.frames();
    assert.deepEqual(
      notices.map((f) => (f.type === 'host-addresses' ? [f.socketId, f.hostAddresses] : f.type)),
      [
        [wild.socketId, ['192.0.2.9', '192.0.2.10']],
        [second.socketId, ['192.0.2.9', '192.0.2.10']],
        [listen.listenerId, ['192.0.2.9', '192.0.2.10']],
      ],
    );
    s.engine.handleHostAddressesChanged();
    assert.deepEqual(s.frames(), [], 'told once');
    // mdns-register may name an address announced now, not the one that went.
    s.send({ type: 'mdns-register', requestId: 4, address: '192.0.2.1', name: '6a1e9f2c-7c9b-4d3e-8f5a-1b2c3d4e5f60.local' });
    const [refused] = s.frames();
    assert.ok(refused.type === 'error' && refused.code === 'address-not-owned', JSON.stringify(refused));
    s.send({ type: 'mdns-register', requestId: 5, address: '192.0.2.9', name: '6a1e9f2c-7c9b-4d3e-8f5a-1b2c3d4e5f61.local' });
    assert.ok(s.actions().some((a) => a.type === 'mdns-register' && a.address === '192.0.2.9'));
  });

  it('says nothing to a version 1 client', () => {
    let list = ['192.0.2.1'];
    const s = session({}, 1, () => list);
    s.frames();
    s.send({ type: 'bind', requestId: 1, family: 'IPv4', port: 0 });
    const [bind] = s.actions();
    assert.ok(bind.type === 'bind');
    s.engine.handleBound(bind.socketId, { address: '0.0.0.0', port: 4000 });
    s.frames();
    list = ['192.0.2.2'];
    s.engine.handleHostAddressesChanged();
    assert.deepEqual(s.frames(), []);
  });
});
