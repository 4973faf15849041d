import { useRef } from 'react';
import { useRoute, type Route } from '../state/router.js';
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
import { OperationsTray } from './OperationsTray.js';
import { Sidebar } from './Sidebar.js';

/** The window once Relink has something to show: navigation, header, demo notice, the current view. */
export function AppShell() {
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
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
      <div className="shell">
        <Sidebar current={route.view} />
        <div className="shell-main">
          <HeaderBar />
          <DemoBanner />
          <main id="main" ref={main} tabIndex={-1} className={`view view-${route.view}`}>
            <CurrentView route={route} />
          </main>
        </div>
        <OperationsTray />
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
