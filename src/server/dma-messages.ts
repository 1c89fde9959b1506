/**
 * Guest memory by DMA_READ and DMA_WRITE requests to the client (a mapping it sent without an fd),
 * in chunks of at most its max_data_xfer_size. Each chunk is one request subscribed directly, with
 * no operator chain around it: with anonymous guest RAM (QEMU's default) every DMA of a device goes
 * this way, most of them small.
 *
 * The DMA_READ data a client owes us at once is bounded (ServerLimits.dmaReadWindow), and so is each
 * read's size (dmaReadChunk): QEMU (11.1.3 at least) writes each reply with one non-blocking writev and takes a
 * short write for the whole reply (vfio_user_send_qio in hw/vfio-user/proxy.c). The rest is never
 * sent and the stream loses its framing once the replies it owes outgrow its socket buffer (about
 * 208 KiB): a device with many reads in flight (the nvme sample, 128 KiB each) broke QEMU within
 * seconds of guest I/O. The chunks of one read go out together as the window allows, so a large
 * read still overlaps its round trips.
 */
import { Observable, concatMap, from, last, merge, of, type Observer, type Subscriber } from 'rxjs';
import { Command } from '../protocol/constants.js';
import {
  decodeDmaReadReply,
  decodeDmaWriteReply,
  dmaWriteRequestPieces,
  encodeDmaReadRequest,
  encodeDmaWriteRequest,
} from '../protocol/dma-access.js';
import { SEND_AT_ONCE_BYTES } from '../wire/connection.js';
import type { Frame } from '../protocol/frame.js';
import type { Endpoint } from '../wire/endpoint.js';
import type { SessionLink } from './state.js';


/** One request's part of an access: guest address, byte count, and where it starts in the access. */
interface Chunk {
  readonly address: number;
  readonly count: number;
  readonly at: number;
}

/** The chunks of at most `max` bytes covering [iova, iova + length). */
const chunksOf = (iova: number, length: number, max: number): Chunk[] => {
  const size = Math.max(1, max);
  const out: Chunk[] = [];
  for (let at = 0; at < length; at += size) out.push({ address: iova + at, count: Math.min(size, length - at), at });
  return out;
};

/** What to do with the reply to a chunk's request (throws on a malformed one). */
type Consume<A> = (reply: Frame, chunk: Chunk, arg: A) => void;

/** Consumes the reply of one request, then emits once and completes. A class: no closures per request. */
class ChunkReply<A> implements Observer<Frame> {
  constructor(
    private readonly subscriber: Subscriber<void>,
    private readonly consume: Consume<A>,
    private readonly chunk: Chunk,
    private readonly arg: A,
  ) {}

  next(reply: Frame): void {
    try {
      this.consume(reply, this.chunk, this.arg);
    } catch (err) {
      this.subscriber.error(err);
      return;
    }
    this.subscriber.next();
    this.subscriber.complete();
  }

  error(err: unknown): void {
    this.subscriber.error(err);
  }

  complete(): void {
    this.subscriber.complete();
  }
}

const request = <A>(link: SessionLink, command: number, payload: Buffer | Buffer[], consume: Consume<A>, chunk: Chunk, arg: A) =>
  new Observable<void>((subscriber) => link.dma.request(command, payload).subscribe(new ChunkReply(subscriber, consume, chunk, arg)));

/** Runs one Observable per chunk, one after the other; emits once when the last is done. */
const inTurn = (chunks: readonly Chunk[], run: (c: Chunk) => Observable<void>): Observable<void> =>
  chunks.length === 1 ? run(chunks[0]!) : chunks.length === 0 ? of(undefined) : from(chunks).pipe(concatMap(run), last());

/** A read chunk waiting for room in the window. */
interface Waiting {
  readonly count: number;
  readonly start: () => void;
}

/** The read window of one client's DMA endpoint: bytes owed, and the chunks waiting, in order. */
interface ReadGate {
  owed: number;
  readonly waiting: Waiting[];
}

const gates = new WeakMap<Endpoint, ReadGate>();

const gateOf = (dma: Endpoint): ReadGate => {
  let gate = gates.get(dma);
  if (!gate) gates.set(dma, (gate = { owed: 0, waiting: [] }));
  return gate;
};

/** Starts waiting chunks, in order, while they fit (one always does when nothing is owed). */
const pump = (gate: ReadGate, window: number): void => {
  for (let next = gate.waiting[0]; next && (gate.owed === 0 || gate.owed + next.count <= window); next = gate.waiting[0]) {
    gate.waiting.shift();
    next.start();
  }
};

/** `run` (one DMA_READ of `count` bytes) once the window has room; the room is given back when it ends. */
const windowed = (link: SessionLink, count: number, run: () => Observable<void>): Observable<void> =>
  new Observable<void>((subscriber) => {
    const gate = gateOf(link.dma);
    let held = false;
    let done = false;
    const waiting: Waiting = {
      count,
      start: () => {
        held = true;
        gate.owed += count;
        subscriber.add(run().subscribe(subscriber));
      },
    };
    const window = link.reads.window;
    if (gate.waiting.length === 0 && (gate.owed === 0 || gate.owed + count <= window)) waiting.start();
    else gate.waiting.push(waiting);
    return () => {
      if (done) return;
      done = true;
      const i = gate.waiting.indexOf(waiting);
      if (i >= 0) gate.waiting.splice(i, 1);
      if (held) gate.owed -= count;
      pump(gate, window);
    };
  });

/** Where read data goes. */
interface Into {
  readonly target: Buffer;
  readonly at: number;
}

// Each reply is copied into place as it comes, and its buffer given back for the next one to reuse.
const consumeRead: Consume<Into> = (reply, chunk, into) => {
  decodeDmaReadReply(reply.payload, chunk).data?.copy(into.target, into.at + chunk.at);
  reply.release?.();
};

const consumeWrite: Consume<undefined> = (reply, chunk) => {
  decodeDmaWriteReply(reply.payload, { address: chunk.address, count: chunk.count });
};

/** Reads [iova, iova + length) into `target` from `at`; emits once when every byte is there. */
export const readByMessageInto = (link: SessionLink, iova: number, length: number, target: Buffer, at: number): Observable<void> => {
  const into: Into = { target, at };
  const chunks = chunksOf(iova, length, Math.min(link.client.max_data_xfer_size, link.reads.chunk));
  const read = (c: Chunk) => windowed(link, c.count, () => request(link, Command.DMA_READ, encodeDmaReadRequest(c), consumeRead, c, into));
  // Every chunk asked for as soon as the window has room; done when the last reply is in.
  return chunks.length === 1 ? read(chunks[0]!) : chunks.length === 0 ? of(undefined) : merge(...chunks.map(read)).pipe(last());
};

/** Writes `data` at `iova`; emits once when the client has acknowledged every byte. */
export const writeByMessage = (link: SessionLink, iova: number, data: Buffer): Observable<void> =>
  inTurn(chunksOf(iova, data.length, link.client.max_data_xfer_size), (c) => {
    const piece = { address: c.address, data: data.subarray(c.at, c.at + c.count) };
    // A large chunk is sent from the device's buffer itself (written before request() returns).
    const payload = c.count >= SEND_AT_ONCE_BYTES ? dmaWriteRequestPieces(piece) : encodeDmaWriteRequest(piece);
    return request(link, Command.DMA_WRITE, payload, consumeWrite, c, undefined);
  });
