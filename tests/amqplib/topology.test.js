'use strict';
// Exchanges, queues and bindings with amqplib: the four exchange types' routing
// (topic wildcards, headers x-match any/all), server-named queues, purge and delete
// counts, and the queue arguments messageTtl and maxLength.
//
// Routing is checked without waiting for an absence: messages are published on a
// confirm channel, and once every confirm is in, each queue holds what was routed to it,
// which basic.get then drains.

const test = require('node:test');
const assert = require('node:assert/strict');
const {
  TEST_TIMEOUT_MS, channel, confirmed, consumeInto, drain, rejection, session, unique,
} = require('./helpers');

const opts = { timeout: TEST_TIMEOUT_MS };

/** Publishes each [routingKey, headers] to `exchange`, confirmed. */
async function publishAll(ch, exchange, messages) {
  for (const [key, headers] of messages) {
    ch.publish(exchange, key, Buffer.from(key), headers ? { headers } : {});
  }
  await confirmed(ch);
}

/** The bodies left in `queue`, in order. */
async function bodies(ch, queue) {
  return (await drain(ch, queue)).map((m) => m.content.toString());
}

test('a direct exchange routes by exact key; bind, publish, consume and ack', opts, async (t) => {
  const s = await session(t, { confirm: true });
  const ex = await s.exchange('direct');
  const red = await s.queue('red');
  const both = await s.queue('both');
  await s.ch.bindQueue(red, ex, 'red');
  await s.ch.bindQueue(both, ex, 'red');
  await s.ch.bindQueue(both, ex, 'green');
  await publishAll(s.ch, ex, [['red'], ['green'], ['blue'], ['Red'], ['red.x']]);
  assert.deepEqual(await bodies(s.ch, red), ['red']);

  const [box] = await consumeInto(s.ch, both);
  const [m1, m2] = await box.take(2);
  assert.deepEqual([m1.content.toString(), m2.content.toString()], ['red', 'green']);
  s.ch.ack(m1);
  s.ch.ack(m2);
  // Acked messages are gone: nothing comes back after the channel closes.
  await s.ch.close();
  const ch = await channel(s.conn);
  assert.equal((await ch.checkQueue(both)).messageCount, 0);

  // Unbinding stops the route.
  const pub = await channel(s.conn, { confirm: true });
  await pub.unbindQueue(red, ex, 'red');
  await publishAll(pub, ex, [['red']]);
  assert.deepEqual(await bodies(pub, red), []);
  assert.deepEqual(await bodies(pub, both), ['red']);
});

test('a fanout exchange copies to every bound queue whatever the key', opts, async (t) => {
  const s = await session(t, { confirm: true });
  const ex = await s.exchange('fanout');
  const queues = [await s.queue('fan'), await s.queue('fan'), await s.queue('fan')];
  for (const q of queues) await s.ch.bindQueue(q, ex, '');
  const unbound = await s.queue('unbound');
  await publishAll(s.ch, ex, [['a'], ['b.c'], ['']]);
  for (const q of queues) assert.deepEqual(await bodies(s.ch, q), ['a', 'b.c', '']);
  assert.deepEqual(await bodies(s.ch, unbound), []);
});

test('a topic exchange matches * as one word and # as zero or more', opts, async (t) => {
  const s = await session(t, { confirm: true });
  const ex = await s.exchange('topic');
  const patterns = {
    star: 'stock.*.nyse',
    hash: 'stock.#',
    tail: '#.error',
    mid: 'a.#.z',
    two: '*.*',
    exact: 'stock.ibm.nyse',
    all: '#',
  };
  const queues = {};
  for (const [k, pattern] of Object.entries(patterns)) {
    queues[k] = await s.queue(`topic-${k}`);
    await s.ch.bindQueue(queues[k], ex, pattern);
  }
  const keys = ['stock.ibm.nyse', 'stock.nyse', 'stock', 'stock.ibm.lse.nyse', 'app.error',
    'error', 'app.db.error', 'a.z', 'a.b.c.z', 'a.b', 'stocks.ibm.nyse', ''];
  await publishAll(s.ch, ex, keys.map((k) => [k]));
  const want = {
    star: ['stock.ibm.nyse'],
    hash: ['stock.ibm.nyse', 'stock.nyse', 'stock', 'stock.ibm.lse.nyse'],
    tail: ['app.error', 'error', 'app.db.error'],
    mid: ['a.z', 'a.b.c.z'],
    two: ['stock.nyse', 'app.error', 'a.z', 'a.b'],
    exact: ['stock.ibm.nyse'],
    all: keys,
  };
  for (const [k, q] of Object.entries(queues)) {
    assert.deepEqual(await bodies(s.ch, q), want[k], `pattern ${patterns[k]}`);
  }
});

test('a headers exchange matches x-match all and any, ignoring the routing key', opts,
  async (t) => {
    const s = await session(t, { confirm: true });
    const ex = await s.exchange('headers');
    const all = await s.queue('hdr-all');
    const any = await s.queue('hdr-any');
    const dflt = await s.queue('hdr-default');
    await s.ch.bindQueue(all, ex, '', { 'x-match': 'all', format: 'pdf', type: 'report' });
    await s.ch.bindQueue(any, ex, '', { 'x-match': 'any', format: 'pdf', type: 'log' });
    await s.ch.bindQueue(dflt, ex, '', { format: 'zip' }); // x-match defaults to all
    await publishAll(s.ch, ex, [
      ['pdf-report', { format: 'pdf', type: 'report' }],
      ['pdf-report-extra', { format: 'pdf', type: 'report', size: 'big' }],
      ['pdf-only', { format: 'pdf' }],
      ['log-only', { type: 'log' }],
      ['png-report', { format: 'png', type: 'report' }],
      ['zip', { format: 'zip', type: 'log' }],
      ['no-headers', null],
    ]);
    assert.deepEqual(await bodies(s.ch, all), ['pdf-report', 'pdf-report-extra']);
    assert.deepEqual(await bodies(s.ch, any),
      ['pdf-report', 'pdf-report-extra', 'pdf-only', 'log-only', 'zip']);
    assert.deepEqual(await bodies(s.ch, dflt), ['zip']);
  });

