-- AlterTable
ALTER TABLE "orders" ADD COLUMN     "buyer_provider_accounts" JSONB NOT NULL DEFAULT '[]';
