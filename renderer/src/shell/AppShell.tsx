import { useEffect, useRef, useState } from 'react';
import { useRoute, type Route } from '../state/router.js';
import { clearNotices } from '../state/store.js';
import { ActivityView } from '../views/activity/ActivityView.js';
import { AppsView } from '../views/apps/AppsView.js';
import { ExplainView } from '../views/explain/ExplainView.js';
import { OrganisationsView } from '../views/organisations/OrganisationsView.js';
import { OverviewView } from '../views/overview/OverviewView.js';
import { SettingsView } from '../views/settings/SettingsView.js';
import { StaffView } from '../views/staff/StaffView.js';
import { OffboardingReport } from '../views/reports/OffboardingReport.js';
import { TrackedView } from '../views/tracked/TrackedView.js';
import { OffboardingView } from '../views/workflows/OffboardingView.js';
import { ReconnectView } from '../views/workflows/ReconnectView.js';
import { Announcer } from './Announcer.js';
import { DemoBanner } from './DemoBanner.js';
import { HeaderBar } from './HeaderBar.js';
import { Notices } from './Notices.js';
import { OperationsTray } from './OperationsTray.js';
import { Sidebar } from './Sidebar.js';
import { useFocusKeeper } from './useFocusKeeper.js';

/** Below this width the sidebar shows icons only, unless the advisor opens it. */
const NARROW = '(max-width: 1099px)';

/**
 * The sidebar is narrow (icons, names on hover and for screen readers) in a narrow window and wide otherwise;
 * the advisor's choice with the toggle is kept for that kind of window, on this computer.
 */
function useSidebar(): [boolean, () => void] {
  const [narrow, setNarrow] = useState(() => window.matchMedia(NARROW).matches);
  const key = `relink.sidebar.${narrow ? 'narrow' : 'wide'}`;
  const [choice, setChoice] = useState<string | null>(() => read(key));
  useEffect(() => {
    const mq = window.matchMedia(NARROW);
    const onChange = () => setNarrow(mq.matches);
    mq.addEventListener('change', onChange);
    return () => mq.removeEventListener('change', onChange);
  }, []);
  useEffect(() => setChoice(read(key)), [key]);
  const collapsed = choice ? choice === 'collapsed' : narrow;
  const toggle = () => {
    const next = collapsed ? 'expanded' : 'collapsed';
    setChoice(next);
    try {
      window.localStorage.setItem(key, next);
    } catch {
      // No storage (a locked-down browser): the choice lasts until the window closes.
    }
  };
  return [collapsed, toggle];
}

function read(key: string): string | null {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

/**
 * The window once Relink has something to show: navigation, header, demo notice, notices about what the
 * advisor just did, the current view, and the sign-ins still running (docked below the view, never over it).
 */
export function AppShell() {
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  const shell = useRef<HTMLDivElement>(null);
  const [collapsed, toggleSidebar] = useSidebar();
  useFocusKeeper(shell, main);
  useEffect(() => clearNotices(), [route.view]);
  return (
    <>
      <a
        className="skip-link"
        href="#main"
        // The hash is the router's; move focus without changing it.
        onClick={(e) => {
          e.preventDefault();
          main.current?.focus();
        }}
      >
        Skip to content
      </a>
      <div className={collapsed ? 'shell sidebar-collapsed' : 'shell'} ref={shell}>
        <Sidebar current={route.view} collapsed={collapsed} onToggle={toggleSidebar} />
        <div className="shell-main">
          <HeaderBar />
          <DemoBanner />
          <Notices />
          <main id="main" ref={main} tabIndex={-1} className={`view view-${route.view}`}>
            <CurrentView route={route} />
          </main>
          <OperationsTray />
        </div>
        <Announcer />
      </div>
    </>
  );
}

function CurrentView({ route }: { route: Route }) {
  switch (route.view) {
    case 'overview':
      return <OverviewView />;
    case 'organisations':
      return <OrganisationsView route={route} />;
    case 'apps':
      return <AppsView />;
    case 'staff':
      return <StaffView />;
    case 'activity':
      return <ActivityView />;
    case 'explain':
      return <ExplainView />;
    case 'settings':
      return <SettingsView />;
    case 'tracked':
      return <TrackedView />;
    case 'reconnect':
      return <ReconnectView key={route.id ?? ''} route={route} />;
    case 'offboarding':
      return <OffboardingView key={route.id ?? ''} route={route} />;
    case 'reports':
      return <OffboardingReport key={route.sub ?? ''} route={route} />;
  }
}
