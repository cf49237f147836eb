-- Docker registry passwords are stored encrypted (src/db/encryption.ts): docker_password holds the
-- AES-GCM ciphertext, with its IV and the label of its key. A row without a label is a password
-- stored before encryption: the scheduled sweep encrypts it.
ALTER TABLE `packages` ADD `docker_password_iv` text;
--> statement-breakpoint
ALTER TABLE `packages` ADD `docker_password_key_label` text;
--> statement-breakpoint
CREATE INDEX `packages_docker_password_key_label_idx` ON `packages` (`docker_password_key_label`) WHERE "packages"."docker_password" IS NOT NULL;
