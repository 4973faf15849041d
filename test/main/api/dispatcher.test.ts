import { describe, expect, it } from 'vitest';
import { createDispatcher, type Handlers } from '../../../main/api/dispatcher.js';
import { DiskFullError } from '../../../main/store/document-file.js';

/**
 * How a failure reaches the window: always as a value. Here, a full disk: a clear `disk-full` value that says
 * what to do, never the "something went wrong inside Relink" of a bug (and never reported as one).
 */

function dispatcherThrowing(err: unknown) {
  const internal: unknown[] = [];
  const handlers = {
    'settings.update': () => {
      throw err;
    },
  } as unknown as Handlers;
  return { dispatch: createDispatcher(handlers, (_channel, e) => internal.push(e)), internal };
}

describe('dispatcher: a full disk', () => {
  it('a change the metadata file could not take is "not saved yet", with the code, and is not logged as a bug', async () => {
    const { dispatch, internal } = dispatcherThrowing(new DiskFullError('ENOSPC', '/data/relink.json'));
    expect(await dispatch('settings.update', { notifications: false })).toEqual({
      ok: false,
      error: {
        code: 'disk-full',
        message: 'The disk is full, so this change is not saved yet. Free some space and keep Relink open: it saves the change as soon as there is room. (ENOSPC)',
      },
    });
    expect(internal).toEqual([]);
  });

  it('any other ENOSPC/EDQUOT says the disk is full without claiming what was kept', async () => {
    const { dispatch, internal } = dispatcherThrowing(Object.assign(new Error('EDQUOT: disk quota exceeded, write'), { code: 'EDQUOT' }));
    expect(await dispatch('settings.update', { notifications: false })).toEqual({
      ok: false,
      error: { code: 'disk-full', message: 'The disk is full: Relink could not finish. Free some space and try again. (EDQUOT)' },
    });
    expect(internal).toEqual([]);
  });

  it('other errors are still internal ones', async () => {
    const { dispatch, internal } = dispatcherThrowing(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    expect(await dispatch('settings.update', { notifications: false })).toMatchObject({ ok: false, error: { code: 'internal' } });
    expect(internal).toHaveLength(1);
  });
});
