-- drizzle-kit quotes expression index columns wrongly; the two coalesce() indexes below are fixed by hand.
CREATE TABLE `annotations` (
	`resource_type` text NOT NULL,
	`resource_guid` text NOT NULL,
	`key_prefix` text DEFAULT '' NOT NULL,
	`key_name` text NOT NULL,
	`value` text,
	PRIMARY KEY(`resource_guid`, `key_prefix`, `key_name`)
);
--> statement-breakpoint
CREATE TABLE `apps` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`guid` text NOT NULL,
	`name` text NOT NULL,
	`space_guid` text NOT NULL,
	`state` text DEFAULT 'STOPPED' NOT NULL,
	`lifecycle_type` text NOT NULL,
	`lifecycle_data` text DEFAULT '{}' NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text,
	FOREIGN KEY (`space_guid`) REFERENCES `spaces`(`guid`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `apps_guid_unique` ON `apps` (`guid`);--> statement-breakpoint
CREATE UNIQUE INDEX `apps_space_name_idx` ON `apps` (`space_guid`,`name`);--> statement-breakpoint
CREATE INDEX `apps_created_at_idx` ON `apps` (`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `audit_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`guid` text NOT NULL,
	`type` text NOT NULL,
	`actor_guid` text NOT NULL,
	`actor_type` text NOT NULL,
	`actor_name` text,
	`actor_username` text,
	`actee_guid` text NOT NULL,
	`actee_type` text NOT NULL,
	`actee_name` text,
	`space_guid` text,
	`organization_guid` text,
	`data` text DEFAULT '{}' NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `audit_events_guid_unique` ON `audit_events` (`guid`);--> statement-breakpoint
CREATE INDEX `audit_events_created_at_idx` ON `audit_events` (`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `audit_events_actee_idx` ON `audit_events` (`actee_guid`);--> statement-breakpoint
CREATE INDEX `audit_events_space_idx` ON `audit_events` (`space_guid`);--> statement-breakpoint
CREATE TABLE `buildpacks` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`guid` text NOT NULL,
	`name` text NOT NULL,
	`stack` text,
	`lifecycle` text DEFAULT 'buildpack' NOT NULL,
	`position` integer NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`locked` integer DEFAULT false NOT NULL,
	`filename` text,
	`bits_key` text,
	`sha256` text,
	`created_at` text NOT NULL,
	`updated_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `buildpacks_guid_unique` ON `buildpacks` (`guid`);--> statement-breakpoint
CREATE INDEX `buildpacks_lifecycle_position_idx` ON `buildpacks` (`lifecycle`,`position`);--> statement-breakpoint
CREATE INDEX `buildpacks_name_idx` ON `buildpacks` (`name`,`stack`,`lifecycle`);--> statement-breakpoint
CREATE UNIQUE INDEX `buildpacks_name_stack_lifecycle_idx` ON `buildpacks` (`name`,coalesce(`stack`, ''),`lifecycle`);--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`guid` text NOT NULL,
	`operation` text NOT NULL,
	`state` text NOT NULL,
	`resource_type` text,
	`resource_guid` text,
	`errors` text DEFAULT '[]' NOT NULL,
	`warnings` text DEFAULT '[]' NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `jobs_guid_unique` ON `jobs` (`guid`);--> statement-breakpoint
CREATE INDEX `jobs_state_idx` ON `jobs` (`state`,`created_at`);--> statement-breakpoint
CREATE TABLE `labels` (
	`resource_type` text NOT NULL,
	`resource_guid` text NOT NULL,
	`key_prefix` text DEFAULT '' NOT NULL,
	`key_name` text NOT NULL,
	`value` text,
	PRIMARY KEY(`resource_guid`, `key_prefix`, `key_name`)
);
--> statement-breakpoint
CREATE INDEX `labels_lookup_idx` ON `labels` (`resource_type`,`key_prefix`,`key_name`,`value`);--> statement-breakpoint
CREATE TABLE `organizations` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`guid` text NOT NULL,
	`name` text NOT NULL,
	`suspended` integer DEFAULT false NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `organizations_guid_unique` ON `organizations` (`guid`);--> statement-breakpoint
CREATE UNIQUE INDEX `organizations_name_unique` ON `organizations` (`name`);--> statement-breakpoint
CREATE INDEX `organizations_created_at_idx` ON `organizations` (`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `packages` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`guid` text NOT NULL,
	`app_guid` text NOT NULL,
	`type` text NOT NULL,
	`state` text NOT NULL,
	`bits_key` text,
	`bits_size` integer,
	`sha1` text,
	`sha256` text,
	`error` text,
	`docker_image` text,
	`docker_username` text,
	`docker_password` text,
	`created_at` text NOT NULL,
	`updated_at` text,
	FOREIGN KEY (`app_guid`) REFERENCES `apps`(`guid`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `packages_guid_unique` ON `packages` (`guid`);--> statement-breakpoint
CREATE INDEX `packages_created_at_idx` ON `packages` (`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `packages_app_created_at_idx` ON `packages` (`app_guid`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `packages_state_idx` ON `packages` (`state`,`updated_at`);--> statement-breakpoint
CREATE TABLE `roles` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`guid` text NOT NULL,
	`type` text NOT NULL,
	`user_guid` text NOT NULL,
	`organization_guid` text,
	`space_guid` text,
	`created_at` text NOT NULL,
	`updated_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `roles_guid_unique` ON `roles` (`guid`);--> statement-breakpoint
CREATE UNIQUE INDEX `roles_unique_idx` ON `roles` (`type`,`user_guid`,coalesce(`organization_guid`, ''),coalesce(`space_guid`, ''));--> statement-breakpoint
CREATE INDEX `roles_user_idx` ON `roles` (`user_guid`,`type`);--> statement-breakpoint
CREATE INDEX `roles_space_idx` ON `roles` (`space_guid`);--> statement-breakpoint
CREATE INDEX `roles_org_idx` ON `roles` (`organization_guid`);--> statement-breakpoint
CREATE TABLE `spaces` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`guid` text NOT NULL,
	`name` text NOT NULL,
	`organization_guid` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text,
	FOREIGN KEY (`organization_guid`) REFERENCES `organizations`(`guid`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `spaces_guid_unique` ON `spaces` (`guid`);--> statement-breakpoint
CREATE UNIQUE INDEX `spaces_org_name_idx` ON `spaces` (`organization_guid`,`name`);--> statement-breakpoint
CREATE INDEX `spaces_created_at_idx` ON `spaces` (`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `stacks` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`guid` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`build_rootfs_image` text,
	`run_rootfs_image` text,
	`is_default` integer DEFAULT false NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `stacks_guid_unique` ON `stacks` (`guid`);--> statement-breakpoint
CREATE UNIQUE INDEX `stacks_name_unique` ON `stacks` (`name`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`guid` text NOT NULL,
	`is_oauth_client` integer DEFAULT false NOT NULL,
	`username` text,
	`origin` text,
	`created_at` text NOT NULL,
	`updated_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_guid_unique` ON `users` (`guid`);