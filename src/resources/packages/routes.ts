// /v3/packages and /v3/apps/:guid/packages (the reference's app/controllers/v3/packages_controller.rb;
// the contract's decisions on bits). Each handler: parse, authorize (auth/permissions.ts), act (store.ts
// and the bits modules), present.
import type { Context } from "hono";
import { identityOf, read, write } from "../../auth/context";
import { assertCanWrite, readableOr404, type SpaceAccess, spaceAccessReads } from "../../auth/permissions";
import type { Identity } from "../../auth/token";
import { auditEventInsert } from "../../audit/events";
import { newPackageBitsKey } from "../../bits/keys";
import { deleteBits } from "../../bits/store";
import type { Db } from "../../db/client";
import { runReads } from "../../db/reads";
import type { Package } from "../../db/schema";
import { requireEncryptionKeys, type Sealed } from "../../db/encryption";
import type { AppEnv } from "../../env";
import { routeTable } from "../../http/routes";
import { parseJson, readJsonObject } from "../../http/body";
import { ApiError, notFound, unprocessable } from "../../http/errors";
import { isMultipartFormData, multipartBoundary } from "../../bits/multipart";
import { v3Page } from "../../http/pagination";
import { parseListParams, type ListParams } from "../../http/query";
import { json } from "../../http/respond";
import { acceptedJob, startJob } from "../../jobs/jobs";
import {
  loadOneMetadata, metadataCreateStatements, metadataDeleteStatements, metadataReads, prepareMetadataPatch, type PageWithMetadata,
} from "../../metadata/store";
import { presentMetadata } from "../../metadata/present";
import { copyPackageBits } from "./copy";
import { downloadableKey, packageDownload } from "./download";
import { presentPackage } from "./present";
import { appPackageListSpec, copyDestination, maxPackageSize, packageCreateSchema, packageListSpec, packageUpdateSchema } from "./schema";
import {
  acceptUpload, appLookup, deletePackageRecord, sealDockerPassword, insertPackage, newPackageRow, packageList, packageLookup, readablePackageWithMetadata, spaceOfApp, spaceOfPackage,
  updateDockerCredentials, type AppRef, type PackageWithApp,
} from "./store";
import { expirePackagesOfApp } from "./sweep";
import { NOTHING_UPLOADED, receivePackageUpload, uploadTarget } from "./upload";

type Ctx = Context<AppEnv>;

const APP_INVALID = "App is invalid. Ensure it exists and you have access to it.";
const SOURCE_INVALID = "Source package is invalid. Ensure it exists and you have access to it.";
const SOURCE_NOT_READY = "Cannot copy package whose state is not ready.";
const STAGING_UNAVAILABLE =
  "Staging is not available here: this Cloud Controller stores packages and buildpacks but does not stage them";

// ---------------------------------------------------------------------------------------------
// Shared steps

/**
 * The package and what `who` may do with it (one round trip: the package and the access facts of its
 * space); 404 when it does not exist or `who` cannot see it.
 */
async function readablePackage(c: Ctx, guid: string): Promise<PackageWithApp & { access: SpaceAccess }> {
  const db = c.get("db");
  const [found, access] = await runReads(db, packageLookup(db, guid), spaceAccessReads(db, identityOf(c), spaceOfPackage(guid)));
  return { ...readableOr404(found, access, "Package"), access };
}

/** An app `who` can see, for create and copy (one round trip): else 422, as the reference answers there. */
async function visibleApp(db: Db, who: Identity, guid: string | null): Promise<{ app: AppRef; access: SpaceAccess }> {
  if (guid === null) throw unprocessable(APP_INVALID);
  const [app, access] = await runReads(db, appLookup(db, guid), spaceAccessReads(db, who, spaceOfApp(guid)));
  if (!app || !access.canRead) throw unprocessable(APP_INVALID);
  return { app, access };
}

