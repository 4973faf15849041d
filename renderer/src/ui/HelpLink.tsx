import { useState } from 'react';
import type { HelpTopic } from '../../../shared/api.js';
import { request } from '../state/store.js';
import { Icon } from './Icon.js';

/**
 * Opens one of main's allow-listed help pages in the system browser. It is a button, not a link: the window
 * never navigates anywhere itself, main decides which address a topic means.
 */
export function HelpLink({ topic, children }: { topic: HelpTopic; children: string }) {
  const [error, setError] = useState<string | null>(null);
  return (
    <span className="help-link">
      <button
        type="button"
        className="link-button"
        onClick={async () => {
          setError(null);
          const r = await request('help.open', { topic });
          if (!r.ok) setError(r.error.message);
        }}
      >
        {children}
        <Icon name="external" className="inline-icon" />
        <span className="visually-hidden"> (opens in your browser)</span>
      </button>
      {error && (
        <span className="field-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}
