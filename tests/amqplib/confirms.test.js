'use strict';
// Publisher confirms and returns with amqplib: confirm channels, per-message callbacks,
// waitForConfirms, mandatory publishes without a route ('return' events), and the nack
// of a publish a full queue refuses (x-overflow reject-publish).

const test = require('node:test');
const assert = require('node:assert/strict');
const {
  Mailbox, TEST_TIMEOUT_MS, channel, consumeInto, drain, nextEvent, session, unique, within,
} = require('./helpers');

const opts = { timeout: TEST_TIMEOUT_MS };

/** A promise for the confirm of one publish: resolves null (ack) or an Error (nack). */
function callback() {
  let done;
  const p = new Promise((resolve) => { done = resolve; });
  return [(err) => done(err), p];
}

test('a confirm channel acks every publish; the callbacks and waitForConfirms agree', opts,
  async (t) => {
    const s = await session(t, { confirm: true });
    const q = await s.queue('confirms');
    const n = 100;
    const results = [];
    for (let i = 0; i < n; i++) {
      const [cb, p] = callback();
      s.ch.sendToQueue(q, Buffer.from(`m${i}`), {}, cb);
      results.push(p);
    }
    await within(s.ch.waitForConfirms(), 'waitForConfirms');
    const outcomes = await within(Promise.all(results), 'the per-message callbacks');
    assert.deepEqual(outcomes, Array(n).fill(null), 'every publish acked');
    assert.equal((await s.ch.checkQueue(q)).messageCount, n);
    // The server's delivery tags count publishes from 1 on this channel: the acks it
    // sent covered exactly those (amqplib would throw on an ack for a tag it never used).
    const acks = new Mailbox();
    s.ch.on('ack', acks.push);
    const [cb, p] = callback();
    s.ch.sendToQueue(q, Buffer.from('last'), {}, cb);
    const ack = await acks.next('basic.ack for the 101st publish');
    assert.equal(ack.deliveryTag, n + 1);
    assert.equal(await p, null);
  });

test('a publish nobody receives is still confirmed', opts, async (t) => {
  const s = await session(t, { confirm: true });
  const ex = await s.exchange('direct');
  const [cb, p] = callback();
  s.ch.publish(ex, 'nowhere', Buffer.from('lost'), {}, cb);
  assert.equal(await within(p, 'the confirm of an unroutable publish'), null);
  await within(s.ch.waitForConfirms(), 'waitForConfirms');
});

test('a mandatory publish without a route comes back in a return event', opts, async (t) => {
  const s = await session(t);
  const ex = await s.exchange('direct');
  const q = await s.queue('mandatory');
  await s.ch.bindQueue(q, ex, 'bound');
  const returned = nextEvent(s.ch, 'return');
  s.ch.publish(ex, 'unbound', Buffer.from('come back'), {
    mandatory: true, messageId: 'ret-1', headers: { h: 1 },
  });
  const m = await returned;
  assert.equal(m.content.toString(), 'come back');
  assert.equal(m.fields.replyCode, 312);
  assert.equal(m.fields.replyText, 'NO_ROUTE');
  assert.equal(m.fields.exchange, ex);
  assert.equal(m.fields.routingKey, 'unbound');
  assert.equal(m.properties.messageId, 'ret-1');
  assert.deepEqual(m.properties.headers, { h: 1 });
  // A routable mandatory publish is delivered and not returned; the default exchange
  // with a missing queue name returns too.
  const returns = new Mailbox();
  s.ch.on('return', returns.push);
  s.ch.publish(ex, 'bound', Buffer.from('stays'), { mandatory: true });
  s.ch.sendToQueue(unique('no-such-queue'), Buffer.from('no queue'), { mandatory: true });
  const r = await returns.next('the return from the default exchange');
  assert.equal(r.content.toString(), 'no queue');
  assert.equal(r.fields.exchange, '');
  const [box] = await consumeInto(s.ch, q, { noAck: true });
  assert.equal((await box.next()).content.toString(), 'stays');
  assert.equal(returns.pending, 0);
});

test('on a confirm channel, a mandatory return comes before the ack', opts, async (t) => {
  const s = await session(t, { confirm: true });
  const ex = await s.exchange('fanout');
  // Recorded as the frames are handled (promise callbacks would run in another order).
  const order = [];
  s.ch.on('return', (m) => order.push(`return ${m.content}`));
  const returned = nextEvent(s.ch, 'return');
  const [cb, p] = callback();
  s.ch.publish(ex, '', Buffer.from('x'), { mandatory: true }, (err) => {
    order.push(err === null ? 'ack' : 'nack');
    cb(err);
  });
  await within(Promise.all([returned, p]), 'the return and the confirm');
  assert.deepEqual(order, ['return x', 'ack']);
});

test('a full queue with x-overflow reject-publish nacks the publish', opts, async (t) => {
  const s = await session(t, { confirm: true });
  const q = await s.queue('reject-publish', { maxLength: 1, overflow: 'reject-publish' });
  const [cb1, p1] = callback();
  const [cb2, p2] = callback();
  s.ch.sendToQueue(q, Buffer.from('fits'), {}, cb1);
  s.ch.sendToQueue(q, Buffer.from('refused'), {}, cb2);
  await assert.rejects(within(s.ch.waitForConfirms(), 'waitForConfirms'), /nack/);
  assert.equal(await within(p1, 'the first confirm'), null);
  const err = await within(p2, 'the second confirm');
  assert.ok(err instanceof Error, 'the second publish is nacked');
  assert.match(err.message, /nack/);
  const ch = await channel(s.conn);
  assert.deepEqual((await drain(ch, q)).map((m) => m.content.toString()), ['fits']);
});
