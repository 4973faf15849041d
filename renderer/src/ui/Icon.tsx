import type { ReactNode } from 'react';

/**
 * A small set of line icons drawn inline (no icon font, no network). Every icon is decorative: it always
 * sits next to a word that says the same thing, so status is never carried by shape or colour alone.
 */

export type IconName =
  | 'check'
  | 'refresh'
  | 'wave'
  | 'clock'
  | 'unlink'
  | 'unplug'
  | 'lock'
  | 'alert'
  | 'question'
  | 'minus'
  | 'key'
  | 'info'
  | 'external'
  | 'close'
  | 'sort'
  | 'sort-up'
  | 'sort-down'
  | 'user'
  | 'play'
  | 'spinner'
  | 'overview'
  | 'organisations'
  | 'apps'
  | 'staff'
  | 'activity'
  | 'explain'
  | 'settings'
  | 'chevron-right'
  | 'chevron-down'
  | 'chevron-left'
  | 'tick';

const PATHS: Record<IconName, ReactNode> = {
  check: (
    <>
      <circle cx="8" cy="8" r="6.25" />
      <path d="M5.25 8.25l1.9 1.9 3.6-3.9" />
    </>
  ),
  refresh: (
    <>
      <path d="M13 8a5 5 0 1 1-1.6-3.7" />
      <path d="M13 2.5v2.8h-2.8" />
    </>
  ),
  wave: (
    <>
      <circle cx="8" cy="8" r="6.25" />
      <path d="M4.5 8.5c1-1.6 2-1.6 3 0s2 1.6 3 0" />
    </>
  ),
  clock: (
    <>
      <circle cx="8" cy="8" r="6.25" />
      <path d="M8 4.5V8l2.5 1.5" />
    </>
  ),
  unlink: (
    <>
      <path d="M6.5 4.5l1-1a2.8 2.8 0 0 1 4 4l-1 1" />
      <path d="M9.5 11.5l-1 1a2.8 2.8 0 0 1-4-4l1-1" />
      <path d="M2.5 2.5l2 2M11.5 11.5l2 2" />
    </>
  ),
  unplug: (
    <>
      <circle cx="8" cy="8" r="6.25" />
      <path d="M5 8h6" />
    </>
  ),
  lock: (
    <>
      <rect x="3.5" y="7" width="9" height="6.5" rx="1.2" />
      <path d="M5.5 7V5a2.5 2.5 0 0 1 5 0v2" />
    </>
  ),
  alert: (
    <>
      <path d="M8 2.2l6.2 11H1.8z" />
      <path d="M8 6.5v3M8 11.4v.1" />
    </>
  ),
  question: (
    <>
      <circle cx="8" cy="8" r="6.25" strokeDasharray="2.2 1.6" />
      <path d="M6.3 6.3a1.8 1.8 0 1 1 2.4 1.7c-.5.2-.7.6-.7 1.1M8 11.3v.1" />
    </>
  ),
  minus: <path d="M4 8h8" />,
  key: (
    <>
      <circle cx="5.5" cy="10.5" r="2.75" />
      <path d="M7.5 8.5l5-5M11 5l1.5 1.5M9.5 6.5l1 1" />
    </>
  ),
  info: (
    <>
      <circle cx="8" cy="8" r="6.25" />
      <path d="M8 7.2v3.8M8 5v.1" />
    </>
  ),
  external: (
    <>
      <path d="M9 3h4v4M13 3L7.5 8.5" />
      <path d="M11.5 9.5v3h-8.5v-8.5h3" />
    </>
  ),
  close: <path d="M4 4l8 8M12 4l-8 8" />,
  sort: <path d="M5 6l3-3 3 3M5 10l3 3 3-3" />,
  'sort-up': <path d="M5 9l3-3 3 3" />,
  'sort-down': <path d="M5 7l3 3 3-3" />,
  user: (
    <>
      <circle cx="8" cy="5.5" r="2.75" />
      <path d="M2.75 13.5a5.25 5.25 0 0 1 10.5 0" />
    </>
  ),
  play: <path d="M5 3.5v9l7-4.5z" />,
  spinner: <path d="M8 1.75a6.25 6.25 0 1 1-6.25 6.25" />,
  overview: (
    <>
      <rect x="2" y="2" width="5" height="5" rx="1" />
      <rect x="9" y="2" width="5" height="5" rx="1" />
      <rect x="2" y="9" width="5" height="5" rx="1" />
      <rect x="9" y="9" width="5" height="5" rx="1" />
    </>
  ),
  organisations: (
    <>
      <path d="M2.5 13.5v-9l5-2v11M7.5 5.5l6 2v6" />
      <path d="M1.5 13.5h13M4.5 6.5v.1M4.5 9v.1M4.5 11.5v.1M10 9.5v.1M10 11.5v.1" />
    </>
  ),
  apps: (
    <>
      <rect x="2" y="3" width="12" height="10" rx="1.5" />
      <path d="M2 6h12M4 4.5v.1M5.6 4.5v.1" />
    </>
  ),
  staff: (
    <>
      <circle cx="6" cy="6" r="2.3" />
      <path d="M2 13a4 4 0 0 1 8 0" />
      <path d="M10.5 4a2.2 2.2 0 0 1 0 4.2M11.5 9.5a4 4 0 0 1 2.5 3.5" />
    </>
  ),
  activity: <path d="M1.5 8.5h3l2-5 3 9 2-4h3" />,
  explain: (
    <>
      <path d="M2.5 3.5h11v7.5H8l-3 2.5v-2.5H2.5z" />
      <path d="M6.6 6a1.4 1.4 0 1 1 1.9 1.3c-.4.2-.5.4-.5.8M8 9.4v.1" />
    </>
  ),
  settings: (
    <>
      <circle cx="8" cy="8" r="2.2" />
      <path d="M8 1.8v1.8M8 12.4v1.8M1.8 8h1.8M12.4 8h1.8M3.6 3.6l1.3 1.3M11.1 11.1l1.3 1.3M3.6 12.4l1.3-1.3M11.1 4.9l1.3-1.3" />
    </>
  ),
  'chevron-right': <path d="M6 3.5L10.5 8 6 12.5" />,
  'chevron-down': <path d="M3.5 6L8 10.5 12.5 6" />,
  'chevron-left': <path d="M10 3.5L5.5 8 10 12.5" />,
  tick: <path d="M3.5 8.5l3 3 6-7" />,
};

/**
 * Every icon is drawn once, as a <symbol> in a hidden sprite at the root of the page, and used by reference.
 * A grid cell whose health changes then swaps one attribute instead of rebuilding its SVG, which matters
 * when a keystroke in the search box repaints twenty rows at once.
 */
export function IconSprite() {
  return (
    <svg width="0" height="0" style={{ position: 'absolute' }} aria-hidden="true" focusable="false">
      {(Object.keys(PATHS) as IconName[]).map((name) => (
        <symbol key={name} id={`icon-${name}`} viewBox="0 0 16 16">
          {PATHS[name]}
        </symbol>
      ))}
    </svg>
  );
}

export function Icon({ name, className, size = 16 }: { name: IconName; className?: string; size?: number }) {
  return (
    <svg
      className={className ? `icon ${className}` : 'icon'}
      width={size}
      height={size}
      viewBox="0 0 16 16"
      fill="none"
      stroke="currentColor"
      strokeWidth="1.5"
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      <use href={`#icon-${name}`} />
    </svg>
  );
}
