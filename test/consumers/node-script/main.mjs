// A plain JavaScript Node script, no TypeScript, no bundler: two agents from icebridge/node connect over
// loopback and send data both ways; icebridge/core parses the candidates they exchange; the page entry
// (`icebridge`) is constructed once to check it refuses Node clearly. Prints one JSON
// line and exits 0 when both directions arrived (the consumer test reads it); exits 1 otherwise.
import { IceAgent } from 'icebridge/node';
import { parseCandidate } from 'icebridge/core';
import { IceAgent as PageIceAgent } from 'icebridge';

// The page entry in Node: a clear, typed refusal at construction, pointing at icebridge/node.
let pageEntry = 'constructed';
try {
  new PageIceAgent({ bridge: 'ws://127.0.0.1:9/' });
} catch (err) {
  pageEntry = `${err.name} ${err.code}: ${err.message}`;
}

const options = { addresses: ['127.0.0.1'], mdns: false };
const a = new IceAgent({ ...options, role: 'controlling' });
const b = new IceAgent({ ...options, role: 'controlled' });
const types = [];

function received(agent) {
  return new Promise((resolve) => agent.addEventListener('data', (e) => resolve(new TextDecoder().decode(e.data)), { once: true }));
}
function connected(agent) {
  return new Promise((resolve, reject) =>
    agent.addEventListener('statechange', () => {
      if (agent.state === 'connected' || agent.state === 'completed') resolve();
      else if (agent.state === 'failed') reject(new Error('ICE failed'));
    }),
  );
}

const timer = setTimeout(() => {
  console.error('timed out after 15 s');
  process.exit(1);
}, 15_000);
try {
  for (const [from, to] of [[a, b], [b, a]]) {
    from.addEventListener('icecandidate', (e) => {
      if (e.candidate) types.push(parseCandidate(e.candidate.candidate).type);
      to.addRemoteCandidate(e.candidate);
    });
  }
  const up = Promise.all([connected(a), connected(b)]);
  await Promise.all([a.gather(), b.gather()]);
  await a.setRemoteParameters(b.localParameters);
  await b.setRemoteParameters(a.localParameters);
  await up;
  const atB = received(b);
  const atA = received(a);
  a.send('ping from a');
  b.send('pong from b');
  console.log(JSON.stringify({ atB: await atB, atA: await atA, types, pageEntry }));
  await Promise.all([a.close(), b.close()]);
  clearTimeout(timer);
} catch (err) {
  console.error(err);
  process.exit(1);
}
