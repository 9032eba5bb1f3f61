import type { MqttClient } from 'mqtt';
import { every, type Clock, type Repeater } from '../clock.js';
import { connectMqtt } from '../net/mqtt-connect.js';
import { LogLimiter } from '../observability/log-limiter.js';
import type { Logger } from '../observability/logger.js';
import type { SiteStatusSource } from './snapshots.js';

/**
 * Site status to MQTT (issue 12 item 9): every `intervalS` the budget, the
 * planned and measured draw and the fleet's flexibility (kW it can shed
 * within the cut deadline, add within 1 and 5 minutes) go to one topic as
 * JSON, retained by default so a subscriber that connects later sees the
 * last state at once. The EMS or the utility's aggregator reads what the
 * fleet can offer without polling the HTTP API. The client reconnects by
 * itself; a publish while it is away is dropped (the next one carries the
 * then current state), so nothing queues up.
 */
export interface MqttStatusOptions {
  url: string;
  topic: string;
  intervalS: number;
  retain: boolean;
  username?: string;
  password?: string;
}

/** The JSON published, one message per interval. */
export interface PublishedStatus {
  atMs: number;
  /** `lowAhead` while a sender's look-ahead lasts (BudgetView.lowAhead). */
  budget: { kw: number; status: string; source: string; lowAhead?: { kw: number; untilMs: number } };
  plannedKw: number;
  measuredKw: number;
  flexibility: { shedKw: number; shedWithinS: number; add1MinKw: number; add5MinKw: number } | null;
}

export function statusMessage(source: SiteStatusSource): PublishedStatus {
  const s = source.status();
  return {
    atMs: s.atMs,
    budget: { kw: s.budget.kw, status: s.budget.status, source: s.budget.source, ...(s.budget.lowAhead ? { lowAhead: s.budget.lowAhead } : {}) },
    plannedKw: s.plannedKw,
    measuredKw: s.measuredKw,
    flexibility: s.flexibility ?? null,
  };
}

export class MqttStatusPublisher {
  private client: MqttClient | undefined;
  private timer: Repeater | undefined;
  /** Messages published and dropped (client away) since start. */
  published = 0;
  dropped = 0;

  private readonly logLimiter: LogLimiter;

  constructor(
    private readonly opts: MqttStatusOptions,
    private readonly source: SiteStatusSource,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {
    this.logLimiter = new LogLimiter({ clock });
  }

  start(): void {
    if (this.client) return;
    const client = connectMqtt(this.opts);
    this.client = client;
    // The URL is not logged: it may carry credentials. A broker that is away errs at every
    // reconnect (2 s): rate-limited like every repeated warning.
    client.on('error', (err) =>
      this.logLimiter.log(this.logger, 'warn', 'broker', 'client error', { err: err.message, topic: this.opts.topic }, 'mqtt status publisher: client error'),
    );
    client.on('connect', () => this.publish());
    this.timer = every(this.clock, this.opts.intervalS * 1000, () => this.publish()).unref();
  }

  /** Publishes the current status now (also on every (re)connect). */
  publish(): void {
    const client = this.client;
    if (!client) return;
    if (!client.connected) {
      this.dropped++;
      return;
    }
    let text: string;
    try {
      text = JSON.stringify(statusMessage(this.source));
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'mqtt status publisher: status unavailable');
      return;
    }
    client.publish(this.opts.topic, text, { qos: 0, retain: this.opts.retain });
    this.published++;
  }

  async stop(): Promise<void> {
    this.timer?.stop();
    this.timer = undefined;
    const client = this.client;
    this.client = undefined;
    if (client) await client.endAsync(true).catch(() => undefined);
  }
}
