/**
 * What a file descriptor passed with a message is, as a monitor shows it: guest memory or a region's
 * memory (a memfd, with its size), an interrupt (an eventfd), a socket (the twin socket), another
 * file. Pure data with a text form, so a capture can carry it and `decode` read it back.
 */

/** What an fd is. */
export type FdInfo =
  | { readonly kind: 'memfd'; readonly name: string; readonly size: number }
  | { readonly kind: 'eventfd' }
  | { readonly kind: 'socket' }
  | { readonly kind: 'file'; readonly path: string; readonly size: number }
  | { readonly kind: 'other'; readonly target: string };

/** One fd as text: `memfd:NAME/0x1000`, `eventfd`, `socket`, `file:/path/0x1000`, `other:anon_inode:[x]`. */
export const formatFdInfo = (fd: FdInfo): string => {
  switch (fd.kind) {
    case 'memfd':
      return `memfd:${fd.name}/0x${fd.size.toString(16)}`;
    case 'file':
      return `file:${fd.path}/0x${fd.size.toString(16)}`;
    case 'other':
      return `other:${fd.target}`;
    default:
      return fd.kind;
  }
};

/** A list of fds as text, comma-separated (the inverse of parseFdList). */
export const formatFdList = (fds: readonly FdInfo[]): string => fds.map(formatFdInfo).join(',');

const sized = /^(memfd|file):(.*)\/0x([0-9a-f]+)$/;

/** Reads one fd back from formatFdInfo's text; unknown text is kept as `other`. */
export const parseFdInfo = (text: string): FdInfo => {
  if (text === 'eventfd' || text === 'socket') return { kind: text };
  const m = sized.exec(text);
  if (m) {
    const size = Number.parseInt(m[3]!, 16);
    return m[1] === 'memfd' ? { kind: 'memfd', name: m[2]!, size } : { kind: 'file', path: m[2]!, size };
  }
  return { kind: 'other', target: text.startsWith('other:') ? text.slice(6) : text };
};

/**
 * Reads a list back. Names and paths may hold commas, so a piece that does not start a known kind
 * is joined to the one before it.
 */
export const parseFdList = (text: string): FdInfo[] => {
  if (text === '') return [];
  const pieces: string[] = [];
  for (const piece of text.split(',')) {
    if (pieces.length > 0 && !/^(memfd:|file:|other:|eventfd$|socket$)/.test(piece)) pieces[pieces.length - 1] += `,${piece}`;
    else pieces.push(piece);
  }
  return pieces.map(parseFdInfo);
};
