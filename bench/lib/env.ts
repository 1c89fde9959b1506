/** The environment a benchmark ran in, printed first and stored with every result. */
import os from 'node:os';

/** What the figures depend on: runtime, CPU, and how busy the machine was. */
export interface BenchEnvironment {
  readonly node: string;
  readonly platform: string;
  readonly cpuModel: string;
  readonly cores: number;
  /** 1-minute load average when the run started (a shared machine drifts). */
  readonly loadAverage: number;
}

/** Reads the environment now. */
export const environment = (): BenchEnvironment => {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown cpu',
    cores: cpus.length,
    loadAverage: os.loadavg()[0] ?? 0,
  };
};

/** One line for the top of a report. */
export const environmentLine = (env: BenchEnvironment): string =>
  `node ${env.node}, ${env.platform}, ${env.cpuModel}, ${env.cores} cores, load average ${env.loadAverage.toFixed(2)}`;
