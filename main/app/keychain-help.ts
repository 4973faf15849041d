import type { KeychainState } from '../secrets/keychain.js';

/**
 * What to tell an advisor whose profile has no usable keychain: what is missing, on this operating system,
 * and how to get it. Relink keeps the firm's sign-ins in the system keychain only (never in a file), so
 * without one the firm's own profile cannot connect or keep anything — it says so instead of falling back.
 * (The demo may hold its made-up sign-ins in memory instead; see RelinkApp.)
 */
export interface KeychainHelp {
  title: string;
  text: string;
  steps: string[];
}

export function keychainHelp(state: KeychainState, platform: NodeJS.Platform = process.platform): KeychainHelp | null {
  if (state === 'available') return null;
  const locked = state === 'locked';
  const tail = 'Nothing was saved or deleted. The demo works without a keychain: it keeps its made-up sign-ins in memory.';
  switch (platform) {
    case 'darwin':
      return {
        title: locked ? "This Mac's keychain is locked" : "Relink can't use this Mac's keychain",
        text: `Relink keeps your firm's sign-ins only in the macOS Keychain, which ${locked ? 'is locked' : 'did not answer'}. ${tail}`,
        steps: [
          'Open Keychain Access (Applications → Utilities) and check that the "login" keychain exists and is unlocked (File → Unlock Keychain "login").',
          'Then restart Relink.',
        ],
      };
    case 'win32':
      return {
        title: locked ? "This computer's Credential Manager is locked" : "Relink can't use Windows Credential Manager",
        text: `Relink keeps your firm's sign-ins only in Windows Credential Manager, which ${locked ? 'is locked' : 'did not answer'}. ${tail}`,
        steps: [
          'Sign in to Windows with your own account (Credential Manager is not available to system or guest accounts).',
          'Open Services, and check that "Credential Manager" is running (start it if not).',
          'Then restart Relink.',
        ],
      };
    default:
      return locked
        ? {
            title: "This computer's keyring is locked",
            text: `Relink keeps your firm's sign-ins only in the system keyring (the Secret Service), which is locked. ${tail}`,
            steps: [
              'Unlock the login keyring: open Passwords and Keys (Seahorse) and unlock "Login", or sign out of the desktop and in again.',
              'Then restart Relink.',
            ],
          }
        : {
            title: "Relink can't find a keyring on this computer",
            text: `Relink keeps your firm's sign-ins only in the system keyring (a Secret Service such as GNOME Keyring), and none is running for this session. ${tail}`,
            steps: [
              'Install GNOME Keyring: on Debian or Ubuntu, sudo apt install gnome-keyring (KeePassXC with its Secret Service turned on works too).',
              'Sign in to a desktop session, which starts and unlocks it. Without a desktop, start Relink inside a D-Bus session with the keyring running and unlocked: dbus-run-session, then gnome-keyring-daemon --unlock.',
              'Then restart Relink.',
            ],
          };
  }
}
