/** The variants of the transport benchmark, each opened once and then run in measured batches. */
import type { Channel } from '../../src/native/index.js';
import type { CBaseline, CRun } from './c-baseline.js';
import { bareDriver, frameDriver, type Driver } from './loops.js';
import { spawnPeer, type PeerKind } from './peer.js';

/** CPU time in microseconds. */
export interface Cpu {
  readonly user: number;
  readonly system: number;
}

/** One measured batch: round trips in microseconds, and the initiating side's CPU over them. */
export interface Batch {
  readonly rtt: Float64Array;
  readonly cpu: Cpu;
}

/** An open variant: warmed up, ready to run batches. */
export interface Session {
  batch(count: number): Promise<Batch>;
  /** Ends it; resolves to the echoing side's CPU over every measured round trip. */
  close(): Promise<Cpu>;
}

/** A variant: a stable key (JSON, ratios), a label for the table, and how to open it. */
export interface Variant {
  readonly key: string;
  readonly label: string;
  open(warmup: number): Promise<Session>;
}

/** Where the echoing side runs, when it is not simply inherited from this process. */
export interface Placement {
  /** Command prefix that pins a peer process (e.g. `taskset -c 1`). */
  readonly peerPrefix?: readonly string[];
  /** CPUs of the C program's parent and echo child. */
  readonly cCpus?: readonly [number, number];
}

/** How a Node variant is made: the initiating side's driver and the echoing peer. */
interface NodeSpec {
  readonly key: string;
  readonly label: string;
  readonly driver: (channel: Channel) => Driver;
  readonly peer: PeerKind;
  readonly mode?: string;
}

const nodeVariant = (place: Placement, spec: NodeSpec): Variant => ({
  key: spec.key,
  label: spec.label,
  open: async (warmup) => {
    const peer = spawnPeer(spec.peer, {
      warmup,
      ...(spec.mode ? { mode: spec.mode } : {}),
      ...(place.peerPrefix ? { prefix: place.peerPrefix } : {}),
    });
    peer.report.catch(() => undefined); // awaited in close(); this only keeps an early failure from going unhandled
    const driver = spec.driver(peer.channel);
    try {
      await driver.batch(warmup);
    } catch (err) {
      driver.close();
      throw err;
    }
    return {
      batch: (count) => driver.batch(count),
      close: async () => {
        driver.close();
        return peer.report;
      },
    };
  },
});

// The C program forks its own echo child per run: each batch is one run, after a short warm-up of its own.
const C_WARMUP = 200;

const cVariant = (run: (warmup: number, count: number, cpus?: readonly [number, number]) => Promise<CRun>, place: Placement): Variant => ({
  key: C,
  label: 'C: blocking send/recv, fork()ed echo',
  open: async () => {
    const child = { user: 0, system: 0 };
    return {
      batch: async (count) => {
        const r = await run(C_WARMUP, count, place.cCpus);
        child.user += r.child.user;
        child.system += r.child.system;
        return { rtt: r.rtt, cpu: r.parent };
      },
      close: async () => child,
    };
  },
});

/** Key of the bare-channel baseline. */
export const BARE = 'bare';
/** Key of the C baseline. */
export const C = 'c';
/** Key of the variant the goal is about. */
export const FRAME = 'frame';

/** All variants; the C one only when the compiler was found. */
export const variants = (c: CBaseline, place: Placement): Variant[] => [
  ...(c.available ? [cVariant(c.run, place)] : []),
  nodeVariant(place, { key: BARE, label: 'bare channel <-> bare channel echo', driver: bareDriver, peer: 'echo-channel' }),
  nodeVariant(place, { key: FRAME, label: 'frame layer + correlation <-> framework echo', driver: frameDriver, peer: 'echo-endpoint' }),
  nodeVariant(place, {
    key: 'frame-observable',
    label: 'same, awaiting an Observable request',
    driver: (channel) => frameDriver(channel, true),
    peer: 'echo-endpoint',
  }),
  // The two mixed rows separate what each side of the framework costs.
  nodeVariant(place, {
    key: 'frame-bare',
    label: 'frame layer + correlation <-> bare channel echo',
    driver: frameDriver,
    peer: 'echo-channel',
    mode: 'reply',
  }),
  nodeVariant(place, { key: 'bare-frame', label: 'bare channel <-> framework echo', driver: bareDriver, peer: 'echo-endpoint' }),
];