test('exchanges bind to exchanges', opts, async (t) => {
  const s = await session(t, { confirm: true });
  const src = await s.exchange('topic');
  const dst = await s.exchange('fanout');
  const q = await s.queue('e2e');
  await s.ch.bindExchange(dst, src, 'news.#');
  await s.ch.bindQueue(q, dst, '');
  await publishAll(s.ch, src, [['news.uk'], ['sport.uk'], ['news']]);
  assert.deepEqual(await bodies(s.ch, q), ['news.uk', 'news']);
});

test('server-named queues get distinct amq.gen- names and work as any other', opts,
  async (t) => {
    const s = await session(t, { confirm: true });
    const a = await s.ch.assertQueue('', { exclusive: true, durable: false });
    const b = await s.ch.assertQueue('', { exclusive: true, durable: false });
    assert.match(a.queue, /^amq\.gen-/);
    assert.match(b.queue, /^amq\.gen-/);
    assert.notEqual(a.queue, b.queue);
    assert.equal(a.messageCount, 0);
    assert.equal(a.consumerCount, 0);
    const ex = await s.exchange('fanout');
    await s.ch.bindQueue(a.queue, ex, '');
    await publishAll(s.ch, ex, [['one'], ['two']]);
    assert.equal((await s.ch.checkQueue(a.queue)).messageCount, 2);
    assert.deepEqual(await bodies(s.ch, a.queue), ['one', 'two']);
    assert.deepEqual(await bodies(s.ch, b.queue), []);
    await s.ch.deleteQueue(a.queue);
    await s.ch.deleteQueue(b.queue);
  });

test('purgeQueue and deleteQueue report how many messages they removed', opts, async (t) => {
  const s = await session(t, { confirm: true });
  const q = await s.queue('purge');
  for (let i = 0; i < 5; i++) s.ch.sendToQueue(q, Buffer.from(`m${i}`));
  await confirmed(s.ch);
  assert.equal((await s.ch.checkQueue(q)).messageCount, 5);
  assert.equal((await s.ch.purgeQueue(q)).messageCount, 5);
  assert.equal((await s.ch.checkQueue(q)).messageCount, 0);
  assert.equal((await s.ch.purgeQueue(q)).messageCount, 0);
  for (let i = 0; i < 3; i++) s.ch.sendToQueue(q, Buffer.from(`n${i}`));
  await confirmed(s.ch);
  // ifEmpty refuses to delete a queue with messages: 406, the channel closes.
  const err = await rejection(s.ch.deleteQueue(q, { ifEmpty: true }), 'deleteQueue ifEmpty');
  assert.equal(err.code, 406, err.message);
  const ch = await channel(s.conn);
  assert.equal((await ch.deleteQueue(q)).messageCount, 3);
  const gone = await rejection(ch.checkQueue(q), 'checkQueue of a deleted queue');
  assert.equal(gone.code, 404, gone.message);
  // Deleting exchanges: a deleted exchange is gone.
  const ch2 = await channel(s.conn);
  const ex = unique('deleted');
  await ch2.assertExchange(ex, 'direct', { durable: false });
  await ch2.deleteExchange(ex);
  const noEx = await rejection(ch2.checkExchange(ex), 'checkExchange of a deleted exchange');
  assert.equal(noEx.code, 404, noEx.message);
});

test('messageTtl expires waiting messages and dead-letters them', opts, async (t) => {
  const s = await session(t, { confirm: true });
  const dlx = await s.exchange('fanout');
  const dlq = await s.queue('ttl-dlq');
  await s.ch.bindQueue(dlq, dlx, '');
  const short = await s.queue('ttl-short', { messageTtl: 100, deadLetterExchange: dlx });
  const zero = await s.queue('ttl-zero', { messageTtl: 0 });
  const long = await s.queue('ttl-long', { messageTtl: 600000 });
  s.ch.sendToQueue(short, Buffer.from('short-lived'));
  s.ch.sendToQueue(zero, Buffer.from('dead on arrival'));
  s.ch.sendToQueue(long, Buffer.from('kept'));
  await confirmed(s.ch);
  // TTL 0 without a consumer waiting: expired at once.
  assert.deepEqual(await bodies(s.ch, zero), []);
  assert.deepEqual(await bodies(s.ch, long), ['kept']);
  // The short-lived one turns up dead-lettered once its 100 ms are up.
  const [box] = await consumeInto(s.ch, dlq, { noAck: true });
  const dead = await box.next('the expired message in the dead-letter queue');
  assert.equal(dead.content.toString(), 'short-lived');
  const death = dead.properties.headers['x-death'];
  assert.ok(Array.isArray(death), 'an x-death header');
  assert.equal(death[0].reason, 'expired');
  assert.equal(death[0].queue, short);
  assert.equal((await s.ch.checkQueue(short)).messageCount, 0);
});

test('maxLength drops the oldest messages (drop-head)', opts, async (t) => {
  const s = await session(t, { confirm: true });
  const q = await s.queue('maxlen', { maxLength: 2 });
  for (let i = 1; i <= 5; i++) s.ch.sendToQueue(q, Buffer.from(`m${i}`));
  await confirmed(s.ch);
  assert.equal((await s.ch.checkQueue(q)).messageCount, 2);
  assert.deepEqual(await bodies(s.ch, q), ['m4', 'm5']);
});
