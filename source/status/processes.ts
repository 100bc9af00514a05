import fs from 'node:fs';
import path from 'node:path';

/**
 * Agent processes, found by scanning /proc: every process whose argv is `bao|vault agent ...
 * -config=FILE` (or `-config FILE`, repeated, or a directory). One scan per refresh serves
 * every agent. Processes of other users are visible to root; as a plain user only one's own
 * cmdlines may be readable, which the caller reports.
 */
export interface AgentProcess {
  pid: number;
  uid: number;
  argv: string[];
  /** -config values, resolved against the process's working directory. */
  configs: string[];
}

function configArgs(argv: string[], cwd: string | undefined): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i]!;
    const m = /^--?config(?:=(.*))?$/.exec(a);
    if (!m) continue;
    const value = m[1] ?? argv[i + 1];
    if (!value) continue;
    out.push(path.isAbsolute(value) || !cwd ? path.resolve(value) : path.resolve(cwd, value));
  }
  return out;
}

export function scanAgentProcesses(procRoot = '/proc'): { processes: AgentProcess[]; error?: string } {
  let entries: string[];
  try {
    entries = fs.readdirSync(procRoot);
  } catch (error) {
    return { processes: [], error: `${procRoot} cannot be read (${(error as NodeJS.ErrnoException).code})` };
  }
  const processes: AgentProcess[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let raw: Buffer;
    try {
      raw = fs.readFileSync(path.join(procRoot, e, 'cmdline'));
    } catch {
      continue; // gone, or not ours to read
    }
    if (raw.length === 0 || raw.indexOf('agent') < 0) continue;
    const argv = raw.toString('utf8').split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
    const exe = path.basename(argv[0] ?? '');
    const agentAt = argv.indexOf('agent');
    if (agentAt < 1 || !/^(bao|vault|openbao)$/.test(exe) && !argv.slice(0, agentAt).some((a) => /(^|\/)(bao|vault|openbao)$/.test(a))) continue;
    let cwd: string | undefined;
    try {
      cwd = fs.readlinkSync(path.join(procRoot, e, 'cwd'));
    } catch {
      cwd = undefined;
    }
    let uid = -1;
    try {
      const status = fs.readFileSync(path.join(procRoot, e, 'status'), 'utf8');
      uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
    } catch {
      /* exited meanwhile */
    }
    processes.push({ pid: Number(e), uid, argv, configs: configArgs(argv.slice(agentAt + 1), cwd) });
  }
  return { processes };
}

/** The processes running this config (the file itself, or a -config directory holding it). */
export function processesFor(config: string, processes: AgentProcess[]): AgentProcess[] {
  const file = path.resolve(config);
  return processes.filter((p) => p.configs.some((c) => c === file || file.startsWith(`${c}/`)));
}
