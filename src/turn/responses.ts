// How the TURN client applies the outcome of each of its transactions: success (RFC 8656 §7.3, §8.3,
// §10.3, §12.3), the long-term credential challenges 401/438 (RFC 8489 §9.2.5), 300 Try Alternate
// (RFC 8489 §10), other errors (RFC 8656 §7.4, §19) and timeouts.
import { formatTransportAddress, type TransportAddress } from '../net/transport-address.js';
import type { StunErrorCode } from '../stun/attribute-values.js';
import type { StunMessage } from '../stun/message.js';
import type { ClientTransaction } from '../stun/transactions.js';
import type { PendingRequest, TurnClient } from './client.js';
import type { AllocateRequest } from './requests.js';
import { allocationError, familyFallback, grantedAllocation } from './allocation.js';
import { TurnError, TurnErrorCode as Code } from './errors.js';
import { refreshTime, type Permission } from './permissions.js';

export class TurnResponses {
  private redirects = 0;
  private readonly visited = new Set<string>();

  constructor(private readonly client: TurnClient) {
    this.visited.add(formatTransportAddress(client.server));
  }

  /** A success or error response; `from` is undefined over a stream (where any response is the server's). */
  handle(message: StunMessage, from: TransportAddress | undefined, now: number): void {
    const c = this.client;
    const t = c.transactions.peek(message.transactionId);
    if (!t) {
      c.counters.unmatchedResponses++;
      return;
    }
    const pending = t.context;
    const error = message.class === 'error' ? message.get('ERROR-CODE') : undefined;
    const challenge = error !== undefined && (error.code === 401 || error.code === 438);
    // RFC 8489 §9.2.5: a response to an authenticated request must carry valid integrity; one that does not
    // is discarded (UDP: retransmissions go on) or ends the transaction (TCP/TLS). Deliberately lenient:
    // error responses without integrity are accepted, as servers send them (and 401/438 never carry it).
    if (pending.authenticated && !challenge) {
      const check = c.credentials.verify(message);
      if (check === 'invalid' || (check === 'missing' && message.class === 'success')) {
        c.counters.badIntegrity++;
        pending.integrityFailures++;
        if (t.reliable) {
          c.transactions.cancel(t.transactionId);
          this.failed(pending, integrityError(pending), now);
        }
        return;
      }
    }
    const match = c.transactions.match(message.transactionId, from);
    if (match.kind !== 'matched') {
      c.counters.unmatchedResponses++;
      return;
    }
    if (message.class === 'success') this.succeeded(pending, message, t.startedAt, now);
    else this.errorResponse(pending, message, error, now);
  }

  /** A transaction that got no (acceptable) answer. */
  timedOut(t: ClientTransaction<PendingRequest>, now: number): void {
    const pending = t.context;
    const error =
      pending.integrityFailures > 0
        ? integrityError(pending)
        : new TurnError(Code.RequestTimedOut, `no response after ${t.sends} request(s)`, pending.request.op, 'timeout');
    this.failed(pending, error, now);
  }

