import type { PaymentStatus as StoredPaymentStatus } from "../../gen/prisma/enums.js";
import type { Payment } from "../../gen/prisma/client.js";
import type { PrismaDatabase } from "./prisma-database.js";

/** A payment row as Prisma Client reads it. */
export type PaymentRow = Payment;

/** A payment status as stored (`payment_status`). */
export type PaymentRowStatus = StoredPaymentStatus;

/** Where a keyset page continues: after this (created_at, payment_id), newest first. */
export interface PaymentCursor {
  readonly createdAt: Date;
  readonly paymentId: string;
}

/** One ListPayments query. */
export interface PaymentListQuery {
  readonly merchantId: string;
  /** Empty means every status. */
  readonly statuses: readonly PaymentRowStatus[];
  readonly after: PaymentCursor | undefined;
  readonly limit: number;
}

/** The admin reads of `payments`: a cold path, through Prisma Client. */
export interface PaymentReader {
  get(paymentId: string): Promise<PaymentRow | undefined>;
  /** Newest first by (created_at, payment_id), the `payments_merchant_id_created_at_idx` order. */
  list(query: PaymentListQuery): Promise<readonly PaymentRow[]>;
}

/** The payment reads over Prisma Client. */
export function createPrismaPaymentReader(database: PrismaDatabase): PaymentReader {
  return {
    async get(paymentId) {
      return (await database.prisma.payment.findUnique({ where: { paymentId } })) ?? undefined;
    },
    list({ merchantId, statuses, after, limit }) {
      return database.prisma.payment.findMany({
        where: {
          merchantId,
          ...(statuses.length === 0 ? {} : { status: { in: [...statuses] } }),
          ...(after === undefined
            ? {}
            : { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, paymentId: { lt: after.paymentId } }] }),
        },
        orderBy: [{ createdAt: "desc" }, { paymentId: "desc" }],
        take: limit,
      });
    },
  };
}
