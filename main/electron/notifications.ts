import type { ShellHooks } from '../app/host-options.js';

/**
 * OS notifications: one when an incident opens (something broke) and one when it recovers, only while the
 * advisor has notifications on in Settings. Clicking one brings Relink's window forward. The text is the
 * incident's own summary, which names people, apps and organisations but never a token.
 */

export interface NotificationLike {
  on(event: 'click' | 'close', listener: () => void): unknown;
  show(): void;
}

export interface NotificationDeps {
  isSupported: () => boolean;
  create: (options: { title: string; body: string; silent: boolean }) => NotificationLike;
}

type IncidentNotice = Parameters<Parameters<ShellHooks['onIncident']>[0]>[0];

export function notificationText(e: IncidentNotice): { title: string; body: string } {
  return e.kind === 'opened'
    ? { title: 'A connection needs attention', body: `${e.summary}. Open Relink to see what to do.` }
    : { title: 'Working again', body: `Resolved: ${e.summary}.` };
}

export function wireNotifications(
  deps: NotificationDeps,
  hooks: Pick<ShellHooks, 'onIncident' | 'notificationsEnabled'>,
  showWindow: () => void,
): () => void {
  // Electron drops a notification's handlers once nothing references it; keep each until it is closed.
  const live = new Set<NotificationLike>();
  return hooks.onIncident((e) => {
    if (!hooks.notificationsEnabled() || !deps.isSupported()) return;
    const n = deps.create({ ...notificationText(e), silent: e.kind === 'recovered' });
    live.add(n);
    n.on('click', () => {
      live.delete(n);
      showWindow();
    });
    n.on('close', () => live.delete(n));
    n.show();
  });
}
