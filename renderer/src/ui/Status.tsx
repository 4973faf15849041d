import type { Health } from '../../../shared/domain.js';
import { Icon, type IconName } from './Icon.js';
import { HEALTH_WORDS, type Tone } from './words.js';

/** Health and other states always as icon + word: the colour only repeats what the word already says. */

export const HEALTH_ICONS: Record<Health, IconName> = {
  healthy: 'check',
  checking: 'refresh',
  degraded: 'wave',
  expiring: 'clock',
  'needs-reconnect': 'unlink',
  disconnected: 'unplug',
  forbidden: 'lock',
  'app-broken': 'alert',
  unverified: 'question',
};

export function HealthBadge({ health, short = false }: { health: Health; short?: boolean }) {
  const words = HEALTH_WORDS[health];
  return <StatusText tone={words.tone} icon={HEALTH_ICONS[health]} text={short ? words.short : words.label} />;
}

export function StatusText({ tone, icon, text, className }: { tone: Tone; icon: IconName; text: string; className?: string }) {
  return (
    <span className={`status tone-${tone}${className ? ` ${className}` : ''}`}>
      <Icon name={icon} className="status-icon" />
      <span className="status-text">{text}</span>
    </span>
  );
}

/** A busy indicator with words ("Checking…"); the spinner is decoration. */
export function Busy({ text }: { text: string }) {
  return (
    <span className="status tone-info">
      <Icon name="spinner" className="status-icon spin" />
      <span className="status-text">{text}</span>
    </span>
  );
}
