/** AfterForming: work held while connections form, released when they have, or at the cap. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AfterForming } from '../../client/after-forming.js';

test('a task runs at once when nothing is forming', () => {
  const ran: string[] = [];
  const after = new AfterForming(() => false, 1000);
  after.run(() => ran.push('a'));
  assert.deepEqual(ran, ['a']);
});

test('tasks wait while something forms and run in order at the first check that finds nothing forming', () => {
  let forming = true;
  const ran: string[] = [];
  const after = new AfterForming(() => forming, 60_000);
  after.run(() => ran.push('a'));
  after.run(() => ran.push('b'));
  after.check();
  assert.deepEqual(ran, [] as string[]);
  forming = false;
  // A task given now still comes after those that waited.
  after.run(() => ran.push('c'));
  assert.deepEqual(ran, [] as string[]);
  after.check();
  assert.deepEqual(ran, ['a', 'b', 'c']);
  after.check();
  assert.deepEqual(ran, ['a', 'b', 'c']);
});

test('a connection that never finishes forming holds tasks back only until the cap', async () => {
  const ran: string[] = [];
  const after = new AfterForming(() => true, 50);
  after.run(() => ran.push('a'));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(ran, [] as string[]);
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.deepEqual(ran, ['a']);
});

test('clear drops what waits and its timer', async () => {
  const ran: string[] = [];
  const after = new AfterForming(() => true, 20);
  after.run(() => ran.push('a'));
  after.clear();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(ran, [] as string[]);
});
