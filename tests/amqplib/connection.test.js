'use strict';
// Connections and channels with amqplib: PLAIN login, refused credentials, tuning
// (heartbeat, frame_max), many channels, and channel exceptions that leave the
// connection open.

const test = require('node:test');
const assert = require('node:assert/strict');
const frame = require('amqplib/lib/frame');
const defs = require('amqplib/lib/defs');
const { Connection } = require('amqplib/lib/connection');
const {
  TEST_TIMEOUT_MS, Mailbox, amqp, channel, closeQuietly, connect, consumeInto, nextEvent,
  rejection, session, unique, url, within,
} = require('./helpers');

const opts = { timeout: TEST_TIMEOUT_MS };

test('guest/guest logs in with PLAIN and the server offers its capabilities', opts, async (t) => {
  const s = await session(t);
  const props = s.conn.connection.serverProperties;
  assert.equal(typeof props.product, 'string');
  const caps = props.capabilities;
  for (const cap of ['publisher_confirms', 'basic.nack', 'consumer_cancel_notify',
    'exchange_exchange_bindings', 'authentication_failure_close']) {
    assert.equal(caps[cap], true, `capability ${cap}`);
  }
  // The connection works: a queue round trip.
  const q = await s.queue('login');
  s.ch.sendToQueue(q, Buffer.from('hello'));
  const [box] = await consumeInto(s.ch, q, { noAck: true });
  assert.equal((await box.next()).content.toString(), 'hello');
});

test('a wrong password or an unknown user is refused with 403 ACCESS_REFUSED', opts, async () => {
  for (const creds of [{ password: 'wrong' }, { user: 'nobody', password: 'guest' }]) {
    const err = await rejection(amqp.connect(url(creds)), `connecting as ${JSON.stringify(creds)}`);
    assert.match(err.message, /403 \(ACCESS-REFUSED\)/, err.message);
  }
  const conn = await connect(); // the broker goes on serving
  await closeQuietly(conn);
});

test('an unknown vhost is refused with 530 NOT_ALLOWED', opts, async (t) => {
  // amqplib reports only "Expected ConnectionOpenOk; got <ConnectionClose>": read the
  // close's code from the frames it receives while opening.
  const proto = Connection.prototype;
  const recvFrame = proto.recvFrame;
  const closes = [];
  proto.recvFrame = function () {
    const f = recvFrame.call(this);
    if (f && f.id === defs.ConnectionClose) closes.push(f.fields);
    return f;
  };
  t.after(() => { proto.recvFrame = recvFrame; });
  const err = await rejection(amqp.connect(url({ vhost: unique('vhost') })), 'opening a missing vhost');
  assert.match(err.message, /ConnectionClose/, err.message);
  assert.ok(closes.length >= 1, "a connection.close arrived");
  assert.equal(closes[0].replyCode, 530);
  assert.match(closes[0].replyText, /NOT_ALLOWED/);
});

test('the heartbeat is negotiated down to the client\'s and the server beats', opts, async (t) => {
  const s = await session(t, { params: { heartbeat: 1 } });
  const c = s.conn.connection;
  assert.equal(c.heartbeat, 1);
  // Watch the frames read on this connection for the server's heartbeats.
  const beats = new Mailbox();
  const recvFrame = c.recvFrame.bind(c);
  c.recvFrame = () => {
    const f = recvFrame();
    if (f === frame.HEARTBEAT) beats.push(Date.now());
    return f;
  };
  // An idle connection for a few intervals: the server must go on beating (amqplib gives
  // up after two silent intervals, emitting 'error': "Heartbeat timeout") and must not
  // close the connection while our beats arrive.
  const start = Date.now();
  let count = 0;
  while (Date.now() - start < 2500) {
    await beats.next(`heartbeat ${count + 1} from the server`, 2000);
    count += 1;
  }
  assert.ok(count >= 2, `${count} heartbeats`);
  // Our own beats kept the server from closing the idle connection.
  const q = await s.queue('heartbeat');
  assert.equal((await s.ch.checkQueue(q)).queue, q);
  assert.equal(s.conn.errors.pending, 0, 'no connection errors');
});

test('frame_max is negotiated down to the client\'s', opts, async (t) => {
  const small = await connect({ params: { frameMax: 8192 } });
  t.after(() => closeQuietly(small));
  assert.equal(small.connection.frameMax, 8192);
  const usual = await connect();
  t.after(() => closeQuietly(usual));
  assert.ok(usual.connection.frameMax >= 4096 && usual.connection.frameMax <= 131072,
    `frameMax ${usual.connection.frameMax}`);
});

test('channels open and close independently on one connection', opts, async (t) => {
  const s = await session(t);
  const a = await channel(s.conn);
  const b = await channel(s.conn);
  assert.notEqual(a.ch, b.ch);
  const q = await s.queue('chan');
  await a.close();
  // b is unaffected by a's close.
  assert.equal((await b.checkQueue(q)).queue, q);
  // A closed channel's number is free again (amqplib takes the lowest free one).
  const c = await channel(s.conn);
  assert.equal(c.ch, a.ch);
  assert.equal((await c.checkQueue(q)).queue, q);
});

test('many channels on one connection each publish and one consumes them all', opts, async (t) => {
  const s = await session(t);
  const q = await s.queue('many');
  const n = 200;
  const channels = await Promise.all(Array.from({ length: n }, () => channel(s.conn)));
  assert.equal(new Set(channels.map((ch) => ch.ch)).size, n, 'distinct channel numbers');
  channels.forEach((ch, i) => ch.sendToQueue(q, Buffer.from(String(i))));
  const [box] = await consumeInto(s.ch, q, { noAck: true });
  const got = (await box.take(n)).map((m) => Number(m.content.toString()));
  assert.deepEqual(got.sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i));
  await within(Promise.all(channels.map((ch) => ch.close())), 'closing the channels');
  // The connection is fine after all that.
  assert.equal((await s.ch.checkQueue(q)).messageCount, 0);
});

for (const [what, check] of [
  ['checkQueue', (ch, name) => ch.checkQueue(name)],
  ['checkExchange', (ch, name) => ch.checkExchange(name)],
]) {
  test(`${what} of a missing one closes the channel with 404 NOT_FOUND, not the connection`, opts,
    async (t) => {
      const s = await session(t);
      const closed = nextEvent(s.ch, 'close');
      const err = await rejection(check(s.ch, unique('missing')), `${what} of a missing name`);
      assert.equal(err.code, 404, err.message);
      const event = await s.ch.errors.next('the channel\'s error event');
      assert.equal(event.code, 404);
      assert.match(event.message, /NOT_FOUND/);
      await closed;
      assert.throws(() => s.ch.sendToQueue('x', Buffer.from('x')), /closed/i);
      // The connection is still open: a new channel works.
      const ch = await channel(s.conn);
      const q = await s.queue('after-404', {}, ch);
      assert.equal((await ch.checkQueue(q)).queue, q);
      assert.equal(s.conn.errors.pending, 0, 'no connection errors');
    });
}

test('redeclaring a queue with other properties is 406 PRECONDITION_FAILED', opts, async (t) => {
  const s = await session(t);
  const q = await s.queue('redeclare', { durable: false });
  const err = await rejection(s.ch.assertQueue(q, { durable: true }), 'an inequivalent redeclare');
  assert.equal(err.code, 406, err.message);
  assert.match(err.message, /PRECONDITION_FAILED|PRECONDITION-FAILED/);
  const ch = await channel(s.conn);
  // An equivalent redeclare is fine.
  assert.equal((await ch.assertQueue(q, { durable: false })).queue, q);
});