/** A docker registry password as it is stored (encrypted, db/encryption.ts); 503 when no key is configured, before anything is written. */
async function sealedPassword(c: Ctx, guid: string, password: string | null): Promise<Sealed | null> {
  if (password === null) return null;
  return sealDockerPassword(await requireEncryptionKeys(c.env), guid, password);
}

/** The audit event of a package change, actee the app (Repositories::PackageEventRepository). */
function packageEvent(db: Db, who: Identity, type: string, app: AppRef, data: Record<string, unknown>) {
  return auditEventInsert(db, {
    type: `audit.app.package.${type}`,
    actor: who,
    actee: { guid: app.guid, type: "app", name: app.name },
    spaceGuid: app.spaceGuid,
    organizationGuid: app.organizationGuid,
    data,
  });
}

async function presentOne(db: Db, pkg: Package) {
  return presentPackage(pkg, await loadOneMetadata(db, "package", pkg.guid));
}

/** The package as it is now (after an upload or copy), with its metadata in the same round trip; 404 if it was deleted meanwhile. */
async function presentCurrent(db: Db, guid: string) {
  const [found, metadata] = await runReads(db, packageLookup(db, guid), metadataReads(db, "package", [guid]));
  if (!found) throw notFound("Package");
  return presentPackage(found.pkg, presentMetadata(metadata, guid));
}

function listResponse(c: Ctx, basePath: string, params: ListParams, page: PageWithMetadata<Package>) {
  const resources = page.rows.map(({ row, metadata }) => presentPackage(row, metadata));
  return json(c, v3Page(c, basePath, params, page.total, resources));
}

/**
 * The nested list (also `GET /v3/packages?app_guid=`): 404 "App not found" unless `who` sees the app.
 * One round trip: the app (only if readable) with the page (which holds only readable packages anyway).
 */
async function appPackagesResponse(c: Ctx, appGuid: string, params: ListParams) {
  const db = c.get("db");
  const who = identityOf(c);
  const { app_guid: _nested, ...values } = params.values;
  const nested = { ...params, values };
  const [app, page] = await runReads(db, appLookup(db, appGuid, who), packageList(db, who, nested, { appGuid }));
  if (!app) throw notFound("App");
  return listResponse(c, `/v3/apps/${app.guid}/packages`, nested, page);
}

// ---------------------------------------------------------------------------------------------
// Create and copy

async function createPackage(c: Ctx) {
  const db = c.get("db");
  const who = identityOf(c);
  const input = await parseJson(c, packageCreateSchema);
  const { app, access } = await visibleApp(db, who, input.appGuid);
  assertCanWrite(access);
  if (input.type === "bits" && app.lifecycleType === "docker") throw unprocessable("Cannot create bits package for a Docker app.");
  if (input.type === "docker" && app.lifecycleType === "buildpack") throw unprocessable("Cannot create Docker package for a buildpack app.");

  const guid = crypto.randomUUID();
  const row = newPackageRow({
    guid,
    type: input.type,
    appGuid: app.guid,
    state: input.type === "docker" ? "READY" : "AWAITING_UPLOAD",
    docker: input.docker && { ...input.docker, password: await sealedPassword(c, guid, input.docker.password) },
  });
  const created = await insertPackage(db, row, [
    ...metadataCreateStatements(db, "package", row.guid, input.metadata),
    packageEvent(db, who, "create", app, { package_guid: row.guid, request: input.auditRequest }),
  ]);
  if (created.state === "READY") await expirePackagesOfApp(db, c.env.BITS, app.guid);
  return json(c, await presentOne(db, created), 201);
}

/**
 * Copy (PackagesController#create with source_guid, app/actions/package_copy.rb): only
 * `relationships.app.data.guid` of the body is read; only a READY source is copied. Docker copies are
 * READY at once (without credentials or metadata); bits copies are COPYING while the object is copied,
 * inside this request, so the answer shows the copy's final state.
 */
