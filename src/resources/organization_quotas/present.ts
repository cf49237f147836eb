import type { OrganizationQuota } from "../../db/schema";

/**
 * The v3 organization quota (OrganizationQuotaPresenter through QuotaPresenterBuilder, fields in its
 * order): null is unlimited; `relationships.organizations` names the organizations the caller can see.
 */
export function presentOrganizationQuota(quota: OrganizationQuota, organizationGuids: readonly string[]) {
  return {
    apps: {
      total_memory_in_mb: quota.totalMemoryInMb,
      per_process_memory_in_mb: quota.perProcessMemoryInMb,
      total_instances: quota.totalInstances,
      per_app_tasks: quota.perAppTasks,
      log_rate_limit_in_bytes_per_second: quota.logRateLimitInBytesPerSecond,
    },
    services: {
      paid_services_allowed: quota.paidServicesAllowed,
      total_service_instances: quota.totalServiceInstances,
      total_service_keys: quota.totalServiceKeys,
    },
    routes: {
      total_routes: quota.totalRoutes,
      total_reserved_ports: quota.totalReservedPorts,
    },
    guid: quota.guid,
    created_at: quota.createdAt,
    updated_at: quota.updatedAt,
    name: quota.name,
    domains: { total_domains: quota.totalDomains },
    relationships: { organizations: { data: organizationGuids.map((guid) => ({ guid })) } },
    links: { self: { href: `/v3/organization_quotas/${quota.guid}` } },
  };
}
