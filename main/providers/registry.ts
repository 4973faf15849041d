import type { App } from '../../shared/domain.js';
import type { Provider } from './provider.js';
import { xeroProvider } from './xero/provider.js';

/** Every provider Relink knows, by `App.provider`. A second one is added here and under its own folder. */
const PROVIDERS: Readonly<Record<App['provider'], Provider>> = { xero: xeroProvider };

/** The provider an app belongs to. */
export function providerOf(app: Pick<App, 'provider'>): Provider {
  return PROVIDERS[app.provider];
}

/** The provider new apps get when none is named (until the window lets the advisor choose). */
export const DEFAULT_PROVIDER: Provider = xeroProvider;
