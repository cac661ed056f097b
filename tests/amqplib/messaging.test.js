'use strict';
// Consumers and messages with amqplib: prefetch, nack (requeue and dead-letter), get,
// exclusive consumers and queues, cancel (ours and the server's), delivery fields,
// properties round trip, and bodies larger than a frame.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const {
  TEST_TIMEOUT_MS, channel, confirmed, consumeInto, drain, nextEvent, rejection, session,
  unique, within,
} = require('./helpers');

const opts = { timeout: TEST_TIMEOUT_MS };

test('deliveries carry the exchange, routing key, consumer tag and delivery tag', opts,
  async (t) => {
    const s = await session(t, { confirm: true });
    const ex = await s.exchange('topic');
    const q = await s.queue('fields');
    await s.ch.bindQueue(q, ex, 'orders.*');
    const [box, tag] = await consumeInto(s.ch, q, { noAck: true });
    s.ch.publish(ex, 'orders.new', Buffer.from('via topic'));
    s.ch.sendToQueue(q, Buffer.from('via default'));
    const [a, b] = await box.take(2);
    assert.equal(a.content.toString(), 'via topic');
    assert.equal(a.fields.exchange, ex);
    assert.equal(a.fields.routingKey, 'orders.new');
    assert.equal(a.fields.consumerTag, tag);
    assert.equal(a.fields.redelivered, false);
    assert.equal(b.fields.exchange, '');
    assert.equal(b.fields.routingKey, q);
    assert.equal(b.fields.deliveryTag, a.fields.deliveryTag + 1);
  });

test('basic.get with and without noAck', opts, async (t) => {
  const s = await session(t, { confirm: true });
  const ex = await s.exchange('direct');
  const q = await s.queue('get');
  await s.ch.bindQueue(q, ex, 'k');
  assert.equal(await s.ch.get(q), false, 'an empty queue gives get-empty');
  for (const body of ['one', 'two', 'three']) s.ch.publish(ex, 'k', Buffer.from(body));
  await confirmed(s.ch);

  const one = await s.ch.get(q, { noAck: false });
  assert.equal(one.content.toString(), 'one');
  assert.equal(one.fields.routingKey, 'k');
  assert.equal(one.fields.redelivered, false);
  assert.equal(one.fields.messageCount, 2, 'messages left after this one');
  // Not acked yet: requeue it by nack, and it comes back first, redelivered.
  s.ch.nack(one, false, true);
  const again = await s.ch.get(q, { noAck: false });
  assert.equal(again.content.toString(), 'one');
  assert.equal(again.fields.redelivered, true);
  s.ch.ack(again);

  const two = await s.ch.get(q, { noAck: true });
  assert.equal(two.content.toString(), 'two');
  assert.equal(two.fields.messageCount, 1);
  // An unacked get returns to the queue when its channel closes; a noAck one does not.
  const three = await s.ch.get(q, { noAck: false });
  assert.equal(three.content.toString(), 'three');
  await s.ch.close();
  const ch = await channel(s.conn);
  const back = await drain(ch, q);
  assert.deepEqual(back.map((m) => [m.content.toString(), m.fields.redelivered]),
    [['three', true]]);
  // get-ok names the exchange the message was published to (checked last, so that a
  // missing name does not hide the rest).
  assert.equal(one.fields.exchange, ex);
  assert.equal(back[0].fields.exchange, ex);
});

