/**
 * The tenant dimensions a credential can be bound to: the merchants it acts for (an upstream
 * shop system, a finance reader of one merchant) and the payment providers it acts for (a
 * reconciliation worker of one provider). A dimension is a closed name so a typo in code or in
 * a token table is an error, not a binding to nothing that looks like one to everything.
 */
export const TENANT_DIMENSIONS = ["merchants", "providers"] as const;

/** One of {@link TENANT_DIMENSIONS}. */
export type TenantDimension = (typeof TENANT_DIMENSIONS)[number];

/**
 * Which tenants of one dimension a principal may act for: `"all"` (platform operators,
 * internal services) or exactly the listed ids. An empty list grants none.
 */
export type TenantGrant = "all" | readonly string[];

/**
 * A principal's bindings, per dimension. A dimension that is absent grants nothing: a
 * reconciliation worker bound to `providers` may act for no merchant unless it says so.
 */
export type Grants = { readonly [D in TenantDimension]?: TenantGrant };

/**
 * Who a caller is once its bearer token checks out: its id (for logs and audit), the scopes
 * that decide which methods it may call, and the tenants it may act for, which the handlers
 * check against the thing each call touches (see {@link mayActFor}).
 */
export interface Principal {
  readonly id: string;
  readonly scopes: readonly string[];
  readonly grants: Grants;
}

/**
 * What `principal` may act for in `dimension`, as plain data a use case can take without
 * knowing about gRPC. No principal (a public method) and an absent dimension both grant
 * nothing (`[]`).
 */
export function grantOf(principal: Principal | undefined, dimension: TenantDimension): TenantGrant {
  return principal?.grants[dimension] ?? [];
}

/** Whether `grant` covers tenant `id`; an empty id is covered only by `"all"`. */
export function grantCovers(grant: TenantGrant, id: string): boolean {
  return grant === "all" || grant.includes(id);
}

/**
 * Whether `principal` may act for tenant `id` of `dimension` (merchant `m-1001`, provider
 * `wechat_pay`). Fails closed: no principal or no binding in that dimension is `false`.
 */
export function mayActFor(principal: Principal | undefined, dimension: TenantDimension, id: string): boolean {
  return grantCovers(grantOf(principal, dimension), id);
}