async function copyPackage(c: Ctx, sourceGuid: string) {
  const db = c.get("db");
  const who = identityOf(c);
  const { app, access } = await visibleApp(db, who, copyDestination(await readJsonObject(c)));
  assertCanWrite(access);
  const [source, sourceAccess] = await runReads(db, packageLookup(db, sourceGuid), spaceAccessReads(db, who, spaceOfPackage(sourceGuid)));
  if (!source || !sourceAccess.canRead) throw unprocessable(SOURCE_INVALID);
  assertCanWrite(sourceAccess);
  if (source.app.guid === app.guid) throw unprocessable("Source and destination app cannot be the same");
  // Unlike the reference (app/actions/package_copy.rb checks no state), only READY bits are copied:
  // bytes still uploading have not passed the zip check. Its message follows the one the reference
  // gives for staging such a package (app/actions/build_create.rb).
  if (source.pkg.state !== "READY") throw unprocessable(SOURCE_NOT_READY);

  const bits = source.pkg.type === "bits";
  const row = newPackageRow({
    type: source.pkg.type,
    appGuid: app.guid,
    state: bits ? "COPYING" : "READY",
    docker: bits ? null : { image: source.pkg.dockerImage ?? "", username: null, password: null },
  });
  if (bits) row.bitsKey = newPackageBitsKey(row.guid);
  const created = await insertPackage(db, row, [
    packageEvent(db, who, "create", app, { package_guid: row.guid, request: { source_package_guid: source.pkg.guid } }),
  ]);
  if (bits) await copyPackageBits(db, c.env.BITS, source.pkg, created, c.env.POOL_QUEUE);
  else await expirePackagesOfApp(db, c.env.BITS, app.guid);
  return json(c, await presentCurrent(db, created.guid), 201);
}

// ---------------------------------------------------------------------------------------------
// Routes

async function packagesIndex(c: Context<AppEnv>) {
  const params = parseListParams(new URL(c.req.url), packageListSpec);
  // `app_guid` makes this the nested list, as in the reference's PackagesController#index (links then
  // name the app).
  if (params.values.app_guid !== undefined) return appPackagesResponse(c, params.values.app_guid, params);
  const db = c.get("db");
  // One round trip: the count, and the page with its metadata.
  const [page] = await runReads(db, packageList(db, identityOf(c), params));
  return listResponse(c, "/v3/packages", params, page);
}

async function packagesCreate(c: Context<AppEnv>) {
  // Any source_guid, even an empty one, selects the copy.
  const sourceGuid = new URL(c.req.url).searchParams.get("source_guid");
  return sourceGuid === null ? createPackage(c) : copyPackage(c, sourceGuid);
}

async function packagesShow(c: Context<AppEnv, "/:guid">) {
  const db = c.get("db");
  const guid = c.req.param("guid");
  // One statement: the package, only if `who` may read its space, with its metadata.
  const [found] = await runReads(db, readablePackageWithMetadata(db, guid, identityOf(c)));
  if (!found) throw notFound("Package");
  return json(c, presentPackage(found.pkg, found.metadata));
}

async function packagesUpdate(c: Context<AppEnv, "/:guid">) {
  const db = c.get("db");
  const input = await parseJson(c, packageUpdateSchema);
  const { pkg, access } = await readablePackage(c, c.req.param("guid"));
  if (pkg.type !== "docker" && (input.username !== null || input.password !== null)) {
    throw unprocessable("Cannot update Docker credentials for a buildpack app.");
  }
  assertCanWrite(access);
  const patch = await prepareMetadataPatch(db, "package", pkg.guid, input.metadata);
  const password = await sealedPassword(c, pkg.guid, input.password);
  await updateDockerCredentials(db, pkg.guid, { username: input.username, password }, patch.statements).catch(patch.rethrow);
  return json(c, await presentCurrent(db, pkg.guid));
}

