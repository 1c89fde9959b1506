/**
 * Features (NVMe base specification 1.4, section 5.21.1): Set Features and Get Features, and the
 * temperature thresholds whose crossing is a SMART critical warning and an asynchronous event.
 */
import { CommandStatus, GenericStatus, SUCCESS as OK, commandError, genericError, type Submission } from './entries.js';
import { AsyncEventInfo, AsyncEventType, CriticalWarning, LogPage } from './logs.js';
import { answer, raiseEvent } from './completions.js';
import type { Controller, ControllerEnv, Features } from './state.js';

/** Feature identifiers. */
export const FeatureId = {
  ARBITRATION: 0x01,
  POWER_MANAGEMENT: 0x02,
  TEMPERATURE_THRESHOLD: 0x04,
  ERROR_RECOVERY: 0x05,
  VOLATILE_WRITE_CACHE: 0x06,
  NUMBER_OF_QUEUES: 0x07,
  INTERRUPT_COALESCING: 0x08,
  INTERRUPT_VECTOR_CONFIG: 0x09,
  WRITE_ATOMICITY: 0x0a,
  ASYNC_EVENT_CONFIG: 0x0b,
} as const;

const INVALID_FIELD = genericError(GenericStatus.INVALID_FIELD);

/** The SMART critical warning bits now: the temperature one when the composite temperature crosses a threshold. */
export const criticalWarning = (s: Controller, env: ControllerEnv): number => {
  const t = s.features.temperature[0]!;
  return env.temperature > t.over || env.temperature < t.under ? CriticalWarning.TEMPERATURE : 0;
};

/** Events a new state of the thresholds raises (an over- or under-temperature with its event enabled). */
const temperatureEvent = (s: Controller, env: ControllerEnv): Controller =>
  (s.features.asyncEvents & CriticalWarning.TEMPERATURE) !== 0 && criticalWarning(s, env) !== 0
    ? raiseEvent(s, { type: AsyncEventType.HEALTH, info: AsyncEventInfo.TEMPERATURE_THRESHOLD, log: LogPage.HEALTH })
    : s;

export const setFeatures = (s: Controller, cmd: Submission, env: ControllerEnv): Controller => {
  const fid = cmd.cdw[0] & 0xff;
  const value = cmd.cdw[1];
  if ((cmd.cdw[0] & 0x80000000) !== 0) return answer(s, cmd, commandError(CommandStatus.FEATURE_NOT_SAVEABLE));
  const set = (patch: Partial<Features>, dw0 = 0) => answer({ ...s, features: { ...s.features, ...patch } }, cmd, OK, dw0);
  switch (fid) {
    case FeatureId.ARBITRATION:
      return set({ arbitration: value });
    case FeatureId.POWER_MANAGEMENT:
      // One power state (NPSS 0): PS0.
      return (value & 0x1f) === 0 ? set({ powerManagement: value }) : answer(s, cmd, INVALID_FIELD);
    case FeatureId.TEMPERATURE_THRESHOLD: {
      const sensor = (value >>> 16) & 0xf;
      const under = ((value >>> 20) & 0x3) === 1;
      if (sensor > 1 || ((value >>> 20) & 0x3) > 1) return answer(s, cmd, INVALID_FIELD);
      const temperature = s.features.temperature.map((t, i) => (i !== sensor ? t : under ? { ...t, under: value & 0xffff } : { ...t, over: value & 0xffff }));
      return temperatureEvent(set({ temperature }), env);
    }
    case FeatureId.ERROR_RECOVERY:
      return set({ errorRecovery: value });
    case FeatureId.VOLATILE_WRITE_CACHE:
      return set({ volatileWriteCache: (value & 1) !== 0 });
    case FeatureId.NUMBER_OF_QUEUES: {
      const sq = value & 0xffff;
      const cq = value >>> 16;
      if (sq === 0xffff || cq === 0xffff) return answer(s, cmd, INVALID_FIELD);
      // Only before any I/O queue exists (the admin queues are queue 0).
      if (s.sqs.size > 1 || s.cqs.size > 1) return answer(s, cmd, genericError(GenericStatus.COMMAND_SEQUENCE_ERROR));
      const queues = { sq: Math.min(sq + 1, env.identity.queues), cq: Math.min(cq + 1, env.identity.queues) };
      return set({ queues }, (queues.sq - 1) | ((queues.cq - 1) << 16));
    }
    case FeatureId.INTERRUPT_COALESCING:
      return set({ coalescing: value & 0xffff });
    case FeatureId.INTERRUPT_VECTOR_CONFIG: {
      const vector = value & 0xffff;
      if (vector >= env.vectors) return answer(s, cmd, INVALID_FIELD);
      return set({ vectorConfig: { ...s.features.vectorConfig, [vector]: value & 0x1ffff } });
    }
    case FeatureId.WRITE_ATOMICITY:
      return set({ writeAtomicity: value & 1 });
    case FeatureId.ASYNC_EVENT_CONFIG:
      return temperatureEvent(set({ asyncEvents: value }), env);
    default:
      return answer(s, cmd, INVALID_FIELD);
  }
};

/** A feature's value as Get Features reports it (undefined: no such feature). */
const featureValue = (f: Features, fid: number, cdw11: number, env: ControllerEnv): number | undefined => {
  switch (fid) {
    case FeatureId.ARBITRATION:
      return f.arbitration;
    case FeatureId.POWER_MANAGEMENT:
      return f.powerManagement;
    case FeatureId.TEMPERATURE_THRESHOLD: {
      const sensor = (cdw11 >>> 16) & 0xf;
      const under = ((cdw11 >>> 20) & 0x3) === 1;
      const t = f.temperature[sensor];
      return t === undefined ? undefined : ((under ? t.under : t.over) | (cdw11 & 0x3f0000)) >>> 0;
    }
    case FeatureId.ERROR_RECOVERY:
      return f.errorRecovery;
    case FeatureId.VOLATILE_WRITE_CACHE:
      return f.volatileWriteCache ? 1 : 0;
    case FeatureId.NUMBER_OF_QUEUES:
      return ((f.queues.sq - 1) | ((f.queues.cq - 1) << 16)) >>> 0;
    case FeatureId.INTERRUPT_COALESCING:
      return f.coalescing;
    case FeatureId.INTERRUPT_VECTOR_CONFIG: {
      const vector = cdw11 & 0xffff;
      return vector < env.vectors ? (f.vectorConfig[vector] ?? vector) : undefined;
    }
    case FeatureId.WRITE_ATOMICITY:
      return f.writeAtomicity;
    case FeatureId.ASYNC_EVENT_CONFIG:
      return f.asyncEvents;
    default:
      return undefined;
  }
};

export const getFeatures = (s: Controller, cmd: Submission, env: ControllerEnv, defaults: Features): Controller => {
  const fid = cmd.cdw[0] & 0xff;
  const select = (cmd.cdw[0] >>> 8) & 0x7;
  // Supported capabilities: every feature is changeable, none saveable or namespace specific.
  if (select === 3) return featureValue(defaults, fid, cmd.cdw[1], env) === undefined ? answer(s, cmd, INVALID_FIELD) : answer(s, cmd, OK, 0b100);
  if (select > 3) return answer(s, cmd, INVALID_FIELD);
  // Saved values are the defaults: nothing is saveable.
  const value = featureValue(select === 0 ? s.features : defaults, fid, cmd.cdw[1], env);
  return value === undefined ? answer(s, cmd, INVALID_FIELD) : answer(s, cmd, OK, value);
};

