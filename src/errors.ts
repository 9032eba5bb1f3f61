/**
 * One error tree with stable string codes (in the manner of undici's UND_ERR_*):
 * callers branch on `code`, never on message text. Verdicts (a rejected share,
 * a refused request) are values, not exceptions; these are for broken
 * invariants, bad configuration and I/O.
 */
export class ProxyError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Configuration or command-line input that cannot be used; the message names the key. */
export class ConfigError extends ProxyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SURPLUS_ERR_CONFIG', message, options);
  }
}

/** Bad user input to a command (a fixture file, an argument). */
export class InputError extends ProxyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SURPLUS_ERR_INPUT', message, options);
  }
}

/** A bounded queue or buffer is full; the caller must answer with an error, not wait. */
export class OverloadError extends ProxyError {
  constructor(message: string) {
    super('SURPLUS_ERR_OVERLOAD', message);
  }
}

/** A request to a peer (pool, device API) did not complete in time. */
export class TimeoutError extends ProxyError {
  constructor(message: string) {
    super('SURPLUS_ERR_TIMEOUT', message);
  }
}

/** A peer (pool, device) closed, refused or answered garbage. */
export class PeerError extends ProxyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SURPLUS_ERR_PEER', message, options);
  }
}
