import { BehaviorSubject, EMPTY, Observable, Subject, concat, defer, filter, first, from, scan, switchMap } from 'rxjs';
import { ClosedError } from '../protocol/errors.js';
import { native as defaultNative } from '../native/index.js';
import type { Native } from '../native/types.js';
import { checkSlice, checkSpec, initial, listOf, reduce, type MemoryChange, type MemorySection, type Op, type RamBlock, type SectionSpec, type State } from './memory-sections.js';

export type { MemoryChange, MemorySection, RamBlock, SectionSpec } from './memory-sections.js';

/** Guest RAM made of memfd-backed sections, with the change stream a container turns into DMA maps. */
export interface GuestMemory {
  /** Adds a section (its own transaction unless inside `transaction`). Throws RangeError on overlap. */
  add(spec: SectionSpec): MemorySection;
  /** Creates a block of `size` bytes (a memfd mapped once) for sections to be slices of; released by close(). */
  block(size: number, name?: string): RamBlock;
  /** Removes a section; its fd and mapping are released once the transaction has committed. */
  remove(section: MemorySection): void;
  /** Groups the changes made by `fn` into one begin ... commit (nested calls join the outer one). */
  transaction<T>(fn: () => T): T;
  /** The sections present now, by address. */
  readonly sections: readonly MemorySection[];
  /**
   * The change stream. A new subscriber first gets the present sections as one transaction
   * (like a memory listener registering), then every later change; completes on close().
   */
  readonly changes$: Observable<MemoryChange>;
  /** Removes every section (one transaction), releases them and completes `changes$`. Idempotent. */
  close(): void;
}

/** Options of guestMemory. */
export interface GuestMemoryOptions {
  readonly native?: Native;
}

const createSection = (native: Native, spec: SectionSpec, id: number): MemorySection => {
  const fd = native.memfd(spec.name ?? `guest-ram@${spec.iova.toString(16)}`, spec.size);
  try {
    const buffer = Buffer.from(native.mmap(fd, 0, spec.size, 'rw'));
    return { id, iova: spec.iova, size: spec.size, readonly: spec.readonly ?? false, fd, fdOffset: 0, buffer };
  } catch (err) {
    native.close(fd);
    throw err;
  }
};

/** The present sections as one transaction, then the live changes. */
const replay$ = (present: readonly MemorySection[], live: Observable<MemoryChange>): Observable<MemoryChange> => {
  const adds = present.map((section): MemoryChange => ({ type: 'add', section }));
  return concat(present.length > 0 ? from([{ type: 'begin' } as const, ...adds, { type: 'commit' } as const]) : EMPTY, live);
};

/** Creates guest memory whose sections are memfds, each mapped locally for the owner to use. */
export const guestMemory = (options: GuestMemoryOptions = {}): GuestMemory => {
  const native = options.native ?? defaultNative;
  const ops = new Subject<Op>();
  const start = initial();
  const state = new BehaviorSubject<State>(start);
  const changes = new Subject<MemoryChange>();
  let nextId = 0;
  let closed = false;
  const blocks = new Set<RamBlock>();
  const release = (section: MemorySection) => {
    if (section.block) return; // its block's fd and mapping go at close()
    native.munmap(section.buffer.buffer as ArrayBuffer);
    native.close(section.fd);
  };
  const slice = (spec: SectionSpec, id: number): MemorySection => {
    const block = checkSlice(spec, blocks);
    const offset = spec.blockOffset ?? 0;
    const buffer = block.buffer.subarray(offset, offset + spec.size);
    return { id, iova: spec.iova, size: spec.size, readonly: spec.readonly ?? false, fd: block.fd, fdOffset: offset, buffer, block };
  };
  // Publish first, release after: every listener has seen the commit before an fd goes away.
  ops.pipe(scan(reduce, start)).subscribe((s) => {
    state.next(s);
    if (s.emit) changes.next(s.emit);
    s.release.forEach(release);
  });
  const transaction = <T>(fn: () => T): T => {
    ops.next({ type: 'begin' });
    try {
      return fn();
    } finally {
      ops.next({ type: 'commit' });
    }
  };
  const replay = () => replay$(listOf(state.value.sections), changes);
  return {
    add: (spec) =>
      transaction(() => {
        if (closed) throw new ClosedError('guest memory is closed');
        checkSpec(spec, state.value.sections);
        const section = spec.block ? slice(spec, nextId++) : createSection(native, spec, nextId++);
        ops.next({ type: 'add', section });
        return section;
      }),
    remove: (section) => {
      if (state.value.sections.get(section.iova) === section) transaction(() => ops.next({ type: 'remove', section }));
    },
    block: (size, name) => {
      if (closed) throw new ClosedError('guest memory is closed');
      if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`size ${size} is not a positive integer`);
      const fd = native.memfd(name ?? `guest-ram-block-${blocks.size}`, size);
      try {
        const block: RamBlock = { fd, size, buffer: Buffer.from(native.mmap(fd, 0, size, 'rw')) };
        blocks.add(block);
        return block;
      } catch (err) {
        native.close(fd);
        throw err;
      }
    },
    transaction,
    get sections() {
      return listOf(state.value.sections);
    },
    // A subscriber arriving inside an open transaction starts at its commit, with the result replayed.
    changes$: defer(() => (state.value.depth === 0 ? replay() : changes.pipe(filter((c) => c.type === 'commit'), first(), switchMap(replay)))),
    close: () => {
      if (closed) return;
      closed = true;
      transaction(() => listOf(state.value.sections).forEach((section) => ops.next({ type: 'remove', section })));
      changes.complete();
      for (const block of blocks) {
        native.munmap(block.buffer.buffer as ArrayBuffer);
        native.close(block.fd);
      }
      blocks.clear();
    },
  };
};
