/**
 * The renderer's root. The connections UI arrives with the desktop-app issue; until the engine exists there
 * is nothing for this window to show but where things stand, so it says that plainly rather than pretending.
 */
export function App() {
  return (
    <main style={{ font: '15px/1.5 system-ui, sans-serif', maxWidth: 640, margin: '48px auto', padding: '0 24px' }}>
      <h1 style={{ fontSize: 22 }}>Relink</h1>
      <p>
        Relink keeps every Xero connection your firm depends on alive, tells you in plain words why one broke, and
        reconnects it in one click.
      </p>
      <p>
        This build contains the Xero sandbox that the rest of Relink is tested against. Start it with{' '}
        <code>npm start</code> and open the address it prints.
      </p>
    </main>
  );
}
