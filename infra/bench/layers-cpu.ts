// CPU time rather than wall time: on a shared, overloaded machine a run's wall time mostly measures
// how long it waited for a core. The Worker's CPU time is read from outside (workerd's own clock stands
// still during JS) as the sum of its threads' on-CPU nanoseconds in /proc/PID/task/TID/schedstat.
import { readdirSync, readFileSync } from 'node:fs';

/** workerd processes this process started (miniflare spawns them as children), not colleagues' ones. */
export function childWorkerdPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'workerd') continue;
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
      if (ppid === process.pid) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** Total on-CPU time of the given processes (all their threads), in milliseconds. */
export function processesCpuMs(pids: readonly number[]): number {
  let ns = 0;
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // The thread ended while we looked.
      }
    }
  }
  return ns / 1e6;
}
