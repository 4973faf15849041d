import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, buildWorld, connect, refresh, startTestSandbox, type TestSandbox } from '../../support/sandbox.js';

describe('sandbox smoke', () => {
  let sb: TestSandbox;
  beforeAll(async () => {
    sb = await startTestSandbox();
  });
  afterAll(() => sb.close());

  it('connects, lists connections, calls the API and refreshes', async () => {
    const w = await buildWorld(sb, { orgs: 2 });
    const t = await connect(sb, w);
    const conns = await api(sb, '/connections', t.access_token);
    expect(conns.status).toBe(200);
    expect(conns.body).toHaveLength(2);
    const org = await api(sb, '/api.xro/2.0/Organisation', t.access_token, w.tenantIds[0]);
    expect(org.status).toBe(200);
    expect(org.headers.get('x-minlimit-remaining')).toBe('59');
    const r = await refresh(sb, w, t.refresh_token);
    expect(r.status).toBe(200);
    expect(r.body.refresh_token).not.toBe(t.refresh_token);
  });
});