async function packagesDestroy(c: Context<AppEnv, "/:guid">) {
  const db = c.get("db");
  const who = identityOf(c);
  const { pkg, app, access } = await readablePackage(c, c.req.param("guid"));
  assertCanWrite(access);
  const bucket = c.env.BITS;
  const job = await startJob(c, { operation: "package.delete", resourceType: "package", resourceGuid: pkg.guid }, async () => {
    const { bitsKey } = await deletePackageRecord(db, pkg.guid, [
      ...metadataDeleteStatements(db, "package", pkg.guid),
      packageEvent(db, who, "delete", app, { package_guid: pkg.guid }),
    ]);
    if (bitsKey !== null) await deleteBits(bucket, bitsKey);
  });
  return acceptedJob(c, job);
}

async function packagesUpload(c: Context<AppEnv, "/:guid/upload">) {
  const db = c.get("db");
  const contentType = c.req.header("Content-Type");
  // A request with no form at all uploads nothing; a form with a broken boundary is a parse error.
  if (!isMultipartFormData(contentType)) throw unprocessable(NOTHING_UPLOADED);
  const boundary = multipartBoundary(contentType);
  const { pkg, app, access } = await readablePackage(c, c.req.param("guid"));
  assertCanWrite(access);
  if (pkg.type !== "bits") throw unprocessable("Package type must be bits.");
  if (pkg.state !== "AWAITING_UPLOAD") throw new ApiError("PackageBitsAlreadyUploaded");

  // One conditional update decides a race; losers never read the body.
  const bitsKey = newPackageBitsKey(pkg.guid);
  const won = await acceptUpload(db, pkg.guid, bitsKey, packageEvent(db, identityOf(c), "upload", app, { package_guid: pkg.guid }));
  if (!won) throw new ApiError("PackageBitsAlreadyUploaded");
  await receivePackageUpload(db, c.req.raw, uploadTarget({
    pkg, bitsKey, bucket: c.env.BITS, maxPackageSize: maxPackageSize(c.env.MAX_PACKAGE_SIZE), boundary, pool: c.env.POOL_QUEUE,
    env: c.env, who: identityOf(c), organizationGuid: app.organizationGuid,
  }));
  return json(c, await presentCurrent(db, pkg.guid));
}

async function packagesDownload(c: Context<AppEnv, "/:guid/download">) {
  const db = c.get("db");
  const { pkg, app, access } = await readablePackage(c, c.req.param("guid"));
  if (!access.canReadSecrets) throw new ApiError("NotAuthorized");
  const key = downloadableKey(pkg);
  const response = await packageDownload(c.env, key, c.req.raw, pkg);
  // A download is bytes served or a URL handed out (a 304 or 416 serves nothing); Hono answers HEAD
  // with the GET handler, and a HEAD downloads nothing, so it records nothing.
  if (c.req.raw.method === "GET" && (response.status === 200 || response.status === 206 || response.status === 302)) {
    await packageEvent(db, identityOf(c), "download", app, { package_guid: pkg.guid });
  }
  return response;
}

async function packagesStage(c: Context<AppEnv, "/:guid/droplets">) {
  await readablePackage(c, c.req.param("guid"));
  throw unprocessable(STAGING_UNAVAILABLE);
}

/** GET /v3/apps/:guid/packages; mounted at /v3/apps/:appGuid/packages. */
async function appPackagesIndex(c: Context<AppEnv>) {
  // Query problems are reported before the app is looked up (the reference validates the message first).
  const params = parseListParams(new URL(c.req.url), appPackageListSpec);
  return appPackagesResponse(c, c.req.param("appGuid") ?? "", params);
}

export const packageRoutes = routeTable([
  ["GET", "/", read, packagesIndex],
  ["POST", "/", write, packagesCreate],
  ["GET", "/:guid", read, packagesShow],
  ["PATCH", "/:guid", write, packagesUpdate],
  ["DELETE", "/:guid", write, packagesDestroy],
  ["POST", "/:guid/upload", write, packagesUpload],
  ["GET", "/:guid/download", read, packagesDownload],
  ["POST", "/:guid/droplets", write, packagesStage],
]);

export const appPackageRoutes = routeTable([
  ["GET", "/", read, appPackagesIndex],
]);
