import { describe, expect, it } from 'vitest';
import { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL, type RelinkBridge } from '../../../shared/api.js';
import { createBridge, EVENT_CHANNEL, exposeBridge, INVOKE_CHANNEL, type IpcRendererLike } from '../../../main/electron/preload-bridge.js';

/** An ipcRenderer: records invokes, keeps listeners, and can deliver a message from main. */
class FakeIpcRenderer implements IpcRendererLike {
  readonly invoked: unknown[][] = [];
  readonly listeners = new Map<string, Set<(event: unknown, ...args: unknown[]) => void>>();
  answer: (channel: string, ...args: unknown[]) => Promise<unknown> = async () => ({ ok: true, value: 'answer' });

  invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    this.invoked.push([channel, ...args]);
    return this.answer(channel, ...args);
  }

  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): this {
    if (!this.listeners.has(channel)) this.listeners.set(channel, new Set());
    this.listeners.get(channel)!.add(listener);
    return this;
  }

  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): this {
    this.listeners.get(channel)?.delete(listener);
    return this;
  }

  count(channel: string): number {
    return this.listeners.get(channel)?.size ?? 0;
  }

  /** What Electron does for `webContents.send(channel, ...args)`: the IPC event object comes first. */
  deliver(channel: string, ...args: unknown[]): void {
    const event = { sender: this, senderId: 0, ports: [] };
    for (const l of this.listeners.get(channel) ?? []) l(event, ...args);
  }
}

function exposed(ipc = new FakeIpcRenderer()) {
  const world: Record<string, unknown> = {};
  exposeBridge({ exposeInMainWorld: (key, api) => (world[key] = api) }, ipc);
  return { ipc, world, bridge: world.relink as RelinkBridge };
}

describe('the preload bridge', () => {
  it('uses the channel names of the contract', () => {
    expect(INVOKE_CHANNEL).toBe(IPC_INVOKE_CHANNEL);
    expect(EVENT_CHANNEL).toBe(IPC_EVENT_CHANNEL);
  });

  it('exposes window.relink with invoke and on, and nothing else', () => {
    const { world, bridge, ipc } = exposed();
    expect(Object.keys(world)).toEqual(['relink']);
    expect(Object.keys(bridge).sort()).toEqual(['invoke', 'on']);
    expect(Object.isFrozen(bridge)).toBe(true);
    // Nothing reachable from it is the ipcRenderer.
    for (const value of Object.values(bridge)) expect(value).not.toBe(ipc);
    expect(JSON.stringify(Object.getOwnPropertyNames(bridge))).not.toMatch(/ipc|send|removeListener/i);
  });

  it('invoke sends the channel and arguments on the invoke channel and returns main’s answer', async () => {
    const { bridge, ipc } = exposed();
    const result = await bridge.invoke('connect.cancel', { operationId: 'op-1' });
    expect(ipc.invoked).toEqual([[IPC_INVOKE_CHANNEL, 'connect.cancel', { operationId: 'op-1' }]]);
    expect(result).toEqual({ ok: true, value: 'answer' });
  });

  it('invoke resolves with an error value, never rejects, when main cannot answer', async () => {
    const ipc = new FakeIpcRenderer();
    ipc.answer = async () => {
      throw new Error("Error invoking remote method 'relink:invoke': No handler registered");
    };
    const { bridge } = exposed(ipc);
    const result = await bridge.invoke('session.get', {});
    expect(result).toMatchObject({ ok: false, error: { code: 'internal' } });
    if (!result.ok) expect(result.error.message).toMatch(/lost contact/);
  });

  it('on routes events by name and passes only the payload (never the IPC event)', () => {
    const { bridge, ipc } = exposed();
    const incidents: unknown[][] = [];
    const sessions: unknown[][] = [];
    bridge.on('incident', (...args) => incidents.push(args));
    bridge.on('session', (...args) => sessions.push(args));
    ipc.deliver(IPC_EVENT_CHANNEL, 'incident', { kind: 'opened', incidentId: 'i', summary: 's' });
    ipc.deliver(IPC_EVENT_CHANNEL, 'status', { whatever: 1 });
    ipc.deliver('some-other-channel', 'incident', { kind: 'recovered' });
    expect(incidents).toEqual([[{ kind: 'opened', incidentId: 'i', summary: 's' }]]);
    expect(sessions).toEqual([]);
  });

  it('attaches one IPC listener however many subscribers, and detaches when the last leaves', () => {
    const { bridge, ipc } = exposed();
    const seen: string[] = [];
    const offA = bridge.on('status', () => seen.push('a'));
    const offB = bridge.on('status', () => seen.push('b'));
    const offC = bridge.on('operation', () => seen.push('c'));
    expect(ipc.count(IPC_EVENT_CHANNEL)).toBe(1);
    ipc.deliver(IPC_EVENT_CHANNEL, 'status', {});
    offA();
    offA(); // twice is harmless
    ipc.deliver(IPC_EVENT_CHANNEL, 'status', {});
    expect(seen).toEqual(['a', 'b', 'b']);
    offB();
    expect(ipc.count(IPC_EVENT_CHANNEL)).toBe(1);
    offC();
    expect(ipc.count(IPC_EVENT_CHANNEL)).toBe(0);
    bridge.on('status', () => seen.push('d'));
    expect(ipc.count(IPC_EVENT_CHANNEL)).toBe(1);
  });

  it('the same function subscribed twice is called twice and unsubscribed one at a time', () => {
    const { bridge, ipc } = exposed();
    let calls = 0;
    const listener = () => calls++;
    const off1 = bridge.on('session', listener);
    bridge.on('session', listener);
    ipc.deliver(IPC_EVENT_CHANNEL, 'session', {});
    off1();
    ipc.deliver(IPC_EVENT_CHANNEL, 'session', {});
    expect(calls).toBe(3);
  });

  it('a listener that throws does not stop the others', () => {
    const { bridge, ipc } = exposed();
    const seen: string[] = [];
    const original = console.error;
    console.error = () => {};
    try {
      bridge.on('status', () => {
        throw new Error('bad listener');
      });
      bridge.on('status', () => seen.push('second'));
      ipc.deliver(IPC_EVENT_CHANNEL, 'status', {});
    } finally {
      console.error = original;
    }
    expect(seen).toEqual(['second']);
  });

  it('refuses a listener that is not a function', () => {
    const bridge = createBridge(new FakeIpcRenderer());
    expect(() => bridge.on('status', 'alert(1)' as unknown as () => void)).toThrow(TypeError);
  });
});
