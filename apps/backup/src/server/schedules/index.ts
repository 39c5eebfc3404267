/**
 * @module server/schedules
 * Everything issue 12 adds to `stowage serve`, built from the server's services: the schedule
 * service, the scheduler loop, alerts, notification channels, health checks and their routes.
 * server.ts creates it once, adds `routes` to the app, `start`s it after the listener's services
 * exist, and on close calls `stop` (timers) before the job runner stops and `drain` after.
 * Settings from the environment: SMTP_URL, SMTP_FROM, DESTINATION_CHECK_INTERVAL.
 */
import { HealthChecker, parseInterval } from "../alerts/health.ts";
import { AlertService } from "../alerts/service.ts";
import type { RouteModule } from "../app.ts";
import type { Services } from "../context.ts";
import { ServerError } from "../errors.ts";
import { NotificationService, type NotificationSettings } from "../notifications/service.ts";
import { alertRoutes } from "../routes/alerts.ts";
import { notificationRoutes } from "../routes/notifications.ts";
import { scheduleRoutes } from "../routes/schedules.ts";
import { type Clock, systemClock } from "./clock.ts";
import { Scheduler, type SchedulerOptions } from "./scheduler.ts";
import { ScheduleService } from "./service.ts";

export interface SchedulingOptions {
  /** Injected clock (tests); default the system clock. */
  readonly clock?: Clock;
  /** Start the scheduler loop with the server (default true). */
  readonly autoStart?: boolean;
  /** Run the periodic health checks (default true). */
  readonly healthChecks?: boolean;
  readonly scheduler?: Omit<SchedulerOptions, "clock">;
  readonly notifications?: Omit<NotificationSettings, "smtpUrl" | "smtpFrom">;
}

export interface Scheduling {
  readonly clock: Clock;
  readonly schedules: ScheduleService;
  readonly scheduler: Scheduler;
  readonly alerts: AlertService;
  readonly notifications: NotificationService;
  readonly health: HealthChecker;
  readonly routes: RouteModule[];
  start(): Promise<void>;
  stop(): Promise<void>;
  drain(): Promise<void>;
}

export function createScheduling(services: Services, env: NodeJS.ProcessEnv, options: SchedulingOptions = {}): Scheduling {
  const clock = options.clock ?? systemClock;
  let checkInterval: number;
  try {
    checkInterval = parseInterval(env.DESTINATION_CHECK_INTERVAL, 3_600_000, "DESTINATION_CHECK_INTERVAL");
  } catch (error) {
    throw new ServerError("CONFIG", (error as Error).message);
  }
  const { store, box, audit, log } = services;
  const alerts = new AlertService(store, audit, clock);
  const notifications = new NotificationService(store, box, audit, log, clock, {
    smtpUrl: env.SMTP_URL || undefined,
    smtpFrom: env.SMTP_FROM || undefined,
    ...options.notifications,
  });
  let scheduler: Scheduler | undefined;
  const schedules = new ScheduleService(store, box, audit, services.projects, clock, () => scheduler?.wake());
  scheduler = new Scheduler(
    {
      store,
      log,
      jobs: services.jobs,
      queue: services.queue,
      instanceId: services.instanceId,
      backups: services.backups,
      destinations: services.destinations,
      audit,
      schedules,
      alerts,
      notifications,
    },
    { clock, ...options.scheduler },
  );
  const health = new HealthChecker(
    { store, log, destinations: services.destinations, projects: services.projects, alerts, notifications },
    clock,
    checkInterval,
  );
  const sch = scheduler;
  return {
    clock,
    schedules,
    scheduler: sch,
    alerts,
    notifications,
    health,
    routes: [
      (app, s) => scheduleRoutes(app, s, schedules, sch),
      (app, s) => notificationRoutes(app, s, notifications),
      (app, s) => alertRoutes(app, s, alerts),
    ],
    async start() {
      if (options.autoStart !== false) await sch.start();
      if (options.healthChecks !== false) health.start();
    },
    async stop() {
      await sch.stop();
      await health.stop();
    },
    async drain() {
      await sch.drain();
      await Promise.race([notifications.idle(), new Promise((r) => setTimeout(r, 5000).unref())]);
      notifications.close();
    },
  };
}