test('prefetch limits unacknowledged deliveries per consumer', opts, async (t) => {
  const s = await session(t, { confirm: true });
  const q = await s.queue('prefetch');
  for (let i = 0; i < 5; i++) s.ch.sendToQueue(q, Buffer.from(`m${i}`));
  await confirmed(s.ch);
  const ch = await channel(s.conn);
  await ch.prefetch(2);
  const [box] = await consumeInto(ch, q);
  const [m0, m1] = await box.take(2);
  assert.deepEqual([m0.content.toString(), m1.content.toString()], ['m0', 'm1']);
  // Two out and unacked: the other three wait in the queue.
  assert.equal((await s.ch.checkQueue(q)).messageCount, 3);
  ch.ack(m0);
  const m2 = await box.next();
  assert.equal(m2.content.toString(), 'm2');
  assert.equal((await s.ch.checkQueue(q)).messageCount, 2);
  // Acking several at once (allUpTo) frees two slots.
  ch.ack(m2, true);
  const [m3, m4] = await box.take(2);
  assert.deepEqual([m3.content.toString(), m4.content.toString()], ['m3', 'm4']);
  ch.ack(m4, true);
  assert.equal((await s.ch.checkQueue(q)).messageCount, 0);
});

test('nack with requeue redelivers with the redelivered flag set', opts, async (t) => {
  const s = await session(t);
  const q = await s.queue('requeue');
  const [box] = await consumeInto(s.ch, q);
  s.ch.sendToQueue(q, Buffer.from('try again'));
  const first = await box.next();
  assert.equal(first.fields.redelivered, false);
  s.ch.nack(first, false, true);
  const second = await box.next('the redelivery');
  assert.equal(second.content.toString(), 'try again');
  assert.equal(second.fields.redelivered, true);
  assert.notEqual(second.fields.deliveryTag, first.fields.deliveryTag);
  // reject (basic.reject) with requeue does the same.
  s.ch.reject(second, true);
  const third = await box.next('the redelivery after reject');
  assert.equal(third.fields.redelivered, true);
  s.ch.ack(third);
  const ch = await channel(s.conn);
  assert.equal((await ch.checkQueue(q)).messageCount, 0);
});

test('nack without requeue dead-letters to x-dead-letter-exchange', opts, async (t) => {
  const s = await session(t);
  const dlx = await s.exchange('direct');
  const dlq = await s.queue('dlq');
  await s.ch.bindQueue(dlq, dlx, 'dead');
  const q = await s.queue('dl-src', { deadLetterExchange: dlx, deadLetterRoutingKey: 'dead' });
  const plain = await s.queue('dl-none'); // no dead-letter exchange: a nack discards
  const [box] = await consumeInto(s.ch, q);
  const [plainBox] = await consumeInto(s.ch, plain);
  const [deadBox] = await consumeInto(s.ch, dlq, { noAck: true });
  s.ch.sendToQueue(q, Buffer.from('unwanted'), { headers: { mine: 'yes' } });
  s.ch.sendToQueue(plain, Buffer.from('dropped'));
  const m = await box.next();
  s.ch.nack(m, false, false);
  const dropped = await plainBox.next();
  s.ch.reject(dropped, false);
  const dead = await deadBox.next('the dead letter');
  assert.equal(dead.content.toString(), 'unwanted');
  assert.equal(dead.fields.routingKey, 'dead');
  assert.equal(dead.properties.headers.mine, 'yes');
  const death = dead.properties.headers['x-death'];
  assert.ok(Array.isArray(death) && death.length === 1, 'one x-death entry');
  assert.equal(death[0].reason, 'rejected');
  assert.equal(death[0].queue, q);
  assert.equal(death[0].exchange, '');
  assert.deepEqual(death[0]['routing-keys'], [q]);
  assert.equal(death[0].count, 1);
  const ch = await channel(s.conn);
  assert.equal((await ch.checkQueue(q)).messageCount, 0);
  assert.equal((await ch.checkQueue(plain)).messageCount, 0);
  // Republished through the dead-letter exchange (checked last: see basic.get).
  assert.equal(dead.fields.exchange, dlx);
});

