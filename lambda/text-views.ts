/**
 * The readings of a text that a person or a program could decode a value out of:
 * the text itself, percent- and form-decoded, JSON-unescaped, HTML-unescaped,
 * hex and base64 runs decoded, applied in layers (a JSON string inside a form
 * inside base64 …), all case-folded. Matching a sensitive value against every
 * reading catches an echo in any encoding built from these, so nobody has to
 * list the encodings of each secret (a list always misses one).
 */

/** Layers of decoding tried; an echo nested deeper than this is not looked for. */
const MAX_DEPTH = 3;
/** Readings kept per text; past this the text is treated as unreadable (see `readings`). */
const MAX_READINGS = 256;
const MIN_RUN = 8;

/** `minStretch`: the shortest printable stretch of decoded bytes worth keeping (the shortest value looked for). */
type Decoder = (text: string, minStretch: number) => string[];

const percentDecode: Decoder = (text) => {
  if (!/%[0-9a-f]{2}|\+/i.test(text)) return [];
  // Byte by byte, so one malformed escape does not stop the rest from decoding.
  const decode = (input: string) =>
    input.replace(/(%[0-9a-f]{2})+/gi, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return Buffer.from(run.replace(/%/g, ''), 'hex').toString('latin1');
      }
    });
  return [decode(text), decode(text.replace(/\+/g, ' '))];
};

const JSON_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const jsonUnescape: Decoder = (text) => {
  if (!text.includes('\\')) return [];
  return [
    text.replace(/\\(u[0-9a-f]{4}|x[0-9a-f]{2}|.)/gi, (_, escaped: string) => {
      if (escaped.length === 5 || escaped.length === 3)
        return String.fromCharCode(Number.parseInt(escaped.slice(1), 16));
      return JSON_ESCAPES[escaped] ?? escaped;
    }),
  ];
};

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  excl: '!',
  lpar: '(',
  rpar: ')',
  tilde: '~',
  bsol: '\\',
  sol: '/',
  equals: '=',
  plus: '+',
  num: '#',
  percnt: '%',
  dollar: '$',
  commat: '@',
};
const htmlUnescape: Decoder = (text) => {
  if (!text.includes('&')) return [];
  return [
    text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);?/gi, (entity, body: string) => {
      const lower = body.toLowerCase();
      const code = lower.startsWith('#x')
        ? Number.parseInt(lower.slice(2), 16)
        : lower.startsWith('#')
          ? Number.parseInt(lower.slice(1), 10)
          : undefined;
      if (code !== undefined) return code <= 0x10ffff ? String.fromCodePoint(code) : entity;
      return NAMED_ENTITIES[lower] ?? entity;
    }),
  ];
};

/**
 * What a decoded byte run could show a reader: its printable stretches (a secret
 * is printable), or nothing when it is noise, as most words read as base64 are.
 */
function printableStretches(bytes: Buffer, minStretch: number): string[] {
  const readable = [bytes.toString('utf8'), bytes.toString('latin1')].map((text) =>
    (text.match(new RegExp(`[^\\p{C}]{${minStretch},}`, 'gu')) ?? []).join('\n'),
  );
  return [...new Set(readable.filter((text) => text.length > 0))];
}

/** Base64 and base64url runs, tried at each of the four alignments (a run may start mid-quantum). */
const base64Runs: Decoder = (text, minStretch) => {
  const decoded: string[] = [];
  for (const [run] of text.matchAll(/[A-Za-z0-9+/_-]{8,}={0,2}/g)) {
    const plain = run.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
    for (let offset = 0; offset < 4 && plain.length - offset >= MIN_RUN - 2; offset++) {
      decoded.push(...printableStretches(Buffer.from(plain.slice(offset), 'base64'), minStretch));
    }
  }
  return decoded;
};

const hexRuns: Decoder = (text, minStretch) => {
  const decoded: string[] = [];
  for (const [run] of text.matchAll(/(?:[0-9a-f]{2}){4,}/gi)) {
    decoded.push(...printableStretches(Buffer.from(run, 'hex'), minStretch));
    if (run.length > 2) decoded.push(...printableStretches(Buffer.from(run.slice(1, -1), 'hex'), minStretch));
  }
  return decoded;
};

const DECODERS: Decoder[] = [percentDecode, jsonUnescape, htmlUnescape, base64Runs, hexRuns];

/**
 * Every reading of `text` up to MAX_DEPTH layers of decoding, case-folded.
 * `complete` is false when the readings were cut at MAX_READINGS: a caller that
 * needs certainty treats such a text as if it matched.
 */
export function readings(text: string, minStretch = 4): { views: string[]; complete: boolean } {
  const seen = new Set<string>([text]);
  let layer = [text];
  for (let depth = 0; depth < MAX_DEPTH && layer.length > 0; depth++) {
    const next: string[] = [];
    for (const view of layer) {
      for (const decode of DECODERS) {
        for (const decoded of decode(view, minStretch)) {
          if (seen.has(decoded)) continue;
          if (seen.size >= MAX_READINGS) return { views: fold(seen), complete: false };
          seen.add(decoded);
          next.push(decoded);
        }
      }
    }
    layer = next;
  }
  return { views: fold(seen), complete: true };
}

/** Case-folded and with whitespace runs collapsed, as values are compared. */
export function foldText(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ');
}

function fold(views: Set<string>): string[] {
  return [...views].map(foldText);
}

/** True when any reading of `text` holds any of `values` (compared case-folded). */
export function echoesAny(text: string, values: Iterable<string>): boolean {
  const folded = [...values].map(foldText).filter((value) => value.trim().length > 0);
  if (folded.length === 0) return false;
  const shortest = Math.max(4, Math.min(...folded.map((value) => value.length)));
  const { views, complete } = readings(text, shortest);
  if (!complete) return true;
  return views.some((view) => folded.some((value) => view.includes(value)));
}