  /** Applies a failure to the operation the request was for. */
  failed(pending: PendingRequest, error: TurnError, now: number): void {
    const c = this.client;
    const request = pending.request;
    // RFC 8656 §5: a 437 to anything but Allocate means the allocation no longer exists.
    if (error.code === Code.AllocationMismatch && error.kind === 'response' && (request.op === 'refresh' || request.op === 'permission' || request.op === 'channel')) {
      if (c.state === 'allocated') c.closeLocally('allocation-mismatch', error);
      return;
    }
    switch (request.op) {
      case 'allocate': {
        if (c.state !== 'allocating') return;
        const retry = c.options.familyFallback ? familyFallback(request, error) : undefined;
        if (retry) {
          c.sendRequest(retry, now, 0);
          return;
        }
        const reported = allocationError(request, error);
        c.emit({ type: 'allocation-failed', error: reported });
        c.closeLocally('not-allocated', reported);
        return;
      }
      case 'refresh':
        if (c.state !== 'allocated') return;
        c.refreshFailed(now);
        c.emit({ type: 'refresh-failed', error });
        return;
      case 'deallocate':
        if (c.state !== 'closing') return;
        // §8.3: a 437 to a deleting Refresh means the allocation is already gone: success.
        if (error.code === Code.AllocationMismatch && error.kind === 'response') c.closeLocally('deallocated');
        else c.closeLocally('deallocate-unconfirmed', error);
        return;
      case 'permission': {
        const p = c.permissions.get(request.ip);
        if (!p || c.state !== 'allocated') return;
        p.inFlight = false;
        // Only a permission never installed strands its peers; an active one still relays until it lapses.
        const peers = p.state === 'pending' ? waitingPeers(p) : [];
        if (p.state === 'pending') c.counters.droppedQueued += c.permissions.remove(p);
        else p.refreshAt = now + c.options.refreshRetryMs;
        c.emit({ type: 'permission', peer: request.ip, result: 'failed', error, peers });
        return;
      }
      case 'channel': {
        const b = request.binding;
        if (c.channels.byChannel(b.number) !== b || c.state !== 'allocated') return;
        b.inFlight = false;
        // A binding never confirmed may still exist on the server (a lost response): reserve it (§12).
        if (b.state === 'pending') c.channels.reserve(b, now + c.options.channelReservationMs);
        else b.refreshAt = now + c.options.refreshRetryMs;
        c.emit({ type: 'channel', peer: b.peer, channel: b.number, result: 'failed', error });
        return;
      }
    }
  }

  private errorResponse(pending: PendingRequest, message: StunMessage, error: StunErrorCode | undefined, now: number): void {
    const c = this.client;
    const op = pending.request.op;
    const code = error?.code ?? 0;
    const reason = error?.reason ?? 'error response without ERROR-CODE';
    if (code === Code.Unauthenticated || code === Code.StaleNonce) {
      const outcome = c.credentials.challenge(code, message, pending.authenticated);
      if (!outcome.retry) {
        this.failed(pending, new TurnError(code, outcome.reason, op, 'auth'), now);
      } else if (pending.authRetries > c.options.maxStaleNonceRetries) {
        // One retry answers the first 401; up to maxStaleNonceRetries more answer 438s (or new realms).
        this.failed(pending, new TurnError(code, `still ${code} after ${pending.authRetries} retries`, op, 'limit'), now);
      } else {
        c.sendRequest(pending.request, now, pending.authRetries + 1);
      }
      return;
    }
    if (code === Code.TryAlternate && pending.request.op === 'allocate') {
      this.alternate(pending, pending.request, message, now);
      return;
    }
    this.failed(pending, new TurnError(code, reason, op, 'response'), now);
  }

  /** RFC 8656 §7.4 / RFC 8489 §10: retry the Allocate at ALTERNATE-SERVER, never twice at one server. */
  private alternate(pending: PendingRequest, request: AllocateRequest, message: StunMessage, now: number): void {
    const c = this.client;
    const to = message.get('ALTERNATE-SERVER');
    const fail = (reason: string, kind: 'response' | 'limit' | 'protocol') =>
      this.failed(pending, new TurnError(Code.TryAlternate, reason, 'allocate', kind, to), now);
    if (!to) return fail('Try Alternate without ALTERNATE-SERVER', 'protocol');
    // A stream goes to one server; following needs a new connection, which whoever opened this one makes.
    if (c.options.reliable || !c.options.followAlternate) return fail(`Try Alternate ${formatTransportAddress(to)}: needs a new ${c.options.reliable ? 'connection' : 'socket'}`, 'response');
    if (this.redirects >= c.options.maxRedirects) return fail(`more than ${c.options.maxRedirects} redirects`, 'limit');
    const key = formatTransportAddress(to);
    if (this.visited.has(key)) return fail(`redirect loop back to ${key}`, 'protocol');
    this.redirects++;
    this.visited.add(key);
    c.redirect(to, request, now);
  }

