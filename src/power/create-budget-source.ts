import type { Clock } from '../clock.js';
import type { BudgetConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { GuardOptions } from './budget-guard.js';
import type { BudgetSource } from './budget-source.js';
import { HttpBudgetSource } from './http-budget-source.js';
import { MqttBudgetSource } from './mqtt-budget-source.js';
import { ScheduleBudgetSource } from './schedule-budget-source.js';
import { StaticBudgetSource } from './static-budget-source.js';

/** The source named by `budget.source`, plus the guard options from the same section. */
export async function createBudgetSource(cfg: BudgetConfig, clock: Clock, logger: Logger): Promise<{ source: BudgetSource; guard: GuardOptions }> {
  const guard: GuardOptions = { holdLastS: cfg.holdLastS, failsafeKw: cfg.failsafeKw };
  switch (cfg.source) {
    case 'static':
      return { source: new StaticBudgetSource(cfg.kw, cfg.ttlS, clock), guard };
    case 'http':
      return { source: new HttpBudgetSource(cfg.ttlS, cfg.initialKw, clock), guard };
    case 'schedule': {
      const source = await ScheduleBudgetSource.fromFile(
        cfg.file,
        { interpolation: cfg.interpolation, speed: cfg.speed, loop: cfg.loop, ttlS: cfg.ttlS, timeZone: cfg.timezone },
        clock,
      );
      for (const w of source.warnings) logger.warn({ file: cfg.file }, `budget schedule: ${w}`);
      const span = source.realTimeWindow();
      const now = clock.now();
      if (span && span.toMs <= now) {
        logger.warn({ file: cfg.file, endedAt: new Date(span.toMs).toISOString() }, 'budget schedule: the file ended before now; no reading, the fail-safe budget applies');
      } else if (span && span.fromMs > now) {
        logger.info({ file: cfg.file, startsAt: new Date(span.fromMs).toISOString() }, 'budget schedule: the file starts later; the fail-safe budget applies until then');
      }
      return { source, guard };
    }
    case 'mqtt':
      return {
        source: new MqttBudgetSource(
          { url: cfg.url, topic: cfg.topic, ttlS: cfg.ttlS, ...(cfg.username !== undefined ? { username: cfg.username } : {}), ...(cfg.password !== undefined ? { password: cfg.password } : {}) },
          clock,
          logger,
        ),
        guard,
      };
  }
}
