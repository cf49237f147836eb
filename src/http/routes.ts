// Route tables. Every routes module ends with its table: method, path, middleware, named handler, so
// stack traces and profiles name each handler and a reader sees a resource's routes in one place.
import { Hono, type Handler, type MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
// Handlers are typed with their own path (Context<AppEnv, "/:guid">), so the table takes any path.
type AnyHandler = Handler<AppEnv, any> | MiddlewareHandler<AppEnv, any>;
export type Route = readonly [method: Method, path: string, ...handlers: AnyHandler[]];

/** A Hono app with the routes in table order (the order Hono matches them in). */
export function routeTable(routes: readonly Route[]): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  for (const [method, path, ...handlers] of routes) app.on(method, [path], ...handlers);
  return app;
}
