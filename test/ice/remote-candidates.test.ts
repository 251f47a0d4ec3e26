// RemoteCandidates and TCP directions (RFC 6544 §7.2): a check over a connection the peer opened comes from
// its active candidate, so it is never matched to a passive candidate of the same address and port — a
// TURN server's Connect (RFC 6062 §5.2) opens the connection from the relayed transport address, where
// that peer's passive relayed candidate is too.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IceCandidate } from '../../src/ice/candidate.js';
import { Checklist } from '../../src/ice/checklist.js';
import { RemoteCandidates } from '../../src/ice/remote-candidates.js';

const passiveRelay: IceCandidate = {
  foundation: 'r1',
  component: 1,
  protocol: 'tcp',
  priority: 4000,
  address: '198.51.100.7',
  port: 50000,
  type: 'relay',
  tcpType: 'passive',
  extensions: [],
};

describe('remote TCP candidates by direction', () => {
  it("a check from a passive candidate's address and port is the peer's active one, learned peer-reflexive", () => {
    const remote = new RemoteCandidates(10, 10);
    assert.equal(remote.add({ ...passiveRelay }), 'added');
    const learned = remote.learn({ address: passiveRelay.address, port: passiveRelay.port }, 1234, 1, 'tcp', new Checklist({}), undefined)!;
    assert.equal(learned.learned, true);
    assert.deepEqual([learned.candidate.type, learned.candidate.tcpType], ['prflx', 'active']);
    assert.equal(remote.list.length, 2);
    // Learned once: the next check from there finds it.
    assert.equal(remote.learn({ address: passiveRelay.address, port: passiveRelay.port }, 1234, 1, 'tcp', new Checklist({}), undefined)!.learned, false);
  });

  it('a passive candidate signalled after such a check is added beside the learned active one, not in its place', () => {
    const remote = new RemoteCandidates(10, 10);
    const learned = remote.learn({ address: passiveRelay.address, port: passiveRelay.port }, 1234, 1, 'tcp', new Checklist({}), undefined)!;
    assert.equal(remote.add({ ...passiveRelay }), 'added');
    assert.deepEqual([learned.candidate.type, learned.candidate.tcpType], ['prflx', 'active']);
    // A UDP one at that address and port is its own candidate too, and a signalled active TCP one (port 9)
    // never meets a learned one.
    assert.equal(remote.add({ ...passiveRelay, protocol: 'udp', tcpType: undefined }), 'added');
    assert.equal(remote.list.length, 3);
  });
});