  private succeeded(pending: PendingRequest, message: StunMessage, sentAt: number, now: number): void {
    const c = this.client;
    const request = pending.request;
    const o = c.options;
    switch (request.op) {
      case 'allocate': {
        if (c.state !== 'allocating') return;
        const granted = grantedAllocation(message, request);
        const lifetime = message.get('LIFETIME') ?? o.lifetimeSeconds;
        // §7.3: a relayed address of a family the client did not ask for is deleted, not used.
        const problem =
          granted instanceof TurnError
            ? granted
            : lifetime === 0
              ? new TurnError(Code.ServerError, 'Allocate success with LIFETIME 0', 'allocate', 'protocol')
              : undefined;
        if (problem || granted instanceof TurnError) {
          const reported = allocationError(request, problem!);
          c.emit({ type: 'allocation-failed', error: reported });
          c.closeLocally('not-allocated', reported);
          c.sendRequest({ op: 'deallocate' }, now, 0); // best effort; its outcome is ignored once closed
          return;
        }
        c.allocated(granted.relayed, message.get('XOR-MAPPED-ADDRESS'), lifetime, sentAt, granted.addressError);
        return;
      }
      case 'refresh': {
        if (c.state !== 'allocated') return;
        const lifetime = message.get('LIFETIME') ?? o.lifetimeSeconds;
        if (lifetime === 0) {
          c.closeLocally('expired');
          return;
        }
        c.renewed(lifetime, sentAt);
        c.emit({ type: 'refreshed', lifetimeSeconds: lifetime });
        return;
      }
      case 'deallocate':
        if (c.state === 'closing') c.closeLocally('deallocated');
        return;
      case 'permission': {
        const p = c.permissions.get(request.ip);
        if (!p || c.state !== 'allocated') return;
        const created = p.state === 'pending';
        c.permissions.confirm(p, sentAt, o.permissionLifetimeMs, o.refreshMarginMs);
        p.inFlight = false;
        c.emit({ type: 'permission', peer: p.ip, result: created ? 'created' : 'refreshed' });
        c.flush(p);
        return;
      }
      case 'channel': {
        const b = request.binding;
        if (c.channels.byChannel(b.number) !== b || b.state === 'reserved' || c.state !== 'allocated') return;
        const created = b.state === 'pending';
        b.state = 'active';
        b.inFlight = false;
        b.expiresAt = sentAt + o.channelLifetimeMs;
        b.refreshAt = refreshTime(sentAt, o.channelLifetimeMs, o.refreshMarginMs);
        c.emit({ type: 'channel', peer: b.peer, channel: b.number, result: created ? 'bound' : 'refreshed' });
        // §12.3: the ChannelBind also installed or refreshed the permission for the peer's IP.
        const p = c.permissions.ensure(b.peer.address, b.peer.port);
        if (p) {
          const wasPending = p.state === 'pending';
          c.permissions.confirm(p, sentAt, o.permissionLifetimeMs, o.refreshMarginMs);
          if (wasPending) {
            c.emit({ type: 'permission', peer: p.ip, result: 'created' });
            c.flush(p);
          }
        }
        return;
      }
    }
  }
}

/** The peers at a permission's IP that were waiting for it: its XOR-PEER-ADDRESS and the queue's destinations. */
function waitingPeers(p: Permission): TransportAddress[] {
  const peers: TransportAddress[] = p.port > 0 ? [{ address: p.ip, port: p.port }] : [];
  for (const q of p.queue) {
    if (!peers.some((known) => known.port === q.peer.port && known.address === q.peer.address)) peers.push(q.peer);
  }
  return peers;
}

function integrityError(pending: PendingRequest): TurnError {
  return new TurnError(Code.Unauthenticated, 'responses failed the MESSAGE-INTEGRITY check', pending.request.op, 'integrity');
}
