import { useMemo } from 'react';
import { indexSnapshot } from '../state/derive.js';
import { href, NAV_VIEWS, VIEW_TITLES, type ViewId } from '../state/router.js';
import { useSnapshot } from '../state/store.js';
import { Icon, type IconName } from '../ui/Icon.js';

/** Views without an icon of their own borrow the nearest one. */
const NAV_ICONS: Partial<Record<ViewId, IconName>> = { tracked: 'external' };

/** The nav item that stays current on views reached from it (a plan from Staff, a report from an audit). */
const PARENT: Partial<Record<ViewId, ViewId>> = { reconnect: 'staff', offboarding: 'staff', reports: 'staff' };

/**
 * The left navigation: one link per view, named by the view, with the number of broken connections. Collapsed,
 * it shows the icons only; each link keeps its name (read out, and shown on hover).
 */
export function Sidebar({ current, collapsed, onToggle }: { current: ViewId; collapsed: boolean; onToggle: () => void }) {
  const snapshot = useSnapshot();
  const index = useMemo(() => indexSnapshot(snapshot), [snapshot]);
  return (
    <nav className="sidebar" aria-label="Main">
      <div className="sidebar-top">
        <p className="brand">
          <span className="brand-mark" aria-hidden="true">
            R
          </span>
          <span className="nav-text">Relink</span>
        </p>
        <button
          type="button"
          className="icon-button sidebar-toggle"
          aria-label={collapsed ? 'Show the menu names' : 'Hide the menu names'}
          title={collapsed ? 'Show the menu names' : 'Hide the menu names'}
          onClick={onToggle}
        >
          <Icon name={collapsed ? 'chevron-right' : 'chevron-left'} />
        </button>
      </div>
      <ul className="nav-list">
        {NAV_VIEWS.map((view) => (
          <li key={view}>
            <a
              href={href(view)}
              className="nav-link"
              title={collapsed ? VIEW_TITLES[view] : undefined}
              aria-current={view === current ? 'page' : view === PARENT[current] ? 'true' : undefined}
              aria-describedby={view === 'organisations' && index.brokenCount > 0 ? 'nav-broken-count' : undefined}
            >
              <Icon name={NAV_ICONS[view] ?? (view as IconName)} />
              <span className="nav-text">{VIEW_TITLES[view]}</span>
              {view === 'organisations' && index.brokenCount > 0 && (
                // Hidden from the name but referenced as its description: the link stays "Organisations".
                <span className="nav-count" id="nav-broken-count" aria-hidden="true">
                  {index.brokenCount}
                  <span className="visually-hidden"> connections need attention</span>
                </span>
              )}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}
