import { describe, expect, it } from 'vitest';
import { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL } from '../../../shared/api.js';
import { registerIpc } from '../../../main/electron/ipc.js';
import { FakeHost, FakeIpcMain, FakeWebContents, frame, SESSION } from './fakes.js';

/**
 * Electron security checklist item 17: every IPC message is checked for its sender before anything runs, and
 * no tool checks this for us. A refused message never reaches the dispatcher.
 */
function setup() {
  const ipcMain = new FakeIpcMain();
  const host = new FakeHost();
  const ours = new FakeWebContents();
  const log: string[] = [];
  let current: FakeWebContents | null = ours;
  const dispose = registerIpc({ ipcMain, host, windowContents: () => current, log: (l) => log.push(l) });
  const invoke = (event: { sender: unknown; senderFrame: { url: string; parent: unknown } | null }, channel: unknown, args?: unknown) =>
    ipcMain.invoke(IPC_INVOKE_CHANNEL, event, channel, args) as Promise<any>;
  return { ipcMain, host, ours, log, invoke, dispose, setCurrent: (c: FakeWebContents | null) => (current = c) };
}

describe('IPC requests', () => {
  it('serves a request from Relink’s page in Relink’s window', async () => {
    const t = setup();
    const result = await t.invoke({ sender: t.ours, senderFrame: frame('app://relink/index.html') }, 'session.get', {});
    expect(result).toEqual({ ok: true, value: SESSION });
    expect(t.host.handled).toEqual([{ channel: 'session.get', args: {} }]);
  });

  const foreign: Array<[string, (ours: FakeWebContents) => { sender: unknown; senderFrame: { url: string; parent: unknown } | null }]> = [
    ['a page on another origin', (ours) => ({ sender: ours, senderFrame: frame('https://evil.example/') })],
    ['a look-alike host', (ours) => ({ sender: ours, senderFrame: frame('app://relink.evil/index.html') })],
    ['a user-name trick', (ours) => ({ sender: ours, senderFrame: frame('app://relink@evil/index.html') })],
    ['a port on the app host', (ours) => ({ sender: ours, senderFrame: frame('app://relink:8080/index.html') })],
    ['a local file', (ours) => ({ sender: ours, senderFrame: frame('file:///work/main/dist/renderer/index.html') })],
    ['a frame that has gone', (ours) => ({ sender: ours, senderFrame: null })],
    ['a frame embedded in Relink’s page', (ours) => ({ sender: ours, senderFrame: frame('app://relink/index.html', {}) })],
    ['another window showing Relink’s page', () => ({ sender: new FakeWebContents(), senderFrame: frame('app://relink/index.html') })],
  ];

  for (const [what, event] of foreign) {
    it(`refuses ${what} with "forbidden" and never dispatches`, async () => {
      const t = setup();
      const result = await t.invoke(event(t.ours), 'session.get', {});
      expect(result).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      expect(result.error.message).toMatch(/did not come from Relink’s own window/);
      expect(t.host.dispatched).toEqual([]);
      expect(t.log).toHaveLength(1);
    });
  }

  it('refuses everything while there is no window', async () => {
    const t = setup();
    t.setCurrent(null);
    const result = await t.invoke({ sender: t.ours, senderFrame: frame('app://relink/index.html') }, 'session.get', {});
    expect(result).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(t.host.dispatched).toEqual([]);
  });

  it('refuses a frame whose senderFrame getter throws (destroyed) instead of crashing', async () => {
    const t = setup();
    const event = {
      sender: t.ours,
      get senderFrame(): { url: string; parent: unknown } | null {
        throw new Error('Render frame was disposed before WebFrameMain could be accessed');
      },
    };
    const result = await t.invoke(event, 'session.get', {});
    expect(result).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('refuses bad arguments with "invalid-arguments" before any handler runs', async () => {
    const t = setup();
    const trusted = { sender: t.ours, senderFrame: frame('app://relink/index.html') };
    for (const args of [{ operationId: 42 }, { operationId: '' }, { operationId: 'op-1', extra: true }, 'op-1']) {
      const result = await t.invoke(trusted, 'connect.cancel', args);
      expect(result).toMatchObject({ ok: false, error: { code: 'invalid-arguments' } });
    }
    expect(t.host.handled).toEqual([]);
    const ok = await t.invoke(trusted, 'connect.cancel', { operationId: 'op-1' });
    expect(ok).toEqual({ ok: true, value: { cancelled: true } });
  });

  it('refuses an unknown channel with "unknown-channel"', async () => {
    const t = setup();
    const trusted = { sender: t.ours, senderFrame: frame('app://relink/index.html') };
    for (const channel of ['secrets.get', '__proto__', 'toString', 42, null]) {
      const result = await t.invoke(trusted, channel, {});
      expect(result).toMatchObject({ ok: false, error: { code: 'unknown-channel' } });
    }
    expect(t.host.handled).toEqual([]);
  });

  it('turns a dispatcher that throws into an "internal" value', async () => {
    const ipcMain = new FakeIpcMain();
    const ours = new FakeWebContents();
    const host = { dispatch: async () => { throw new Error('boom'); }, subscribe: () => () => {} };
    registerIpc({ ipcMain, host, windowContents: () => ours });
    const result = (await ipcMain.invoke(IPC_INVOKE_CHANNEL, { sender: ours, senderFrame: frame('app://relink/') }, 'session.get', {})) as any;
    expect(result).toMatchObject({ ok: false, error: { code: 'internal' } });
  });
});

describe('IPC events', () => {
  it('forwards every event to Relink’s page on the event channel', () => {
    const t = setup();
    t.host.emit('incident', { kind: 'opened', incidentId: 'i1', summary: 'x' });
    expect(t.ours.sent).toEqual([[IPC_EVENT_CHANNEL, 'incident', { kind: 'opened', incidentId: 'i1', summary: 'x' }]]);
  });

  it('sends nothing to a window that shows another page, or has been destroyed', () => {
    const t = setup();
    t.ours.url = 'https://evil.example/';
    t.host.emit('session', SESSION);
    t.ours.url = 'app://relink/index.html';
    t.ours.destroyed = true;
    t.host.emit('session', SESSION);
    expect(t.ours.sent).toEqual([]);
  });

  it('undoes both registrations on dispose', async () => {
    const t = setup();
    expect(t.host.listenerCount).toBe(1);
    t.dispose();
    expect(t.host.listenerCount).toBe(0);
    expect(t.ipcMain.handlers.has(IPC_INVOKE_CHANNEL)).toBe(false);
  });
});
