import type { ModelConfig } from '../config/schema.js';

/**
 * Built-in miner profiles. The A1566HA figures are published nominal values
 * (Canaan's spec sheet class numbers: ~8.1 kW / 480 TH/s at the top mode);
 * replace them with site measurements in `fleet.models`.
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
};
