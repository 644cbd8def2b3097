import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createApp } from '../src/server.js';

let server;
let base;

before(async () => {
  server = createApp();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => server.close());

async function get(path, token) {
  const response = await fetch(base + path, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: response.status, body: await response.json() };
}

test('health answers', async () => {
  assert.deepEqual(await get('/health'), { status: 200, body: { ok: true } });
});

test('the first page of users starts with the first user', async () => {
  const { body } = await get('/users?page=1&size=2');
  assert.deepEqual(
    body.map((u) => u.name),
    ['alice', 'bob'],
  );
});

test('the last page holds the rest', async () => {
  const { body } = await get('/users?page=3&size=2');
  assert.deepEqual(
    body.map((u) => u.name),
    ['erin'],
  );
});

test('an owner reads their own order', async () => {
  const { status, body } = await get('/orders/101', 'alice-token');
  assert.equal(status, 200);
  assert.equal(body.item, 'keyboard');
});

test("a user cannot read someone else's order", async () => {
  const { status } = await get('/orders/102', 'alice-token');
  assert.equal(status, 404);
});

test('public files are served', async () => {
  const { status, body } = await get('/files/welcome.txt');
  assert.equal(status, 200);
  assert.match(body.content, /Welcome/);
});

test('files outside public/ are not served', async () => {
  const { status } = await get('/files/..%2Fsecret.txt');
  assert.equal(status, 404);
});
