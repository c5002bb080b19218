// A real OpenID Connect provider (node-oidc-provider) for the sign-in tests and `DEMO_SSO=1 make demo`.
//
// Environment: OIDC_PORT (8010), OIDC_ISSUER_URL (http://127.0.0.1:PORT), OIDC_CLIENT_ID (dashboard),
// OIDC_CLIENT_SECRET (dashboard-secret), OIDC_REDIRECT_URIS and OIDC_POST_LOGOUT_URIS (comma-separated),
// OIDC_TEST_CONTROL=1 to open /__control/ (tests only: change a user's groups, spoil the next ID token).
// One user, sso-alice / demo-password in group img-acme-admin. Prints "ready <issuer>" once listening.
import { createServer } from "node:http";
import { randomBytes } from "node:crypto";
import Provider from "oidc-provider";
import { SignJWT, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair } from "jose";

const port = Number(process.env.OIDC_PORT || 8010);
const issuer = process.env.OIDC_ISSUER_URL || `http://127.0.0.1:${port}`;
const list = (name, fallback) => (process.env[name] || fallback).split(",").map((s) => s.trim()).filter(Boolean);
const control = process.env.OIDC_TEST_CONTROL === "1";

const users = new Map([["sso-alice", { password: "demo-password", groups: ["img-acme-admin"] }]]);
// The next token response's ID token: bad-signature, wrong-audience, expired, wrong-issuer, wrong-nonce.
let spoil = "";

const { privateKey } = await generateKeyPair("RS256", { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: "test-key", alg: "RS256", use: "sig" };

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.OIDC_CLIENT_ID || "dashboard",
    client_secret: process.env.OIDC_CLIENT_SECRET || "dashboard-secret",
    redirect_uris: list("OIDC_REDIRECT_URIS", "http://127.0.0.1:8000/accounts/sso/login/callback/"),
    post_logout_redirect_uris: list("OIDC_POST_LOGOUT_URIS", "http://127.0.0.1:8000/accounts/login/"),
    grant_types: ["authorization_code"],
    response_types: ["code"],
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString("hex")] },
  pkce: { required: () => true },
  scopes: ["openid", "email", "profile", "groups"],
  claims: {
    openid: ["sub"], email: ["email", "email_verified"], profile: ["preferred_username", "name"],
    groups: ["groups"],
  },
  features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    if (!users.has(id)) return undefined;
    return {
      accountId: id,
      claims: () => ({
        sub: id, preferred_username: id, name: id, email: `${id}@example.com`, email_verified: true,
        groups: [...users.get(id).groups],
      }),
    };
  },
  // No consent screen: the organisation's own dashboard gets what it asks for.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope(ctx.oidc.requestParamScopes ? [...ctx.oidc.requestParamScopes].join(" ") : "openid");
    await grant.save();
    return grant;
  },
});

const page = (uid, error) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Example SSO</title></head>
<body><h1>Example SSO</h1>${error ? `<p role="alert">${error}</p>` : ""}
<form method="post" action="/interaction/${uid}">
<label for="username">Username</label> <input id="username" name="username" autocomplete="username">
<label for="password">Password</label> <input id="password" name="password" type="password">
<button type="submit">Sign in</button></form></body></html>`;

async function body(req) {
  let data = "";
  for await (const chunk of req) data += chunk;
  return data;
}

async function interaction(req, res, uid) {
  if (req.method === "GET") {
    await provider.interactionDetails(req, res);
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    return res.end(page(uid, ""));
  }
  const form = new URLSearchParams(await body(req));
  const user = users.get(form.get("username") || "");
  if (!user || user.password !== form.get("password")) {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    return res.end(page(uid, "Wrong username or password."));
  }
  await provider.interactionFinished(req, res, { login: { accountId: form.get("username") } }, { mergeWithLastSubmission: false });
}

async function spoiled(idToken, mode) {
  if (mode === "bad-signature") {
    const [head, payload, signature] = idToken.split(".");
    const flipped = (signature[0] === "A" ? "B" : "A") + signature.slice(1);
    return [head, payload, flipped].join(".");
  }
  const claims = decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  if (mode === "wrong-audience") claims.aud = "someone-else";
  if (mode === "expired") Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
  if (mode === "wrong-issuer") claims.iss = "http://issuer.invalid";
  if (mode === "wrong-nonce") claims.nonce = "not-the-nonce-this-sign-in-sent";
  return new SignJWT(claims).setProtectedHeader(decodeProtectedHeader(idToken)).sign(privateKey);
}

// Spoil the ID token of the next token response (tests only).
provider.use(async (ctx, next) => {
  await next();
  if (spoil && ctx.path === "/token" && ctx.body && ctx.body.id_token) {
    ctx.body = { ...ctx.body, id_token: await spoiled(ctx.body.id_token, spoil) };
    spoil = "";
  }
});

async function controlRequest(req, res, path) {
  const data = JSON.parse((await body(req)) || "{}");
  if (path === "/__control/users") users.set(data.username, { password: data.password, groups: data.groups || [] });
  else if (path === "/__control/spoil") spoil = data.mode || "";
  else { res.writeHead(404); return res.end(); }
  res.writeHead(204);
  res.end();
}

const callback = provider.callback();
const server = createServer(async (req, res) => {
  const path = new URL(req.url, issuer).pathname;
  try {
    const match = path.match(/^\/interaction\/([^/]+)$/);
    if (match) return await interaction(req, res, match[1]);
    if (control && req.method === "POST" && path.startsWith("/__control/")) return await controlRequest(req, res, path);
    return callback(req, res);
  } catch (error) {
    res.writeHead(400, { "content-type": "text/plain" });
    res.end(String(error));
  }
});
server.listen(port, "127.0.0.1", () => console.log(`ready ${issuer}`));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)));
