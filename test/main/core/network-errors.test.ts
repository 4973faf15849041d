import { describe, expect, it } from 'vitest';
import { errorCodes, neverSent } from '../../../main/core/network-errors.js';
import { classifyNetworkError } from '../../../main/oauth/provider-client.js';
import { fetchErrorFacts } from '../../../main/providers/xero/errors.js';

/** One rule for "did the request leave this machine", used alike by the token client and the API calls. */

const withCode = (code: string) => Object.assign(new Error('x'), { code });
/** What undici throws for `localhost` when both ::1 and 127.0.0.1 refuse. */
const refusedTwice = Object.assign(new TypeError('fetch failed'), { cause: new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], 'refused') });
/** One address refused, the other reset after the request went out. */
const refusedThenReset = Object.assign(new TypeError('fetch failed'), { cause: new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNRESET')], 'mixed') });

describe('network errors: was the request sent?', () => {
  it('walks causes and AggregateError, and quotes only code-shaped values', () => {
    expect(errorCodes(refusedTwice)).toEqual(['ECONNREFUSED', 'ECONNREFUSED']);
    expect(errorCodes(Object.assign(new Error('x'), { code: 'https://example.com/secret?token=1' }))).toEqual([]);
  });

  it('never sent only when every code says so; no code at all may have been sent', () => {
    expect(neverSent(['ECONNREFUSED', 'ENOTFOUND'])).toBe(true);
    expect(neverSent(['CERT_HAS_EXPIRED'])).toBe(true);
    expect(neverSent(['ECONNREFUSED', 'ECONNRESET'])).toBe(false);
    expect(neverSent([])).toBe(false);
  });

  it('the token client and the API calls agree, for every case', () => {
    for (const [error, stage] of [
      [refusedTwice, 'not-sent'],
      [refusedThenReset, 'sent-unknown'],
      [withCode('EAI_NONAME'), 'not-sent'],
      [withCode('ERR_TLS_CERT_ALTNAME_INVALID'), 'not-sent'],
      [withCode('ECONNRESET'), 'sent-unknown'],
      [new TypeError('fetch failed'), 'sent-unknown'],
    ] as const) {
      expect(classifyNetworkError(error, null).stage, String(errorCodes(error))).toBe(stage);
      expect(fetchErrorFacts(error).stage, String(errorCodes(error))).toBe(stage);
    }
  });
});
