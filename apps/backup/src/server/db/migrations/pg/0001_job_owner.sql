ALTER TABLE "backups" ADD COLUMN "owner" text;--> statement-breakpoint
ALTER TABLE "backups" ADD COLUMN "heartbeat_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "restores" ADD COLUMN "owner" text;--> statement-breakpoint
ALTER TABLE "restores" ADD COLUMN "heartbeat_at" timestamp with time zone;