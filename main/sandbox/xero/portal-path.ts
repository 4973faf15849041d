/**
 * Where the sandbox serves its stand-in for Xero's developer portal. In a module of its own (no page code) so
 * the Electron shell's link allow-list can recognise the page without bundling the sandbox.
 */
export const SANDBOX_PORTAL_PATH = '/developer-portal';
