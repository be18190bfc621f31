-- AlterTable
ALTER TABLE "payments" ADD COLUMN     "buyer_accounts" JSONB NOT NULL DEFAULT '{}';
