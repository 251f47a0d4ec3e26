// The page of every bundler fixture: nothing but `import … from 'icebridge'`, as an app writes it. It fetches
// the server's /config.json (another origin: `?server=`, read with CORS), gathers two agents through the
// bridge, connects them to each other and sends data both ways. The outcome goes to window.icebridgeResult
// (a promise the test awaits) and to the page.
import { IceAgent } from 'icebridge';

async function run() {
  const server = new URL(location.href).searchParams.get('server');
  if (!server) throw new Error('no ?server= in the page URL');
  const config = await (await fetch(new URL('/config.json', server))).json();
  const make = (role) => new IceAgent({ bridge: config.bridge, iceServers: config.iceServers, role });
  const a = make('controlling');
  const b = make('controlled');
  const connected = (agent) =>
    new Promise((resolve, reject) =>
      agent.addEventListener('statechange', () => {
        if (agent.state === 'connected' || agent.state === 'completed') resolve();
        else if (agent.state === 'failed') reject(new Error('ICE failed'));
      }),
    );
  const received = (agent) => new Promise((resolve) => agent.addEventListener('data', (e) => resolve(new TextDecoder().decode(e.data)), { once: true }));
  const candidates = { a: [], b: [] };
  a.addEventListener('icecandidate', (e) => candidates.a.push(e.candidate));
  b.addEventListener('icecandidate', (e) => candidates.b.push(e.candidate));
  await Promise.all([a.gather(), b.gather()]);
  const up = Promise.all([connected(a), connected(b)]);
  await a.setRemoteParameters(b.localParameters);
  await b.setRemoteParameters(a.localParameters);
  for (const c of candidates.b) await a.addRemoteCandidate(c);
  for (const c of candidates.a) await b.addRemoteCandidate(c);
  await up;
  const atA = received(a);
  const atB = received(b);
  a.send('ping from a');
  b.send('pong from b');
  const result = { atB: await atB, atA: await atA, candidates: candidates.a.length + candidates.b.length, carrier: a.carrier };
  await Promise.all([a.close(), b.close()]);
  return result;
}

window.icebridgeResult = run().then(
  (r) => ((document.getElementById('out').textContent = JSON.stringify(r)), r),
  (e) => {
    document.getElementById('out').textContent = `${e.name}: ${e.message}`;
    return { error: `${e.name}${e.code ? ` (${e.code})` : ''}: ${e.message}` };
  },
);
