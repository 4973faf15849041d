/**
 * Counts turns of the event loop: a setImmediate callback that re-queues itself runs once per turn, after
 * the turn's I/O. Two task runs that see the same count ran without the loop having had a turn between them —
 * no request answered, no Ctrl-C seen — which is what a busy-spinning scheduler looks like.
 */
export function eventLoopTurns(): { now(): number; stop(): void } {
  let turn = 0;
  let on = true;
  const tick = () => {
    turn++;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    now: () => turn,
    stop: () => {
      on = false;
    },
  };
}

/** Of runs recorded with the turn each ran in (in order), how many ran in the same turn as the run before. */
export function runsWithoutATurnBetween(turns: number[]): number {
  return turns.slice(1).filter((t, i) => t === turns[i]).length;
}
