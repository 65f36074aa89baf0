const JWT_PATTERN = /eyJ[\w-]{2,}\.[\w-]{2,}\.[\w-]*/g;
const MIN_SECRET_LENGTH = 4;

/**
 * Last line of defence for text that leaves a refresh: removes every value the
 * run knows to be sensitive, and anything shaped like a JWT, before it reaches a
 * log line, a result or an error message.
 */
function urlEncodings(value: string): string[] {
  try {
    const component = encodeURIComponent(value);
    return [component, component.replace(/%20/g, '+'), encodeURI(value)];
  } catch {
    return []; // a lone surrogate has no URL encoding
  }
}

export class Redactor {
  readonly #values = new Set<string>();

  add(...values: (string | undefined)[]): void {
    for (const value of values) {
      if (value === undefined || value.length < MIN_SECRET_LENGTH) continue;
      this.#values.add(value);
      // A value travels URL-encoded in request paths and form bodies too.
      for (const encoded of urlEncodings(value)) if (encoded !== value) this.#values.add(encoded);
    }
  }

  scrub(text: string): string {
    let clean = text;
    for (const value of [...this.#values].sort((a, b) => b.length - a.length))
      clean = clean.split(value).join('[REDACTED]');
    return clean.replace(JWT_PATTERN, '[REDACTED-JWT]');
  }
}
