import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** An RSA-2048 key pair as PEM text (PKCS#8 private, SPKI public). */
export interface RsaKeyPair {
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
}

/**
 * Every secret the sandbox signs or verifies with. Merchant-side keys are handed to the adapters
 * (they are the merchant's own keys in life); provider-side private keys stay inside the sandbox.
 */
export interface SandboxKeys {
  readonly alipay: {
    readonly appId: string;
    /** The merchant's 16-digit partner id (PID) that Alipay bills are issued for. */
    readonly pid: string;
    readonly app: RsaKeyPair;
    readonly alipay: RsaKeyPair;
  };
  readonly wechat: {
    readonly mchid: string;
    readonly appid: string;
    readonly merchant: RsaKeyPair;
    /** Serial of the merchant API certificate, as sent in `serial_no`. */
    readonly merchantSerial: string;
    readonly platform: RsaKeyPair;
    /**
     * The id of the WeChat Pay public key, sent in `Wechatpay-Serial`. The sandbox runs in
     * WeChat's public-key mode (`PUB_KEY_ID_…`): merchants are given the public key directly
     * instead of downloading platform certificates.
     */
    readonly platformSerial: string;
    /** The 32-character APIv3 key used for AEAD_AES_256_GCM callbacks. */
    readonly apiV3Key: string;
  };
  readonly unionpay: {
    readonly merId: string;
    readonly merchant: RsaKeyPair;
    readonly merchantCertId: string;
    readonly platform: RsaKeyPair;
    readonly platformCertId: string;
  };
  readonly jdpay: { readonly merchantId: string; readonly secret: string };
  readonly ecny: { readonly merchantId: string; readonly secret: string };
}

const KEYS_FILE = "keys.json";

/** Generates a fresh RSA-2048 pair with node:crypto. */
export function generateRsaKeyPair(): RsaKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

function serialOf(pair: RsaKeyPair): string {
  // A certificate serial stands in for the key; we derive one from the key so it is stable.
  return createHash("sha1").update(pair.publicKeyPem).digest("hex").toUpperCase();
}

/**
 * The UnionPay certId of a key pair, derived from its public key so it is stable; exported so
 * the sandbox can give a forger's substituted key a matching certId.
 */
export function certIdOf(pair: RsaKeyPair): string {
  // UnionPay certIds are decimal certificate serial numbers.
  return BigInt(`0x${createHash("sha256").update(pair.publicKeyPem).digest("hex").slice(0, 15)}`).toString();
}

/** Generates a complete new set of sandbox keys. */
export function generateSandboxKeys(): SandboxKeys {
  const alipayApp = generateRsaKeyPair();
  const alipayPlatform = generateRsaKeyPair();
  const wechatMerchant = generateRsaKeyPair();
  const wechatPlatform = generateRsaKeyPair();
  const unionpayMerchant = generateRsaKeyPair();
  const unionpayPlatform = generateRsaKeyPair();
  return {
    alipay: { appId: "2021000000000001", pid: "2088000000000001", app: alipayApp, alipay: alipayPlatform },
    wechat: {
      mchid: "1900000001",
      appid: "wx0000000000000001",
      merchant: wechatMerchant,
      merchantSerial: serialOf(wechatMerchant),
      platform: wechatPlatform,
      platformSerial: `PUB_KEY_ID_01${"1900000001"}${BigInt(`0x${serialOf(wechatPlatform).slice(0, 12)}`).toString().padStart(15, "0").slice(0, 15)}`,
      apiV3Key: randomBytes(24).toString("base64url").slice(0, 32),
    },
    unionpay: {
      merId: "777290058110048",
      merchant: unionpayMerchant,
      merchantCertId: certIdOf(unionpayMerchant),
      platform: unionpayPlatform,
      platformCertId: certIdOf(unionpayPlatform),
    },
    jdpay: { merchantId: "110000000001", secret: randomBytes(32).toString("hex") },
    ecny: { merchantId: "ECNY0000000001", secret: randomBytes(32).toString("hex") },
  };
}

/**
 * Loads the keys from `dir/keys.json`, generating and saving them on first start. The folder is
 * git-ignored: keys are never committed, and each checkout gets its own. Two processes starting
 * at once on a new checkout (the day run beside a test's stack) agree on one set: the keys are
 * written to a file of this process's own and hard-linked into place, which never replaces a file
 * already there, so the loser reads the winner's keys instead of going on with its own (a sandbox
 * and an adapter holding different keys answer every signed call 401).
 */
export function loadOrCreateKeys(dir: string): SandboxKeys {
  const file = join(dir, KEYS_FILE);
  if (existsSync(file)) return readKeys(file);
  mkdirSync(dir, { recursive: true });
  const keys = generateSandboxKeys();
  const own = join(dir, `.${KEYS_FILE}.${process.pid}.${randomBytes(4).toString("hex")}`);
  writeFileSync(own, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  chmodSync(own, 0o600);
  try {
    linkSync(own, file);
    return keys;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return readKeys(file);
  } finally {
    rmSync(own, { force: true });
  }
}

function readKeys(file: string): SandboxKeys {
  return JSON.parse(readFileSync(file, "utf8")) as SandboxKeys;
}
