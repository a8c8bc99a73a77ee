// Greeting delay: 0 greets at once (no timer at all, unlike smtp-server's fixed 100 ms), N ms waits and
// refuses early talkers. No wall-clock assertions: timers are frozen with node:test's mock timers, or
// the delay is so long that the greeting cannot have been sent.

import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { scheduleGreeting } from '../../src/smtp/inbound/greeting.js';
import { RawSession, startListener } from '../helpers/smtp.js';

/** Waits up to `turns` event-loop turns (setImmediate is never mocked here) for `cond`. */
async function until(cond: () => boolean, turns = 2000): Promise<boolean> {
  for (let i = 0; i < turns && !cond(); i++) await new Promise((r) => setImmediate(r));
  return cond();
}

describe('scheduleGreeting', () => {
  it('runs at once for delay 0 without touching the timer', () => {
    let ran = false;
    let timers = 0;
    scheduleGreeting(0, () => (ran = true), () => (timers++, {}));
    assert.equal(ran, true);
    assert.equal(timers, 0);
  });

  it('uses the timer for a positive delay and unrefs it', () => {
    let ran = false;
    let unrefd = false;
    let fire!: () => void;
    let asked = 0;
    scheduleGreeting(250, () => (ran = true), (fn, ms) => {
      fire = fn;
      asked = ms;
      return { unref: () => (unrefd = true) };
    });
    assert.equal(ran, false);
    assert.equal(asked, 250);
    assert.equal(unrefd, true);
    fire();
    assert.equal(ran, true);
  });
});

describe('inbound listener: greeting delay', () => {
  it('greetingDelay 0 greets even with every setTimeout frozen (no hidden 100 ms timer)', async () => {
    const l = await startListener({ greetingDelay: 0 });
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const s = await RawSession.connect(l.port);
      const got = await until(() => s.raw.includes('\r\n'));
      s.close();
      assert.equal(got, true, 'greeted while no timer can fire, before the client sent a byte');
      assert.match(s.raw, /^220 mx\.test\.example ESMTP/);
    } finally {
      mock.timers.reset();
      await l.close();
    }
  });

  it('greetingDelay N greets only once N ms have passed on the (frozen) clock', async () => {
    const l = await startListener({ greetingDelay: 50 });
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const s = await RawSession.connect(l.port);
      assert.equal(await until(() => l.server.connections() === 1), true);
      await until(() => false, 200); // let the socket settle: nothing may arrive while the clock stands
      assert.equal(s.raw, '', 'no greeting before the delay');
      mock.timers.tick(49);
      await until(() => false, 50);
      assert.equal(s.raw, '', 'still none 1 ms early');
      mock.timers.tick(1);
      assert.equal(await until(() => s.raw.includes('\r\n')), true);
      assert.match(s.raw, /^220 /);
      s.close();
    } finally {
      mock.timers.reset();
      await l.close();
    }
  });

  it('refuses an early talker with 421 and never greets it', async () => {
    const l = await startListener({ greetingDelay: 60_000 });
    const s = await RawSession.connect(l.port);
    s.write('EHLO eager.example\r\n');
    const r = await s.read();
    assert.equal(r.code, 421, r.last);
    assert.match(r.last, /talk too soon/);
    assert.equal(await s.waitClosed(), true);
    await l.close();
  });

  it('greets a patient client after the delay and serves it normally', async () => {
    const l = await startListener({ greetingDelay: 20 });
    const s = await RawSession.connect(l.port);
    const g = await s.read();
    assert.equal(g.code, 220);
    assert.equal((await s.cmd('EHLO patient.example')).code, 250);
    s.close();
    await l.close();
  });
});
