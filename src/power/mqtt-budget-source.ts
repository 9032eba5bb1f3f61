import mqtt, { type MqttClient } from 'mqtt';
import type { Clock } from '../clock.js';
import type { Logger } from '../observability/logger.js';
import { BaseBudgetSource } from './budget-source.js';

export interface MqttOptions {
  url: string;
  topic: string;
  username?: string;
  password?: string;
  ttlS: number;
  /** How long `start` waits for the first subscription before going on (the client keeps retrying). */
  connectWaitMs?: number;
}

/** Longest payload accepted on the budget topic; anything longer is not a number. */
const MAX_PAYLOAD = 256;

/**
 * Budget from an energy-management system over MQTT: payload a bare number
 * ("123.4") or JSON `{ "kw": 123.4 }`, kW. Bad payloads are counted and logged
 * (truncated), never applied. The client reconnects by itself; while it is
 * away the readings age out and the guard takes over.
 */
export class MqttBudgetSource extends BaseBudgetSource {
  readonly name = 'mqtt';
  /** Payloads rejected since start. */
  rejected = 0;
  private client: MqttClient | undefined;

  constructor(
    private readonly opts: MqttOptions,
    clock: Clock,
    private readonly logger: Logger,
  ) {
    super(clock);
  }

  protected async onStart(): Promise<void> {
    const client = mqtt.connect(this.opts.url, {
      ...(this.opts.username !== undefined ? { username: this.opts.username } : {}),
      ...(this.opts.password !== undefined ? { password: this.opts.password } : {}),
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
    });
    this.client = client;
    client.on('error', (err) => this.logger.warn({ err: err.message, url: redactUrl(this.opts.url) }, 'mqtt budget source: client error'));
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    const subscribed = new Promise<void>((resolve) => {
      client.on('connect', () => {
        client.subscribe(this.opts.topic, { qos: 1 }, (err) => {
          if (err) this.logger.warn({ err: err.message, topic: this.opts.topic }, 'mqtt budget source: subscribe failed');
          else resolve();
        });
      });
    });
    const wait = this.opts.connectWaitMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), wait)));
    const r = await Promise.race([subscribed, timedOut]);
    clearTimeout(timer);
    if (r === 'timeout') this.logger.warn({ url: redactUrl(this.opts.url), waitedMs: wait }, 'mqtt budget source: not connected yet, retrying in the background');
  }

  protected async onStop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await c.endAsync(true);
  }

  private onMessage(topic: string, payload: Buffer): void {
    const kw = parseMqttPayload(payload);
    if (typeof kw === 'string') {
      this.rejected++;
      this.logger.warn({ topic, payload: payload.subarray(0, 64).toString('utf8'), rejected: this.rejected }, `mqtt budget source: ${kw}`);
      return;
    }
    this.publish(kw, this.opts.ttlS * 1000);
  }
}

/** kW, or a message saying why the payload is not a budget. */
export function parseMqttPayload(payload: Buffer): number | string {
  if (payload.length > MAX_PAYLOAD) return `payload longer than ${MAX_PAYLOAD} bytes`;
  const text = payload.toString('utf8').trim();
  let value: unknown = text === '' ? NaN : Number(text);
  if (typeof value === 'number' && Number.isNaN(value) && text.startsWith('{')) {
    try {
      const obj = JSON.parse(text) as unknown;
      value = obj && typeof obj === 'object' && !Array.isArray(obj) ? (obj as Record<string, unknown>)['kw'] : undefined;
    } catch {
      return 'payload is neither a number nor JSON { "kw": n }';
    }
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'payload is neither a number nor JSON { "kw": n }';
  if (value < 0) return `kw must be >= 0, got ${value}`;
  return value;
}

/** Drops credentials from a broker URL before it is logged. */
function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//[redacted]@');
}
