/**
 * The composition root: the engines one server process shares between its sessions: targets
 * (the sandbox VM, the host), the kernel, the scheduler library, the monitors. Created once;
 * closed on exit. Tools see them through tools/define.ts's ToolEngines.
 */
import { ensureKernel, type KernelInfo } from '../core/kernel/fetch.js';
import { LibraryStore } from '../core/library/store.js';
import { Monitor } from '../core/monitor/monitor.js';
import type { MonitorConfig, MonitorEvent, MonitorStatus } from '../core/monitor/rules.js';
import { getBuild } from '../core/builds/build.js';
import type { TargetKind } from '../core/model/target.js';
import { TargetManager, type JobHints, type TargetManagerOptions } from '../core/targets/manager.js';
import type { Actor } from '../core/targets/audit.js';
import type { ToolEngines } from '../tools/define.js';

export type MonitorListener = (target: TargetKind, event: MonitorEvent, status: MonitorStatus) => void;

export interface EngineOptions extends TargetManagerOptions {
  log?: (line: string) => void;
  /** Host command the operator wants run on every monitor alert, regression and rollback (scx-mcp serve --monitor-hook). */
  monitorHook?: string;
}

export class ScxEngines implements ToolEngines {
  readonly targets: TargetManager;
  private kernelP?: Promise<KernelInfo>;
  private libraryP?: Promise<LibraryStore>;
  readonly monitors = new Map<TargetKind, Monitor>();
  private readonly listeners = new Set<MonitorListener>();

  constructor(readonly opts: EngineOptions = {}) {
    this.targets = new TargetManager(opts);
  }

  /** The sandbox kernel (fetched on first use, then cached). */
  kernel(): Promise<KernelInfo> {
    this.kernelP ??= ensureKernel({ log: this.opts.log }).catch((e) => {
      this.kernelP = undefined;
      throw e;
    });
    return this.kernelP;
  }

  /** The scheduler library ($SCX_MCP_LIBRARY, seeded from the repo's library/). */
  library(): Promise<LibraryStore> {
    this.libraryP ??= LibraryStore.open().catch((e) => {
      this.libraryP = undefined;
      throw e;
    });
    return this.libraryP;
  }

  /** Subscribe to monitor events (each MCP session forwards them to its client); returns the unsubscribe. */
  onMonitorEvent(l: MonitorListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Deploy with a monitor: baseline, switch, watch, roll back on regression (recorded as a negative result). */
  async deployMonitored(buildId: string, target: TargetKind, config: MonitorConfig, opts: { hints?: JobHints; actor?: Actor } = {}): Promise<MonitorStatus> {
    this.monitors.get(target)?.stop();
    if (this.opts.monitorHook && !config.hook) config = { ...config, hook: this.opts.monitorHook };
    const monitor = new Monitor(target, this.targets, config, {
      actor: opts.actor,
      onEvent: (e, st) => {
        for (const l of this.listeners) l(target, e, st);
      },
      recordNegative: async ({ buildId: id, reason, outcome, trigger, metrics, baseline }) => {
        const build = await getBuild(id);
        if (!build.origin.entry) return; // an agent's own source: no entry to attach it to
        await (
          await this.library()
        ).recordResult({
          entry: build.origin.entry,
          version: build.origin.version,
          buildId: id,
          params: build.params,
          target,
          workload: {
            name: config.workload?.name ?? `monitored deployment on ${target}`,
            description: reason,
            ...(config.workload?.fingerprint ? { fingerprint: config.workload.fingerprint } : {}),
          },
          metrics,
          baseline,
          outcome, // from the rollback's trigger (monitor/rules.ts rollbackOutcome), not from its text
          note: `${trigger === 'vm_died' ? 'the monitored deployment ended' : 'automatic rollback by the monitor'}: ${reason}`,
          at: new Date().toISOString(),
        });
      },
    });
    this.monitors.set(target, monitor);
    return monitor.deployAndWatch(buildId, { hints: opts.hints });
  }

  stopMonitor(target: TargetKind): void {
    this.monitors.get(target)?.stop();
  }

  async close(): Promise<void> {
    for (const m of this.monitors.values()) m.stop();
    await this.targets.close();
  }
}
