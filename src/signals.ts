// Long-running commands (emulator, serve, playground) own Ctrl-C: main.ts steps aside while
// another SIGINT listener exists. The first SIGINT or SIGTERM starts a clean stop; a second
// SIGINT, with this listener gone, interrupts at once (exit 130).
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
