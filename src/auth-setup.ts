import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { Config } from "./config.js";
import type { Logger } from "./logger.js";
import type { Principal } from "./service/principal.js";
import { createTokenVerifier, jwksFrom } from "./transport/interceptors/auth.js";
import { demoPublishableKey } from "./demo-products.js";
import { devIssuer, loadDevelopmentAuth } from "./dev-auth.js";

export interface Authentication {
  readonly verify: (token: string) => Promise<Principal>;
  /** Tells the operator how to call the service once it listens on `port`. */
  announce(port: number): Promise<void>;
  /** Development mode only: a short-lived token of the demo customer, for the demo storefront. */
  readonly issueDemoToken?: () => Promise<string>;
}

const customerScopes = "carts:read carts:write carts:checkout";
const adminScopes = "carts:read carts:write carts:checkout carts:admin catalog:write orders:read events:read";

/**
 * Token verification as configured: the JWKS of AUTH_JWKS, or in development
 * (no JWKS) a local signing key whose ready-made tokens are printed at start.
 */
export async function setUpAuthentication(config: Config, log: Logger): Promise<Authentication> {
  const options = { audience: config.authAudience, clockToleranceSeconds: config.authClockToleranceSeconds };
  if (config.authJwks) {
    const verify = createTokenVerifier({ ...options, keys: jwksFrom(config.authJwks), issuer: config.authIssuer! });
    return { verify, announce: async () => log.info("bearer tokens are verified", { jwks: config.authJwks, issuer: config.authIssuer }) };
  }
  const development = await loadDevelopmentAuth(config.dataDir);
  const verify = createTokenVerifier({ ...options, keys: jwksFrom(development.jwks), issuer: devIssuer });
  return {
    verify,
    issueDemoToken: () => development.sign("demo-customer", customerScopes, config.authAudience, 3600),
    announce: async (port) => {
      const day = 24 * 3600;
      const customer = await development.sign("demo-customer", customerScopes, config.authAudience, day);
      const admin = await development.sign("demo-admin", adminScopes, config.authAudience, day);
      const base = `http://localhost:${port}`;
      // Request logs soon scroll the banner away: the tokens stay in a file to source again.
      const tokensFile = path.join(config.dataDir, "dev-tokens.env");
      await writeFile(
        tokensFile,
        `# Development tokens of the cart service on port ${port}, valid 24 h; rewritten at every start.\nexport CUSTOMER_TOKEN=${customer}\nexport ADMIN_TOKEN=${admin}\n`,
        { mode: 0o600 },
      );
      process.stdout.write(
        [
          "",
          "!!! DEVELOPMENT MODE: no AUTH_JWKS is configured, so this service trusts a local key in",
          `!!! ${config.dataDir}/dev-signing-key.json. Never run it like this in production (NODE_ENV=production refuses).`,
          "",
          `Customer token (sub demo-customer; ${customerScopes}), valid 24 h:`,
          `  export CUSTOMER_TOKEN=${customer}`,
          `Admin token (sub demo-admin; ${adminScopes}), valid 24 h:`,
          `  export ADMIN_TOKEN=${admin}`,
          ...(config.seedDemoProducts
            ? [`Publishable key of the demo store (x-publishable-api-key; any sales channel):`, `  export PUBLISHABLE_KEY=${demoPublishableKey.token}`]
            : []),
          `Both are also in ${tokensFile}, for when request logs have buried them:  . ${tokensFile}`,
          "",
          "Try:",
          `  curl -s -X POST ${base}/v1/carts -H "Authorization: Bearer $CUSTOMER_TOKEN" -H 'content-type: application/json' -d '{"customer_id":"demo-customer"}'`,
          `  npx buf curl -H "Authorization: Bearer $CUSTOMER_TOKEN" -d '{"customer_id":"demo-customer"}' ${base}/commerce.cart.v1.CartService/CreateCart`,
          "",
          ...(config.seedDemoProducts ? [`Demo storefront: ${base}/demo`, ""] : []),
        ].join("\n"),
      );
    },
  };
}
