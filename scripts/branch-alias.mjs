// The preview alias for a branch: lowercase letters, digits and dashes, short enough that
// "<alias>-<worker>" stays a valid DNS label (63 characters).
export function previewAlias(branch, workerName = "cf-bits-api-preview") {
  const max = 63 - workerName.length - 1;
  const alias = branch.toLowerCase().replace(/^refs\/heads\//, "").replace(/[^a-z0-9-]+/g, "-").replace(/-{2,}/g, "-").replace(/^-+|-+$/g, "").slice(0, max).replace(/-+$/, "");
  return /^[a-z]/.test(alias) ? alias : `b-${alias}`.slice(0, max);
}
