/**
 * `npm run bench:sandbox` — figures for the Xero sandbox, printed, never asserted:
 *  - start-up: in-process (key generation + seed + listen) and as the CLI a person runs (spawn → first answer);
 *  - round trips over loopback: code exchange, refresh, GET /connections, GET Organisation (p50/p95);
 *  - the `scale` seed (2,000 orgs × 5 apps × 40 staff): seeding time, 200 consents of 50 organisations each
 *    (10,000 connections), and the process's RSS afterwards.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { startSandboxServer } from '../../main/sandbox/server.js';
import { api, authorizeUrl, buildWorld, connect, getAuthorize, pkcePair, refresh, REDIRECT, startTestSandbox, tokenRequest } from '../support/sandbox.js';

function stats(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return `p50 ${at(0.5).toFixed(2)} ms, p95 ${at(0.95).toFixed(2)} ms (n=${s.length})`;
}

async function time<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const value = await fn();
  return [value, performance.now() - t0];
}

async function cliStartup(): Promise<number> {
  const t0 = performance.now();
  const child = spawn('node_modules/.bin/tsx', ['main/sandbox/cli.ts', '--port', '0', '--seed', 'demo'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const origin = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`sandbox CLI exited with ${code}`)));
  });
  const res = await fetch(`${origin}/.well-known/openid-configuration`);
  const elapsed = performance.now() - t0;
  if (!res.ok) throw new Error(`discovery answered ${res.status}`);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return elapsed;
}

async function main(): Promise<void> {
  console.log(`Xero sandbox benchmark — Node ${process.version}, ${new Date().toISOString()}`);

  const inProcess: number[] = [];
  for (let i = 0; i < 5; i++) {
    const [running, ms] = await time(() => startSandboxServer({ port: 0, seed: { seed: 'demo' } }));
    inProcess.push(ms);
    await running.close();
  }
  console.log(`start-up, in process (RSA key + demo seed + listen): ${stats(inProcess)}`);
  const cli: number[] = [];
  for (let i = 0; i < 3; i++) cli.push(await cliStartup());
  console.log(`start-up, CLI via tsx (spawn → first answer):        ${stats(cli)}`);

  const sb = await startTestSandbox();
  const w = await buildWorld(sb, { orgs: 50 });
  const exchange: number[] = [];
  let tokens = await connect(sb, w);
  for (let i = 0; i < 50; i++) {
    await sb.control('POST', '/sandbox/consents', { clientId: w.clientId, userId: w.userId, tenantIds: w.tenantIds });
    const { verifier, challenge } = pkcePair();
    const auth = await getAuthorize(authorizeUrl(sb.origin, { clientId: w.clientId, challenge }));
    const code = auth.location!.searchParams.get('code')!;
    const [, ms] = await time(() =>
      tokenRequest(sb.origin, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: w.clientId }),
    );
    exchange.push(ms);
  }
  console.log(`code exchange (POST /connect/token):                 ${stats(exchange)}`);
  const refreshes: number[] = [];
  for (let i = 0; i < 200; i++) {
    const [r, ms] = await time(() => refresh(sb, w, tokens.refresh_token));
    tokens = { ...tokens, ...r.body };
    refreshes.push(ms);
  }
  console.log(`refresh (rotation):                                  ${stats(refreshes)}`);
  const lists: number[] = [];
  for (let i = 0; i < 200; i++) lists.push((await time(() => api(sb, '/connections', tokens.access_token)))[1]);
  console.log(`GET /connections (50 organisations):                 ${stats(lists)}`);
  await sb.control('PUT', '/sandbox/settings', { minuteLimit: 1_000_000, dayLimits: { advanced: 1_000_000 } });
  const calls: number[] = [];
  for (let i = 0; i < 200; i++) {
    calls.push((await time(() => api(sb, '/api.xro/2.0/Organisation', tokens.access_token, w.tenantIds[i % 50])))[1]);
  }
  console.log(`GET /api.xro/2.0/Organisation:                       ${stats(calls)}`);

  const [summary, seedMs] = await time(async () => sb.control('POST', '/sandbox/reset', { seed: 'scale' }));
  console.log(`scale seed: ${summary.orgs} orgs, ${summary.users} staff, ${summary.apps.length} apps in ${seedMs.toFixed(0)} ms`);
  const state = await sb.control('GET', '/sandbox/state');
  const byUser = new Map<string, string[]>();
  for (const u of state.users) byUser.set(u.userId, Object.keys(u.roles));
  const [, consentMs] = await time(async () => {
    for (const app of summary.apps) {
      for (const [userId, tenantIds] of byUser) {
        await sb.control('POST', '/sandbox/consents', { clientId: app.clientId, userId, tenantIds });
        const { challenge } = pkcePair();
        const redirectUri = state.apps.find((a: { clientId: string }) => a.clientId === app.clientId).redirectUris[0];
        const auth = await getAuthorize(authorizeUrl(sb.origin, { clientId: app.clientId, challenge, redirectUri }));
        if (!auth.location?.searchParams.get('code')) throw new Error('scale consent failed');
      }
    }
  });
  const after = await sb.control('GET', '/sandbox/state');
  console.log(`scale consents: ${summary.apps.length * byUser.size} consents → ${after.connections.length} connections in ${consentMs.toFixed(0)} ms`);
  console.log(`RSS after scale world: ${(process.memoryUsage().rss / 1048576).toFixed(0)} MB (sandbox and benchmark in one process)`);
  await sb.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
