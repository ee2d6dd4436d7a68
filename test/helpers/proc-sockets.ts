// What sockets a process holds, read from /proc (Linux): the inodes behind /proc/<pid>/fd, matched
// against /proc/<pid>/net/{tcp,tcp6,udp,udp6}. Used to prove the gateway never listens.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]!);
    } catch {
      // the fd closed while we looked
    }
  }
  return out;
}

interface Row {
  readonly local: string;
  readonly remote: string;
  readonly state: string;
  readonly inode: string;
}

function rows(pid: number, table: string): Row[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((c) => c.length > 9)
    .map((c) => ({ local: c[1]!, remote: c[2]!, state: c[3]!, inode: c[9]! }));
}

export interface SocketAudit {
  /** Sockets the process owns, by table. */
  readonly owned: Record<string, Row[]>;
  /** TCP sockets of the process in LISTEN (state 0A). */
  readonly tcpListening: Row[];
  /** UDP sockets of the process bound but not connected (remote all zeros). */
  readonly udpUnconnected: Row[];
}

export function auditSockets(pid: number): SocketAudit {
  const mine = socketInodes(pid);
  const owned: Record<string, Row[]> = {};
  for (const t of ['tcp', 'tcp6', 'udp', 'udp6']) owned[t] = rows(pid, t).filter((r) => mine.has(r.inode));
  const zeroRemote = (r: Row) => /^0+:0000$/.test(r.remote);
  return {
    owned,
    tcpListening: [...owned.tcp!, ...owned.tcp6!].filter((r) => r.state === '0A'),
    udpUnconnected: [...owned.udp!, ...owned.udp6!].filter(zeroRemote),
  };
}