test('an exclusive consumer keeps others off its queue (403 ACCESS_REFUSED)', opts,
  async (t) => {
    const s = await session(t);
    const q = await s.queue('exclusive-consumer');
    const [box] = await consumeInto(s.ch, q, { exclusive: true });
    const other = await channel(s.conn);
    const err = await rejection(other.consume(q, () => {}), 'a second consumer');
    assert.equal(err.code, 403, err.message);
    assert.match(err.message, /ACCESS_REFUSED|ACCESS-REFUSED/);
    // The exclusive consumer still gets the messages.
    s.ch.sendToQueue(q, Buffer.from('only for you'));
    assert.equal((await box.next()).content.toString(), 'only for you');
  });

test('an exclusive consume is refused while the queue has a consumer (403)', opts,
  async (t) => {
    const s = await session(t);
    const q = await s.queue('exclusive-late');
    const [box] = await consumeInto(s.ch, q, { noAck: true });
    const late = await channel(s.conn);
    const err = await rejection(late.consume(q, () => {}, { exclusive: true }),
      'an exclusive consumer on a queue with a consumer');
    assert.equal(err.code, 403, err.message);
    assert.match(err.message, /ACCESS_REFUSED|ACCESS-REFUSED/);
    s.ch.sendToQueue(q, Buffer.from('still yours'));
    assert.equal((await box.next()).content.toString(), 'still yours');
  });

test('an exclusive queue is locked to its connection (405 RESOURCE_LOCKED)', opts,
  async (t) => {
    const s = await session(t);
    const q = await s.queue('exclusive-queue', { exclusive: true });
    const conn2 = await s.connect();
    for (const [what, op] of [
      ['checkQueue', (ch) => ch.checkQueue(q)],
      ['consume', (ch) => ch.consume(q, () => {})],
      ['get', (ch) => ch.get(q)],
    ]) {
      const ch = await channel(conn2);
      await rejection(op(ch), `${what} from another connection`);
      // (get rejects with the channel.close frame itself: the error event is uniform.)
      const err = await ch.errors.next(`the channel error after ${what}`);
      assert.equal(err.code, 405, `${what}: ${err.message}`);
      assert.match(err.message, /RESOURCE_LOCKED|RESOURCE-LOCKED/);
    }
    // Its own connection uses it freely.
    s.ch.sendToQueue(q, Buffer.from('mine'));
    const [box] = await consumeInto(s.ch, q, { noAck: true });
    assert.equal((await box.next()).content.toString(), 'mine');
  });

test('cancel stops deliveries and the queue counts its consumers', opts, async (t) => {
  const s = await session(t, { confirm: true });
  const q = await s.queue('cancel');
  const ch = await channel(s.conn);
  const [box, tag] = await consumeInto(ch, q, { noAck: true });
  const countWith = (await s.ch.checkQueue(q)).consumerCount;
  s.ch.sendToQueue(q, Buffer.from('before'));
  assert.equal((await box.next()).content.toString(), 'before');
  await within(ch.cancel(tag), 'basic.cancel-ok');
  const countAfter = (await s.ch.checkQueue(q)).consumerCount;
  s.ch.sendToQueue(q, Buffer.from('after'));
  await confirmed(s.ch);
  // The message waits in the queue instead of going to the cancelled consumer.
  assert.deepEqual((await drain(s.ch, q)).map((m) => m.content.toString()), ['after']);
  assert.equal(box.pending, 0);
  // queue.declare-ok counted the consumer (checked last, so that a wrong count does not
  // hide whether cancel works).
  assert.equal(countWith, 1, 'consumerCount while consuming');
  assert.equal(countAfter, 0, 'consumerCount after cancel');
});

test('deleting a queue cancels its consumers (the callback gets null)', opts, async (t) => {
  const s = await session(t);
  const q = unique('deleted-under');
  await s.ch.assertQueue(q, { durable: false });
  const ch = await channel(s.conn);
  const [box, tag] = await consumeInto(ch, q);
  const cancelled = nextEvent(ch, 'cancel');
  assert.equal((await s.ch.deleteQueue(q)).messageCount, 0);
  const fields = await cancelled;
  assert.equal(fields.consumerTag, tag);
  assert.equal(await box.next('the null delivery of a cancelled consumer'), null);
  // The channel stays open.
  const q2 = await s.queue('after-cancel', {}, ch);
  assert.equal((await ch.checkQueue(q2)).queue, q2);
});

