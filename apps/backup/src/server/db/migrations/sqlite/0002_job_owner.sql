ALTER TABLE `backups` ADD `owner` text;--> statement-breakpoint
ALTER TABLE `backups` ADD `heartbeat_at` integer;--> statement-breakpoint
ALTER TABLE `restores` ADD `owner` text;--> statement-breakpoint
ALTER TABLE `restores` ADD `heartbeat_at` integer;