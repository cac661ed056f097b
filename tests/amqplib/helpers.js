'use strict';
// Shared pieces of the amqplib tests (not a test file itself: `node --test` runs only
// files named *.test.js).
//
// AMQP_URL names the broker (amqp://guest:guest@127.0.0.1:PORT/); tests/python/
// test_amqplib.py sets it for each switchyard backend. Every wait goes through `within`,
// which fails the test after a deadline instead of hanging or sleeping.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { after } = require('node:test');
const amqp = require('amqplib');

const AMQP_URL = process.env.AMQP_URL;
if (!AMQP_URL) {
  throw new Error('AMQP_URL is not set (e.g. AMQP_URL=amqp://guest:guest@127.0.0.1:5672/)');
}

/** How long any single wait may take before the test fails (ms). */
const WAIT_MS = 5000;
/** The per-test limit handed to node:test (ms). */
const TEST_TIMEOUT_MS = 15000;

/** AMQP_URL with other credentials, vhost or query parameters. */
function url({ user, password, vhost, params } = {}) {
  const u = new URL(AMQP_URL);
  if (user !== undefined) u.username = encodeURIComponent(user);
  if (password !== undefined) u.password = encodeURIComponent(password);
  if (vhost !== undefined) u.pathname = '/' + encodeURIComponent(vhost);
  for (const [k, v] of Object.entries(params || {})) u.searchParams.set(k, String(v));
  return u.toString();
}

/** Resolves or rejects as `promise` does, or rejects after `ms` naming `what`. */
function within(promise, what, ms = WAIT_MS) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * The next `event` from `emitter` (its first argument), within the deadline. Unlike
 * events.once, an 'error' event meanwhile does not reject it.
 */
function nextEvent(emitter, event, ms = WAIT_MS) {
  let listener;
  const fired = new Promise((resolve) => {
    listener = resolve;
    emitter.once(event, listener);
  });
  return within(fired, `a '${event}' event`, ms).finally(() => {
    emitter.removeListener(event, listener);
  });
}

