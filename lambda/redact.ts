import { echoesAny } from './text-views.ts';

const JWT_PATTERN = /eyJ[\w-]{2,}\.[\w-]{2,}\.[\w-]*/g;
const MIN_SECRET_LENGTH = 4;
/** Longest stretch of a provider's own words that reaches an error or log line. */
export const MAX_PROVIDER_TEXT = 200;
export const WITHHELD = '[withheld: it echoed a credential or token]';

/**
 * Last line of defence for text that leaves a refresh. Values the run knows to
 * be sensitive are cut out where they appear as they are; anything shaped like a
 * JWT is cut too. Then every reading of what is left (URL-, form-, JSON-, HTML-,
 * hex- and base64-decoded, case-folded: see text-views.ts) is matched against
 * them, and a text that still echoes one is withheld whole: an encoded copy
 * cannot be cut out reliably, and leaving part of a text would leak part of a secret.
 */
export class Redactor {
  readonly #values = new Set<string>();

  /** Registers values as they are and trimmed: what was stored and what was sent may differ by whitespace. */
  add(...values: (string | undefined)[]): void {
    for (const value of values) {
      if (value === undefined) continue;
      for (const form of [value, value.trim()]) if (form.length >= MIN_SECRET_LENGTH) this.#values.add(form);
    }
  }

  scrub(text: string): string {
    let clean = text;
    for (const value of [...this.#values].sort((a, b) => b.length - a.length))
      clean = clean.split(value).join('[REDACTED]');
    clean = clean.replace(JWT_PATTERN, '[REDACTED-JWT]');
    return echoesAny(clean, this.#values) ? WITHHELD : clean;
  }

  /**
   * A provider's free text (an error message it wrote) as it may be quoted: the
   * whole text is checked before it is cut, so a secret can't be half-quoted;
   * then it is bounded and kept to printable characters.
   */
  quoteProviderText(text: string): string {
    const checked = this.scrub(text);
    if (checked === WITHHELD) return WITHHELD;
    const printable = checked
      .replace(/[^\p{L}\p{N}\p{P}\p{S} ]+/gu, ' ')
      .replace(/\s+/g, ' ')
      .trim();
    return printable.length > MAX_PROVIDER_TEXT ? `${printable.slice(0, MAX_PROVIDER_TEXT)}…` : printable;
  }
}