test('message properties round trip', opts, async (t) => {
  const s = await session(t);
  const q = await s.queue('props');
  const [box] = await consumeInto(s.ch, q, { noAck: true });
  const headers = {
    string: 'text ✓',
    int: 42,
    negative: -7,
    big: 5000000000,
    float: 2.5,
    yes: true,
    no: false,
    nested: { inner: { deep: 'value', n: 1 }, list: [1, 'two', true, { three: 3 }] },
    array: ['a', 2, false, [3, 4]],
    empty: {},
  };
  const timestamp = Math.floor(Date.now() / 1000);
  s.ch.sendToQueue(q, Buffer.from('{"hello":1}'), {
    contentType: 'application/json',
    contentEncoding: 'identity',
    headers,
    deliveryMode: 2,
    priority: 5,
    correlationId: 'corr-1',
    replyTo: 'reply-queue',
    expiration: '600000',
    messageId: 'msg-1',
    timestamp,
    type: 'greeting',
    userId: 'guest',
    appId: 'amqplib-test',
  });
  s.ch.sendToQueue(q, Buffer.from('bare'));
  const [m, bare] = await box.take(2);
  const p = m.properties;
  assert.equal(m.content.toString(), '{"hello":1}');
  assert.equal(p.contentType, 'application/json');
  assert.equal(p.contentEncoding, 'identity');
  assert.equal(p.deliveryMode, 2);
  assert.equal(p.priority, 5);
  assert.equal(p.correlationId, 'corr-1');
  assert.equal(p.replyTo, 'reply-queue');
  assert.equal(p.expiration, '600000');
  assert.equal(p.messageId, 'msg-1');
  assert.equal(p.timestamp, timestamp);
  assert.equal(p.type, 'greeting');
  assert.equal(p.userId, 'guest');
  assert.equal(p.appId, 'amqplib-test');
  // A message without properties has none.
  const b = bare.properties;
  for (const k of ['contentType', 'contentEncoding', 'deliveryMode', 'priority',
    'correlationId', 'replyTo', 'expiration', 'messageId', 'timestamp', 'type', 'userId',
    'appId']) {
    assert.equal(b[k], undefined, `${k} of a bare message`);
  }
  // The headers table keeps its value types and nesting (checked last, being the
  // most likely to differ, so that the properties above are checked regardless).
  assert.deepEqual(p.headers, headers);
});

for (const frameMax of [undefined, 4096]) {
  test(`a 1 MiB body crosses frames intact (frameMax ${frameMax || 'default'})`, opts,
    async (t) => {
      const s = await session(t, { confirm: true, params: frameMax ? { frameMax } : {} });
      if (frameMax) assert.equal(s.conn.connection.frameMax, frameMax);
      assert.ok(s.conn.connection.frameMax < 1 << 20);
      const q = await s.queue('large');
      const big = crypto.randomBytes(1 << 20);
      const [box] = await consumeInto(s.ch, q, { noAck: true });
      s.ch.sendToQueue(q, big, { messageId: 'big' });
      s.ch.sendToQueue(q, Buffer.alloc(0), { messageId: 'empty' });
      s.ch.sendToQueue(q, Buffer.from('small'), { messageId: 'small' });
      await confirmed(s.ch);
      const [m1, m2, m3] = await box.take(3);
      assert.equal(m1.properties.messageId, 'big');
      assert.equal(m1.content.length, big.length);
      assert.ok(m1.content.equals(big), 'the large body arrives unchanged');
      assert.equal(m2.properties.messageId, 'empty');
      assert.equal(m2.content.length, 0);
      assert.equal(m3.content.toString(), 'small');
    });
}
