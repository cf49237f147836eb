ALTER TABLE `resource_pool` ADD `source_key` text;--> statement-breakpoint
ALTER TABLE `resource_pool` ADD `source_etag` text;--> statement-breakpoint
ALTER TABLE `resource_pool` ADD `source_offset` integer;
