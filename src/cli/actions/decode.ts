/** What `vfio-user decode FILE` does: reads a capture and prints its messages in the trace format. */
import { readFileSync } from 'node:fs';
import { from, lastValueFrom, tap } from 'rxjs';
import { capturedMessages, readPcapng } from '../../capture/index.js';
import { selectMessages } from '../../operators/index.js';
import { CaptureFormatError } from '../../protocol/errors.js';
import { CliError } from '../errors.js';
import { traceLine } from '../format/payload.js';
import type { SelectFlags } from '../options.js';
import { print } from '../output.js';
import { selectionOf } from '../select.js';

const readCapture = (file: string): Buffer => {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
};

/** Prints the messages of a capture file that the flags select. */
export const decodeCapture = async (file: string, flags: SelectFlags): Promise<void> => {
  const selection = selectionOf(flags);
  let capture;
  let messages;
  try {
    capture = readPcapng(readCapture(file));
    messages = capturedMessages(capture);
  } catch (err) {
    if (err instanceof CaptureFormatError) throw new CliError(`${file}: ${err.message}`);
    throw err;
  }
  await lastValueFrom(from(messages).pipe(selectMessages(selection), tap((e) => print(traceLine(e)))), { defaultValue: undefined });
  if (capture.trailing > 0) print(`# the capture ends inside a block (${capture.trailing} bytes): it was cut short or is still being written`);
};
