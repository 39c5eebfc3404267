CREATE TABLE `alerts` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`severity` text NOT NULL,
	`subject_type` text NOT NULL,
	`subject_id` text NOT NULL,
	`subject_name` text,
	`message` text NOT NULL,
	`details` text,
	`occurrences` integer DEFAULT 1 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`resolved_at` integer,
	`acknowledged_at` integer,
	`acknowledged_by` text
);
--> statement-breakpoint
CREATE INDEX `alerts_subject_idx` ON `alerts` (`subject_type`,`subject_id`,`kind`);--> statement-breakpoint
CREATE INDEX `alerts_created_idx` ON `alerts` (`created_at`);--> statement-breakpoint
CREATE TABLE `notification_channels` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`type` text NOT NULL,
	`config` text NOT NULL,
	`events` text NOT NULL,
	`enabled` integer NOT NULL,
	`last_delivery_at` integer,
	`last_delivery_ok` integer,
	`last_delivery_error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `schedule_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`schedule_id` text NOT NULL,
	`due_at` integer NOT NULL,
	`status` text NOT NULL,
	`reason` text NOT NULL,
	`backup_id` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`delay_ms` integer,
	`error` text,
	`owner` text,
	`heartbeat_at` integer,
	`started_at` integer NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`schedule_id`) REFERENCES `schedules`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `schedule_runs_due_idx` ON `schedule_runs` (`schedule_id`,`due_at`);--> statement-breakpoint
CREATE INDEX `schedule_runs_status_idx` ON `schedule_runs` (`status`);--> statement-breakpoint
CREATE TABLE `schedules` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`project_id` text NOT NULL,
	`cron` text NOT NULL,
	`timezone` text NOT NULL,
	`backup_type` text NOT NULL,
	`compression` text NOT NULL,
	`include_migration_history` integer,
	`destination_ids` text NOT NULL,
	`retention` text,
	`drill_every` integer,
	`drill_database_url` text,
	`enabled` integer NOT NULL,
	`enabled_at` integer,
	`next_run_at` integer,
	`last_run_at` integer,
	`last_status` text,
	`last_backup_id` text,
	`last_success_at` integer,
	`consecutive_failures` integer DEFAULT 0 NOT NULL,
	`completed_runs` integer DEFAULT 0 NOT NULL,
	`created_by` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `schedules_project_idx` ON `schedules` (`project_id`);--> statement-breakpoint
CREATE INDEX `schedules_due_idx` ON `schedules` (`enabled`,`next_run_at`);