/**
 * @module exports/process-memory
 * Resident memory of a process's descendants, from /proc (Linux). Chromium runs as a tree of
 * processes (browser, zygote, GPU, renderers) under the Node process; its memory is their sum.
 */
import { readdir, readFile } from "node:fs/promises";

/** Sum of VmRSS of `rootPid`'s descendants whose process name matches `name`. */
export async function descendantsRss(rootPid: number, name: RegExp): Promise<number | null> {
  let entries: string[];
  try {
    entries = (await readdir("/proc")).filter((e) => /^\d+$/.test(e));
  } catch {
    return null;
  }
  const parent = new Map<number, number>();
  const rss = new Map<number, number>();
  const names = new Map<number, string>();
  await Promise.all(
    entries.map(async (e) => {
      try {
        const status = await readFile(`/proc/${e}/status`, "utf8");
        const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
        const kb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
        parent.set(Number(e), ppid);
        names.set(Number(e), /^Name:\s+(.*)$/m.exec(status)?.[1] ?? "");
        rss.set(Number(e), kb * 1024);
      } catch {}
    }),
  );
  let total = 0;
  for (const [pid] of rss) {
    if (pid === rootPid || !name.test(names.get(pid) ?? "")) continue;
    let p: number | undefined = parent.get(pid);
    for (let depth = 0; p && depth < 20; depth++) {
      if (p === rootPid) {
        total += rss.get(pid) ?? 0;
        break;
      }
      p = parent.get(p);
    }
  }
  return total;
}
