/**
 * What the global setup hands to every integration test through vitest's provide/inject.
 * Imported for its type augmentation by both sides.
 */
declare module "vitest" {
  export interface ProvidedContext {
    kafkaBrokers: string[];
    postgresServerUrl: string;
    databaseSuffix: string;
  }
}

export {};
