import { describe, expect, it } from 'vitest';
import { notificationText, wireNotifications, type NotificationLike } from '../../../main/electron/notifications.js';
import { fakeHooks } from './fakes.js';

describe('notifications', () => {
  function wire(supported = true) {
    const h = fakeHooks();
    const shown: Array<{ title: string; body: string; silent: boolean; fire: (e: 'click' | 'close') => void }> = [];
    let windowShown = 0;
    const dispose = wireNotifications(
      {
        isSupported: () => supported,
        create: (options) => {
          const listeners: Record<string, () => void> = {};
          const n: NotificationLike = {
            on: (e, l) => (listeners[e] = l),
            show: () => shown.push({ ...options, fire: (e) => listeners[e]!() }),
          };
          return n;
        },
      },
      h,
      () => windowShown++,
    );
    return { h, shown, dispose, windowShown: () => windowShown };
  }

  it('shows one notification per incident opened and one per recovery', () => {
    const { h, shown } = wire();
    h.incident({ kind: 'opened', incidentId: 'i1', summary: "Jane Doe's Xero password probably changed — 2 apps, 3 organisations" });
    h.incident({ kind: 'recovered', incidentId: 'i1', summary: "Jane Doe's Xero password probably changed — 2 apps, 3 organisations" });
    expect(shown.map((n) => [n.title, n.body])).toEqual([
      ['A connection needs attention', "Jane Doe's Xero password probably changed — 2 apps, 3 organisations. Open Relink to see what to do."],
      ['Working again', "Resolved: Jane Doe's Xero password probably changed — 2 apps, 3 organisations."],
    ]);
  });

  it('shows nothing while notifications are off in Settings, or where the OS has none', () => {
    const off = wire();
    off.h.enabled = false;
    off.h.incident({ kind: 'opened', incidentId: 'i1', summary: 's' });
    expect(off.shown).toEqual([]);
    const unsupported = wire(false);
    unsupported.h.incident({ kind: 'opened', incidentId: 'i1', summary: 's' });
    expect(unsupported.shown).toEqual([]);
  });

  it('brings the window forward when clicked', () => {
    const { h, shown, windowShown } = wire();
    h.incident({ kind: 'opened', incidentId: 'i1', summary: 's' });
    shown[0]!.fire('click');
    expect(windowShown()).toBe(1);
  });

  it('stops on dispose', () => {
    const { h, shown, dispose } = wire();
    dispose();
    h.incident({ kind: 'opened', incidentId: 'i1', summary: 's' });
    expect(shown).toEqual([]);
  });

  it('words both kinds plainly', () => {
    expect(notificationText({ kind: 'opened', incidentId: 'x', summary: 'Relink cannot reach Xero; it keeps retrying' }).body).toBe(
      'Relink cannot reach Xero; it keeps retrying. Open Relink to see what to do.',
    );
  });
});
