import type { RequestResult } from '../../../../shared/api.js';

/** An app just added, with what adding it checked (main's words). */
export type AddedApp = RequestResult<'apps.add'>;

/**
 * What Relink verified with Xero when the app was added, and what only the first sign-in can show: "set up"
 * would say more than Relink knows, since Xero checks the redirect URIs and scopes only when someone signs in.
 */
export function AppChecks({ app }: { app: AddedApp }) {
  return (
    <div className="app-checks">
      <p className="app-checks-title">Checked with Xero:</p>
      <ul className="bullets">
        {app.checks.verified.map((line) => (
          <li key={line}>{line}</li>
        ))}
      </ul>
      <p className="app-checks-title">Checked when you first sign in:</p>
      <ul className="bullets">
        {app.checks.atFirstSignIn.map((line) => (
          <li key={line}>{line}</li>
        ))}
      </ul>
    </div>
  );
}
