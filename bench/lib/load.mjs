// The load generator: a fixed number of virtual users, each on its own keep-alive connection
// (one undici Client per server process, pipelining off), each running one operation after
// another for a bounded time. An operation is one HTTP request or a whole flow of several; its
// latency is measured from the first byte sent to the last byte of the last response. The same
// code drives every server.
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Client } from 'undici';

/** Cookies by name; attributes are ignored (one site, one path that matters). */
export class CookieJar {
  #cookies = new Map();

  constructor(initial = []) {
    for (const pair of initial) this.#set(pair);
  }

  #set(pair) {
    const eq = pair.indexOf('=');
    if (eq > 0) this.#cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }

  store(headers) {
    const raw = headers['set-cookie'];
    for (const line of raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      if (eq <= 0) continue;
      if (pair.slice(eq + 1).trim() === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line))
        this.#cookies.delete(name);
      else this.#set(pair);
    }
  }

  header() {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** PKCE pairs made before the run, so the load generator's hashing is not in the measurement. */
export function pkcePool(size) {
  return Array.from({ length: size }, () => {
    const verifier = randomBytes(32).toString('base64url');
    return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
  });
}

/**
 * One virtual user. `next()` gives the connection for its next request: with several server
 * processes it goes round-robin over them (a load balancer without affinity), so consecutive
 * requests of one flow land on different processes.
 */
export class VirtualUser {
  constructor(index, origins) {
    this.index = index;
    this.clients = origins.map(
      (origin) => new Client(origin, { pipelining: 1, keepAliveTimeout: 60_000 }),
    );
    this.turn = index;
    this.state = {};
  }

  next() {
    return this.clients[this.turn++ % this.clients.length];
  }

  /** One request on the next connection; the body is read in full. */
  async request(options) {
    const response = await this.next().request({ method: 'GET', ...options });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, text };
  }

  close() {
    return Promise.all(this.clients.map((client) => client.close()));
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  // Nearest rank.
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Runs `operation` on every user, back to back, for `seconds`. */
export async function runFor(users, seconds, operation) {
  const latencies = [];
  let errors = 0;
  let firstError;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    users.map(async (user) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await operation(user);
          latencies.push(performance.now() - t0);
        } catch (error) {
          errors++;
          firstError ??= error;
          // A failing server should not turn the run into a busy loop.
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    operations: latencies.length,
    perSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors,
    firstError: firstError === undefined ? undefined : String(firstError.message ?? firstError),
  };
}
