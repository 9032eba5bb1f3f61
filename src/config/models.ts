import type { ModelConfig } from './schema.js';

/**
 * Built-in miner profiles. Every figure is a published nominal value
 * (Canaan's spec-sheet class numbers), never a measurement: replace them
 * with site measurements in `fleet.models`.
 *
 * The A1566HA profile has three work modes (WORKMODE 0/1/2). The others
 * have one mode and no `workmode`: on the A10..A14 generations a workmode
 * change takes effect only after a reboot (A10 manual section 2.4, SOURCES.md
 * 5), so the scheduler only switches them on and off. Standby draws are the
 * controller and fans in soft-off; the Avalon Q capture shows 146 W at the
 * wall while soft-off.
 *
 * `avalon-a1566ha` and `generic` come first: messages list the profiles in
 * this order.
 */
export const BUILTIN_MODELS: Record<string, ModelConfig> = {
  'avalon-a1566ha': {
    standbyKw: 0.15,
    modes: [
      { name: 'eco', kw: 6.5, ths: 390, workmode: 0 },
      { name: 'standard', kw: 7.3, ths: 440, workmode: 1 },
      { name: 'super', kw: 8.1, ths: 480, workmode: 2 },
    ],
    rampUpS: 30,
    softoffDelayS: 5,
    nominal: true,
  },
  generic: {
    standbyKw: 0.05,
    modes: [{ name: 'normal', kw: 3.5, ths: 200 }],
    rampUpS: 30,
    softoffDelayS: 5,
    nominal: true,
  },
  'avalon-a1246': single(3.42, 90, 0.12),
  'avalon-a1346': single(3.3, 110, 0.12),
  'avalon-a1366': single(3.25, 130, 0.12),
  'avalon-a1466': single(3.23, 150, 0.12),
  'avalon-a1566': single(3.42, 185, 0.12),
  'avalon-q': single(1.674, 90, 0.15),
  'avalon-mini3': single(0.8, 37.5, 0.03),
  'avalon-nano3': single(0.14, 4, 0.01),
  'avalon-nano3s': single(0.14, 6, 0.01),
};

function single(kw: number, ths: number, standbyKw: number): ModelConfig {
  return { standbyKw, modes: [{ name: 'normal', kw, ths }], rampUpS: 30, softoffDelayS: 5, nominal: true };
}
