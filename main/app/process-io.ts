/**
 * A terminal host's input and output — the `relink` CLI's and browser mode's — as one small interface, so
 * their commands are tested with a fake and run with the real process. In main/app because both hosts use it
 * and hosts never import each other (test/build/layering.test.ts).
 */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  readStdin: () => Promise<string>;
  /** Resolves when the user asks the process to stop (SIGINT/SIGTERM). */
  stopSignal: () => Promise<string>;
}

/** The real process's stdout, stderr, stdin and stop signals, for the hosts that run in a terminal. */
export function processIo(): Io {
  let stop: Promise<string> | null = null;
  return {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    readStdin: async () => {
      if (process.stdin.isTTY) process.stderr.write('Paste the client secret, then press Enter and Ctrl-D:\n');
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    stopSignal: () =>
      (stop ??= new Promise((resolve) => {
        // Stay subscribed after the first signal, and ignore the repeats. `conf` (through atomically's
        // when-exit) hooks SIGINT/SIGTERM too: it runs its exit hooks and then sends the same signal to the
        // process again. With no listener of ours left (a `once`), that second delivery found only
        // proper-lockfile's signal-exit, which re-raises it with the default action: Relink died with 130/143
        // half-way through saving its records instead of stopping cleanly with 0.
        const onSignal = (signal: NodeJS.Signals) => resolve(signal);
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      })),
  };
}