/** A promise's rejection, failing the test if it resolves instead. */
async function rejection(promise, what, ms = WAIT_MS) {
  try {
    const value = await within(promise, what, ms);
    assert.fail(`${what}: expected a rejection, got ${JSON.stringify(value)}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    return err;
  }
}

let serial = 0;
/** A name no other test (or earlier run) uses. */
function unique(prefix) {
  serial += 1;
  return `amqplib-${prefix}-${process.pid}-${serial}-${crypto.randomBytes(3).toString('hex')}`;
}

/**
 * Messages handed to a consumer callback (or anything else), taken in order with a
 * deadline: `box.push` is the callback, `await box.next()` the next message.
 */
class Mailbox {
  constructor() {
    this.items = [];
    this.waiters = [];
    this.push = (item) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter(item);
      else this.items.push(item);
    };
  }

  next(what = 'a message', ms = WAIT_MS) {
    if (this.items.length > 0) return Promise.resolve(this.items.shift());
    let waiter;
    const arrived = new Promise((resolve) => {
      waiter = resolve;
      this.waiters.push(waiter);
    });
    return within(arrived, what, ms).catch((err) => {
      this.waiters = this.waiters.filter((w) => w !== waiter);
      throw err;
    });
  }

  async take(n, what = 'messages', ms = WAIT_MS) {
    const out = [];
    for (let i = 0; i < n; i++) out.push(await this.next(`${what} (${i + 1} of ${n})`, ms));
    return out;
  }

  get pending() {
    return this.items.length;
  }
}

/**
 * Records a channel's or connection's 'error' events (an unhandled one would crash the
 * test process) and lets a test wait for the next.
 */
function recordErrors(emitter) {
  const box = new Mailbox();
  emitter.errors = box;
  emitter.on('error', box.push);
  return box;
}

/** Connections not closed yet: whatever a test leaves open is destroyed at the end. */
const live = new Set();
after(() => {
  for (const conn of live) conn.connection.stream.destroy();
});

async function connect(options = {}) {
  const conn = await within(amqp.connect(url(options)), `connecting to ${AMQP_URL}`);
  recordErrors(conn);
  live.add(conn);
  conn.on('close', () => live.delete(conn));
  return conn;
}

async function channel(conn, { confirm = false } = {}) {
  const ch = await within(confirm ? conn.createConfirmChannel() : conn.createChannel(),
    'a channel to open');
  recordErrors(ch);
  return ch;
}

const CLOSE_MS = 3000;

/**
 * Closes a connection or channel. One already closed (by us or by the server) is fine;
 * a connection whose close-ok does not arrive in time has its socket destroyed, and the
 * result is an error message (otherwise null).
 */
async function closeQuietly(thing) {
  try {
    await within(thing.close(), 'close-ok', CLOSE_MS);
  } catch (err) {
    if (/timed out/.test(err.message)) {
      if (thing.connection && thing.connection.stream) thing.connection.stream.destroy();
      return `no close-ok within ${CLOSE_MS} ms`;
    }
  }
  return null;
}

/**
 * A test's connection and channel, with unique names and cleanup: when the test ends
 * (pass or fail) every connection it opened through `connect` is closed (a broker that
 * does not answer connection.close fails the test), then the queues and exchanges it
 * declared through `queue` and `exchange` are deleted (best effort).
 */
async function session(t, { confirm = false, ...options } = {}) {
  const conns = [];
  const queues = [];
  const exchanges = [];
  const s = {
    async connect(opts = options) {
      const c = await connect(opts);
      conns.push(c);
      return c;
    },
    channel: (c, opts) => channel(c, opts),
    name: unique,
    async queue(prefix, opts = {}, ch = s.ch) {
      const name = prefix === '' ? '' : unique(prefix);
      const ok = await ch.assertQueue(name, { durable: false, ...opts });
      queues.push(ok.queue);
      return ok.queue;
    },
    async exchange(type, opts = {}, ch = s.ch) {
      const name = unique(type);
      await ch.assertExchange(name, type, { durable: false, ...opts });
      exchanges.push(name);
      return name;
    },
    /** Registers a queue or exchange declared some other way for deletion. */
    own(kind, name) {
      (kind === 'queue' ? queues : exchanges).push(name);
    },
  };
  t.after(async () => {
    const problems = [];
    for (const c of conns) {
      const problem = await closeQuietly(c);
      if (problem) problems.push(`closing a test connection: ${problem}`);
    }
    if (queues.length + exchanges.length > 0) {
      let c;
      try {
        c = await connect(options);
        let ch = await channel(c);
        for (const [kind, name] of [...queues.map((q) => ['queue', q]),
          ...exchanges.map((e) => ['exchange', e])]) {
          try {
            if (kind === 'queue') await within(ch.deleteQueue(name), `deleting ${name}`);
            else await within(ch.deleteExchange(name), `deleting ${name}`);
          } catch (_) {
            ch = await channel(c); // a failed delete closed the channel
          }
        }
      } catch (_) {
        // deleting is best effort; the test's own result stands
      }
      if (c) await closeQuietly(c);
    }
    if (problems.length > 0) throw new Error(problems.join('; '));
  });
  s.conn = await s.connect();
  s.ch = await channel(s.conn, { confirm });
  return s;
}

/** Consumes `queue` on `ch` into a new Mailbox; returns [box, consumerTag]. */
async function consumeInto(ch, queue, options = {}) {
  const box = new Mailbox();
  const ok = await within(ch.consume(queue, box.push, options), `basic.consume on ${queue}`);
  return [box, ok.consumerTag];
}

/** Every message left in `queue`, taken with basic.get (noAck) until it is empty. */
async function drain(ch, queue, limit = 1000) {
  const out = [];
  for (;;) {
    const m = await within(ch.get(queue, { noAck: true }), `basic.get on ${queue}`);
    if (m === false) return out;
    out.push(m);
    assert.ok(out.length <= limit, `more than ${limit} messages in ${queue}`);
  }
}

/** Publishes on a confirm channel and waits until the broker has confirmed them all. */
async function confirmed(ch) {
  await within(ch.waitForConfirms(), 'publisher confirms');
}

module.exports = {
  AMQP_URL,
  TEST_TIMEOUT_MS,
  WAIT_MS,
  Mailbox,
  amqp,
  channel,
  closeQuietly,
  confirmed,
  connect,
  consumeInto,
  drain,
  nextEvent,
  recordErrors,
  rejection,
  session,
  unique,
  url,
  within,
};
