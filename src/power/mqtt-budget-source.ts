import { LogLimiter } from '../observability/log-limiter.js';
import type { MqttClient } from 'mqtt';
import { connectMqtt } from '../net/mqtt-connect.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { Logger } from '../observability/logger.js';
import { redactText } from '../redact.js';
import { parseBudgetPayload } from './budget-payload.js';
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

/**
 * Budget from an energy-management system over MQTT. Payloads (budget-payload.ts):
 * a bare number ("123.4", kW), a JSON string, `{ "kw": n }`, `{ "value": n,
 * "unit": "kW" | "MW" | "W" }`, optionally with `"ttlS"`. A retained message is
 * applied at subscribe like any other (MQTT says nothing of its age: publishers
 * that retain should send `ttlS`). Bad payloads are counted and logged
 * (truncated), never applied, and leave the last reading's TTL running.
 * Negative values (a meter's import) apply 0 kW. The client reconnects by
 * itself; while it is away the readings age out and the guard takes over.
 */
export class MqttBudgetSource extends BaseBudgetSource {
  readonly name = 'mqtt';
  /** Payloads rejected since start. */
  rejected = 0;
  /** Negative values applied as 0 kW since start. */
  negatives = 0;
  private inNegativeRun = false;
  private client: MqttClient | undefined;
  /** A publisher sending bad payloads, or a broker down (an error every reconnect), warns a few times a minute, with a count (issue 11). */
  private readonly logLimiter: LogLimiter;

  constructor(
    private readonly opts: MqttOptions,
    clock: Clock,
    private readonly logger: Logger,
  ) {
    super(clock);
    this.logLimiter = new LogLimiter({ clock });
  }

  protected async onStart(): Promise<void> {
    const client = connectMqtt(this.opts);
    this.client = client;
    client.on('error', (err) => this.logLimiter.log(this.logger, 'warn', 'broker', 'client error', { err: err.message, url: redactText(this.opts.url) }, 'mqtt budget source: client error'));
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
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = this.clock.setTimeout(() => resolve('timeout'), wait)));
    const r = await Promise.race([subscribed, timedOut]);
    this.clock.clearTimeout(timer);
    if (r === 'timeout') this.logger.warn({ url: redactText(this.opts.url), waitedMs: wait }, 'mqtt budget source: not connected yet, retrying in the background');
  }

  protected async onStop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await c.endAsync(true);
  }

  private onMessage(topic: string, payload: Buffer): void {
    const v = parseBudgetPayload(payload);
    if (!v.ok) {
      this.rejected++;
      this.logLimiter.log(this.logger, 'warn', topic.slice(0, 200), 'rejected payload', { topic, payload: payload.subarray(0, 64).toString('utf8'), rejected: this.rejected }, `mqtt budget source: ${v.reason}`);
      return;
    }
    if (v.negative !== undefined) {
      this.negatives++;
      // Once per run of negatives: a meter at night would otherwise warn every message.
      const level = this.inNegativeRun ? 'debug' : 'warn';
      this.logger[level]({ topic, value: v.negative, negatives: this.negatives }, 'mqtt budget source: negative value (import), applied as 0 kW');
    }
    this.inNegativeRun = v.negative !== undefined;
    this.publish(v.kw, (v.ttlS ?? this.opts.ttlS) * 1000, v.ahead);
  }
}
