import { describe, expect, it } from 'vitest';
import { HEALTH_STATES } from '../../shared/domain.js';
import { activityActionWords, activityDetailWords, failureWords, HEALTH_LABELS } from '../../shared/plain-words.js';

describe('plain words shared by the window and the exports', () => {
  it('every health state has a label, and none is its slug', () => {
    for (const h of HEALTH_STATES) {
      expect(HEALTH_LABELS[h]).toBeTruthy();
      expect(HEALTH_LABELS[h]).not.toBe(h);
      expect(HEALTH_LABELS[h]).not.toMatch(/-/);
    }
  });

  it("Xero's codes come after plain words, for support", () => {
    expect(failureWords('400 invalid_grant')).toBe('Xero refused the sign-in (400 invalid_grant)');
    expect(failureWords('400 invalid_client')).toBe("Xero no longer accepts the app's secret (400 invalid_client)");
    expect(failureWords('401 AuthorizationUnsuccessful (role too narrow)')).toBe("The person's role in the organisation is too narrow (401 AuthorizationUnsuccessful (role too narrow))");
    expect(failureWords('403 Forbidden')).toBe('Xero refused access to the organisation (403 Forbidden)');
    // A detail already in words keeps them, the status moves behind.
    expect(failureWords('502 HTML page from a proxy')).toBe('HTML page from a proxy (HTTP 502)');
    expect(failureWords('could not reach Xero (ENOTFOUND)')).toBe('Could not reach Xero (ENOTFOUND)');
  });

  it('activity actions and details read as words; unknown actions are turned into words', () => {
    expect(activityActionWords('incident-opened')).toBe('Problem found');
    expect(activityActionWords('something-new.happened')).toBe('Something new happened');
    expect(activityDetailWords('grant-refused', '400 invalid_grant')).toBe('Xero refused the sign-in (400 invalid_grant)');
    expect(activityDetailWords('app-added', 'Harbour Sync (pkce)')).toBe('Harbour Sync, signs in without a client secret');
    expect(activityDetailWords('app-added', 'Harbour Reporting (web)')).toBe('Harbour Reporting, signs in with a client secret');
    // Sentences are left alone, even with numbers first or a code already in brackets.
    expect(activityDetailWords('connected', '120 connected, 0 reconnected, 0 still missing')).toBe('120 connected, 0 reconnected, 0 still missing');
    expect(activityDetailWords('incident-opened', 'Every one was refused by Xero (invalid_grant) within 1 hour.')).toBe('Every one was refused by Xero (invalid_grant) within 1 hour.');
    expect(activityDetailWords('connected', null)).toBe('');
  });
});
