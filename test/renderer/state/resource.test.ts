import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApiResult, EventName, Operation, RequestChannel } from '../../../shared/api.js';
import { ResourceCache, resourceKey, topicMatches, type ResourceHost, type Topic } from '../../../renderer/src/state/resource.js';

/**
 * The renderer's one way to hold server state it reads on demand: one entry per request, shared, refetched when
 * main announces an event for one of its topics, failures kept as values beside the last good answer.
 */

interface Call {
  channel: RequestChannel;
  args: unknown;
  resolve: (r: ApiResult<unknown>) => void;
}

/** A bridge whose answers the test gives by hand, and whose events it fires. */
function fakeHost() {
  const calls: Call[] = [];
  const listeners = new Map<EventName, Set<(p: unknown) => void>>();
  const host: ResourceHost = {
    invoke: (channel, args) => new Promise((resolve) => calls.push({ channel, args, resolve })),
    on: (event, listener) => {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener);
      return () => set.delete(listener);
    },
  };
  const emit = (event: EventName, payload: unknown = {}) => {
    for (const l of [...(listeners.get(event) ?? [])]) l(payload);
  };
  const listening = (event: EventName) => listeners.get(event)?.size ?? 0;
  return { host, calls, emit, listening };
}

const ok = (value: unknown): ApiResult<unknown> => ({ ok: true, value });
const fail = (message: string): ApiResult<unknown> => ({ ok: false, error: { code: 'not-found', message } });
/** Lets the cache's awaits run. */
const settle = () => new Promise<void>((r) => setTimeout(r, 0));

function op(patch: Partial<Operation>): Operation {
  return {
    id: 'op1',
    kind: 'plan-step',
    runId: 'run1',
    itemId: null,
    leaverId: null,
    outcome: null,
    message: null,
    appId: 'app1',
    staffId: 'jane',
    tenantId: null,
    tenantIds: [],
    state: 'succeeded',
    authorizeUrl: null,
    startedAt: '2026-03-01T09:00:00.000Z',
    finishedAt: '2026-03-01T09:01:00.000Z',
    report: null,
    error: null,
    ...patch,
  };
}

describe('resourceKey', () => {
  it('is the same for equal arguments whatever their key order, and differs by channel and by value', () => {
    expect(resourceKey('activity.list', { limit: 500, action: 'x' })).toBe(resourceKey('activity.list', { action: 'x', limit: 500 }));
    expect(resourceKey('audit.get', { staffId: 'a' })).not.toBe(resourceKey('audit.get', { staffId: 'b' }));
    expect(resourceKey('plan.get', { staffId: 'a' })).not.toBe(resourceKey('audit.get', { staffId: 'a' }));
  });
});

describe('topicMatches', () => {
  const finishedSteps: Topic[] = [{ event: 'operation', when: (o) => o.kind === 'plan-step' && o.finishedAt !== null }];

  it('matches an event by name', () => {
    expect(topicMatches(['incident'], 'incident', {})).toBe(true);
    expect(topicMatches(['incident'], 'operation', op({}))).toBe(false);
  });

  it('asks a filtered topic whether the payload concerns it', () => {
    expect(topicMatches(finishedSteps, 'operation', op({}))).toBe(true);
    expect(topicMatches(finishedSteps, 'operation', op({ finishedAt: null, state: 'waiting-for-approval' }))).toBe(false);
    expect(topicMatches(finishedSteps, 'operation', op({ kind: 'connect' }))).toBe(false);
    expect(topicMatches(finishedSteps, 'incident', op({}))).toBe(false);
  });

  it('matches nothing without topics', () => {
    expect(topicMatches([], 'status', {})).toBe(false);
  });
});

