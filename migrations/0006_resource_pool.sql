CREATE TABLE `resource_pool` (
	`scope` text NOT NULL,
	`sha1` text NOT NULL,
	`size` integer NOT NULL,
	`compressed_size` integer NOT NULL,
	`crc32` integer NOT NULL,
	`method` integer NOT NULL,
	`created_at` text NOT NULL,
	`last_used_at` text NOT NULL,
	PRIMARY KEY(`scope`, `sha1`)
);
--> statement-breakpoint
CREATE INDEX `resource_pool_last_used_idx` ON `resource_pool` (`last_used_at`);--> statement-breakpoint
CREATE INDEX `resource_pool_sha1_idx` ON `resource_pool` (`sha1`,`scope`);--> statement-breakpoint
CREATE INDEX `resource_pool_crc_idx` ON `resource_pool` (`scope`,`crc32`,`size`);--> statement-breakpoint
ALTER TABLE `packages` ADD `pooled_at` text;--> statement-breakpoint
CREATE INDEX `packages_unpooled_idx` ON `packages` (`updated_at`) WHERE state = 'READY' AND type = 'bits' AND pooled_at IS NULL;
