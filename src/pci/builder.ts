/** Mutable buffers used while building a config space; handed to createSpace once done. */
export class ConfigBuilder {
  readonly bytes: Buffer;
  readonly writeMask: Buffer;
  readonly rw1cMask: Buffer;

  constructor(size: number) {
    this.bytes = Buffer.alloc(size);
    this.writeMask = Buffer.alloc(size);
    this.rw1cMask = Buffer.alloc(size);
  }

  /** Sets the value of a register of `width` bytes (1, 2 or 4). */
  set(offset: number, width: 1 | 2 | 4, value: number): this {
    this.bytes.writeUIntLE(value >>> 0, offset, width);
    return this;
  }

  /** Marks bits of a register writable by the guest. */
  writable(offset: number, width: 1 | 2 | 4, mask: number): this {
    this.writeMask.writeUIntLE(mask >>> 0, offset, width);
    return this;
  }

  /** Marks bits of a register as cleared by writing 1. */
  rw1c(offset: number, width: 1 | 2 | 4, mask: number): this {
    this.rw1cMask.writeUIntLE(mask >>> 0, offset, width);
    return this;
  }

  /** Copies raw bytes (and optionally their write mask) into place. */
  copy(offset: number, bytes: Buffer, writeMask?: Buffer): this {
    bytes.copy(this.bytes, offset);
    writeMask?.copy(this.writeMask, offset);
    return this;
  }
}