describe('ResourceCache', () => {
  let h: ReturnType<typeof fakeHost>;
  let cache: ResourceCache;
  beforeEach(() => {
    h = fakeHost();
    cache = new ResourceCache(h.host);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks main once on the first subscriber and hands the answer to it', async () => {
    const key = resourceKey('tracked.list', {});
    const seen = vi.fn();
    cache.subscribe('tracked.list', {}, seen);
    expect(h.calls).toHaveLength(1);
    expect(h.calls[0]).toMatchObject({ channel: 'tracked.list', args: {} });
    expect(cache.read(key)).toMatchObject({ data: null, error: null, loading: true });

    h.calls[0]!.resolve(ok([{ id: 't1' }]));
    await settle();
    expect(cache.read(key)).toEqual({ data: [{ id: 't1' }], error: null, loading: false });
    expect(seen).toHaveBeenCalled();
  });

  it('shares one request between identical subscribers (in flight and once answered)', async () => {
    const key = resourceKey('audit.get', { staffId: 'jane' });
    const a = vi.fn();
    const b = vi.fn();
    cache.subscribe('audit.get', { staffId: 'jane' }, a);
    cache.subscribe('audit.get', { staffId: 'jane' }, b);
    expect(h.calls).toHaveLength(1);
    h.calls[0]!.resolve(ok({ verdict: 'not-safe' }));
    await settle();
    expect(a).toHaveBeenCalled();
    expect(b).toHaveBeenCalled();
    cache.subscribe('audit.get', { staffId: 'jane' }, vi.fn());
    expect(h.calls).toHaveLength(1);
    expect(cache.read(key).data).toEqual({ verdict: 'not-safe' });
    // Another person is another request.
    cache.subscribe('audit.get', { staffId: 'aroha' }, vi.fn());
    expect(h.calls).toHaveLength(2);
  });

  it('returns a failure as a value and keeps the last good answer beside it', async () => {
    const key = resourceKey('tracked.list', {});
    cache.subscribe('tracked.list', {}, vi.fn());
    h.calls[0]!.resolve(ok(['first']));
    await settle();

    const reloaded = cache.reload(key);
    expect(cache.read(key)).toMatchObject({ data: ['first'], loading: true });
    h.calls[1]!.resolve(fail('The profile is locked.'));
    await reloaded;
    expect(cache.read(key)).toEqual({ data: ['first'], error: { code: 'not-found', message: 'The profile is locked.' }, loading: false });

    // The next success clears it.
    const again = cache.reload(key);
    h.calls[2]!.resolve(ok(['second']));
    await again;
    expect(cache.read(key)).toEqual({ data: ['second'], error: null, loading: false });
  });

  it('turns a transport that throws into an error value', async () => {
    const key = resourceKey('tracked.list', {});
    const broken = new ResourceCache({ invoke: () => Promise.reject(new Error('socket closed')), on: () => () => {} });
    broken.subscribe('tracked.list', {}, vi.fn());
    await settle();
    expect(broken.read(key)).toMatchObject({ data: null, loading: false, error: { code: 'unreachable' } });
  });

  it('refetches when an event for one of its topics arrives', async () => {
    const key = resourceKey('activity.list', { limit: 500 });
    cache.subscribe('activity.list', { limit: 500 }, vi.fn());
    h.calls[0]!.resolve(ok(['a']));
    await settle();
    const stop = cache.watch(key, ['incident'], (event, payload) => topicMatches(['incident'], event, payload));

    h.emit('incident', { kind: 'opened', incidentId: 'i1', summary: 'Jane changed her password' });
    expect(h.calls).toHaveLength(2);
    h.calls[1]!.resolve(ok(['a', 'b']));
    await settle();
    expect(cache.read(key).data).toEqual(['a', 'b']);

    stop();
    expect(h.listening('incident')).toBe(0);
    h.emit('incident', {});
    expect(h.calls).toHaveLength(2);
  });

  it('does not refetch for other events, nor for a topic event its filter turns down', async () => {
    const key = resourceKey('plan.runs', {});
    cache.subscribe('plan.runs', {}, vi.fn());
    h.calls[0]!.resolve(ok([]));
    await settle();
    const topics: Topic[] = [{ event: 'operation', when: (o) => o.kind === 'plan-step' && o.finishedAt !== null }];
    cache.watch(key, ['operation'], (event, payload) => topicMatches(topics, event, payload));

    h.emit('incident', {});
    h.emit('status', {});
    h.emit('session', {});
    h.emit('operation', op({ kind: 'connect' }));
    h.emit('operation', op({ state: 'waiting-for-approval', finishedAt: null }));
    expect(h.calls).toHaveLength(1);

    h.emit('operation', op({}));
    expect(h.calls).toHaveLength(2);
  });

  it('follows a request under way with a fresh one when told it is stale, and shows only the fresh answer', async () => {
    const key = resourceKey('plan.get', { staffId: 'jane' });
    const seen: unknown[] = [];
    cache.subscribe('plan.get', { staffId: 'jane' }, () => seen.push(cache.read(key).data));
    // Two events while the first request is out: one more request, not two.
    const first = cache.reload(key);
    const second = cache.reload(key);
    expect(h.calls).toHaveLength(1);
    h.calls[0]!.resolve(ok('before the change'));
    await settle();
    expect(h.calls).toHaveLength(2);
    expect(cache.read(key).loading).toBe(true);
    h.calls[1]!.resolve(ok('after the change'));
    await Promise.all([first, second]);
    expect(cache.read(key)).toEqual({ data: 'after the change', error: null, loading: false });
    expect(h.calls).toHaveLength(2);
  });

  it("keeps an action's answer over the answer to a request sent before it", async () => {
    const key = resourceKey('audit.get', { staffId: 'jane' });
    cache.subscribe('audit.get', { staffId: 'jane' }, vi.fn());
    cache.set(key, { target: 'aroha' });
    h.calls[0]!.resolve(ok({ target: null }));
    await settle();
    expect(cache.read(key)).toEqual({ data: { target: 'aroha' }, error: null, loading: false });
  });

  it('updates the cached answer from the previous one', async () => {
    const key = resourceKey('plan.runs', {});
    cache.subscribe('plan.runs', {}, vi.fn());
    h.calls[0]!.resolve(ok([{ id: 'r1', state: 'running' }, { id: 'r0', state: 'complete' }]));
    await settle();
    cache.set(key, (runs: unknown) => (runs as Array<{ id: string; state: string }>).map((r) => (r.id === 'r1' ? { ...r, state: 'paused' } : r)));
    expect(cache.read(key).data).toEqual([
      { id: 'r1', state: 'paused' },
      { id: 'r0', state: 'complete' },
    ]);
    expect(h.calls).toHaveLength(1);
  });

  it('forgets an entry nobody shows, so the next view to open reads it fresh', async () => {
    vi.useFakeTimers();
    const key = resourceKey('audit.get', { staffId: 'jane' });
    const stop = cache.subscribe('audit.get', { staffId: 'jane' }, vi.fn());
    h.calls[0]!.resolve(ok({ v: 1 }));
    await vi.advanceTimersByTimeAsync(0);
    stop();
    // Subscribing again at once (React StrictMode, a re-render) keeps it and asks nothing.
    const again = cache.subscribe('audit.get', { staffId: 'jane' }, vi.fn());
    await vi.advanceTimersByTimeAsync(10);
    expect(cache.has(key)).toBe(true);
    expect(h.calls).toHaveLength(1);
    again();
    await vi.advanceTimersByTimeAsync(10);
    expect(cache.has(key)).toBe(false);
    expect(cache.read(key)).toMatchObject({ data: null, loading: true });
    cache.subscribe('audit.get', { staffId: 'jane' }, vi.fn());
    expect(h.calls).toHaveLength(2);
  });

  it('retries a failed first request when another view subscribes, and not while one is out', async () => {
    const key = resourceKey('tracked.list', {});
    cache.subscribe('tracked.list', {}, vi.fn());
    cache.subscribe('tracked.list', {}, vi.fn());
    expect(h.calls).toHaveLength(1);
    h.calls[0]!.resolve(fail('Not yet.'));
    await settle();
    expect(cache.read(key).error?.message).toBe('Not yet.');
    cache.subscribe('tracked.list', {}, vi.fn());
    expect(h.calls).toHaveLength(2);
  });

  it('reloading something nobody asked for does nothing', async () => {
    await cache.reload(resourceKey('tracked.list', {}));
    expect(h.calls).toHaveLength(0);
  });
});
