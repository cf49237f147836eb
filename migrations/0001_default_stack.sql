-- The default stack buildpacks and apps refer to, present from the first deployment on.
INSERT INTO `stacks` (`guid`, `name`, `description`, `build_rootfs_image`, `run_rootfs_image`, `is_default`, `created_at`)
SELECT
  lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-'
    || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))),
  'cflinuxfs4', 'Cloud Foundry Linux-based filesystem (Ubuntu 22.04)', 'cflinuxfs4', 'cflinuxfs4', 1,
  strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
WHERE NOT EXISTS (SELECT 1 FROM `stacks` WHERE `name` = 'cflinuxfs4');
