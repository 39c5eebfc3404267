/**
 * Token verification against a JWKS URL (a real local HTTP server serving the public key, as
 * Supabase's /auth/v1/.well-known/jwks.json does), Supabase anon keys, and sign-up disabled in
 * JWKS mode.
 */
import { createServer, type Server } from "node:http";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenService } from "../../src/auth/tokens.ts";
import { ApiError } from "../../src/errors.ts";

describe("tokens", () => {
  let server: Server;
  let jwksUrl: string;
  let privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
  beforeAll(async () => {
    const pair = await generateKeyPair("ES256");
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
    server = createServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    jwksUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks.json`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const sign = (claims: Record<string, unknown>) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setAudience("authenticated")
      .setExpirationTime("5m")
      .sign(privateKey);

  it("verifies tokens signed by the JWKS key and refuses others; sign-up is disabled", async () => {
    const tokens = createTokenService({ jwksUrl });
    const sub = "3f1e5c2a-8b4d-4c6e-9a7b-1d2e3f4a5b6c";
    const claims = await tokens.verify(await sign({ sub, role: "authenticated", email: "a@example.test" }));
    expect(claims).toMatchObject({ sub, role: "authenticated", email: "a@example.test" });
    expect(await tokens.verify(await sign({ role: "anon" }))).toBeNull();
    await expect(tokens.verify(await sign({ role: "authenticated" }))).rejects.toMatchObject({ status: 401 });
    const hs = await new SignJWT({ sub, role: "authenticated" })
      .setProtectedHeader({ alg: "HS256" })
      .setAudience("authenticated")
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode("x".repeat(40)));
    await expect(tokens.verify(hs)).rejects.toBeInstanceOf(ApiError);
    expect(tokens.issuesTokens).toBe(false);
    await expect(tokens.issue({ id: sub, email: "a@example.test" })).rejects.toMatchObject({
      status: 403,
      code: "SIGNUP_DISABLED",
    });
  });

  it("issues Supabase-style tokens with an HS256 secret and verifies them", async () => {
    const tokens = createTokenService({ secret: "s".repeat(40), ttlSeconds: 60, localSignup: true });
    const sub = "3f1e5c2a-8b4d-4c6e-9a7b-1d2e3f4a5b6c";
    const issued = await tokens.issue({ id: sub, email: "b@example.test" });
    const payload = JSON.parse(Buffer.from(issued.accessToken.split(".")[1]!, "base64url").toString());
    expect(payload).toMatchObject({ sub, role: "authenticated", aud: "authenticated", email: "b@example.test" });
    expect(payload.exp - payload.iat).toBe(60);
    expect(await tokens.verify(issued.accessToken)).toMatchObject({ sub });
  });

  it("remembers a verified token only until it expires, and never for an altered one", async () => {
    const tokens = createTokenService({ secret: "s".repeat(40), ttlSeconds: 1, localSignup: true });
    const sub = "3f1e5c2a-8b4d-4c6e-9a7b-1d2e3f4a5b6c";
    const issued = await tokens.issue({ id: sub, email: "c@example.test" });
    expect(await tokens.verify(issued.accessToken)).toMatchObject({ sub });
    expect(await tokens.verify(issued.accessToken)).toMatchObject({ sub }); // from the cache
    const [head, body, sig] = issued.accessToken.split(".");
    const altered = `${head}.${body}.${sig!.slice(0, -2)}${sig!.endsWith("AA") ? "BB" : "AA"}`;
    await expect(tokens.verify(altered)).rejects.toMatchObject({ status: 401 });
    const claimsWithOtherSub = Buffer.from(JSON.stringify({ sub: "00000000-0000-4000-8000-000000000000" })).toString("base64url");
    await expect(tokens.verify(`${head}.${claimsWithOtherSub}.${sig}`)).rejects.toMatchObject({ status: 401 });
    // exp has one-second granularity: wait until it has passed, then the cached entry must be gone.
    await new Promise((r) => setTimeout(r, issued.expiresAt * 1000 - Date.now() + 50));
    await expect(tokens.verify(issued.accessToken)).rejects.toMatchObject({
      status: 401,
      message: expect.stringMatching(/expired/),
    });
  });
});
